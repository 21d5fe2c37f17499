"""The Aquarius endpoints clients need, served from the built-in chain index.

ocean.py and ocean.js treat these as their metadata cache. Two texts are load-bearing:
ocean.py decides "not yet published" by finding `Asset DID <did> not found in Elasticsearch`
in the body, and publishing needs `ddo/validate` to return a hash and a proof signature.
"""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from provider.ddo.resolver import is_did
from provider.errors import NotFound
from provider.routes.common import auth_token, services

bp = Blueprint("aquarius", __name__)


def _not_found(did: str) -> NotFound:
    return NotFound(f"Asset DID {did} not found in Elasticsearch.")


@bp.get("/assets/ddo/<did>")
def asset_ddo(did: str):
    ddo = services().resolver.resolve(did) if is_did(did) else None
    if ddo is None:
        raise _not_found(did)
    return jsonify(ddo)


@bp.get("/assets/metadata/<did>")
def asset_metadata(did: str):
    ddo = services().resolver.resolve(did) if is_did(did) else None
    if ddo is None:
        raise _not_found(did)
    return jsonify(ddo.get("metadata", {}))


@bp.post("/assets/ddo/validate")
def validate_ddo():
    """Validate a DDO and sign sha256 of its exact bytes (`provider.ddo.publish`).

    `setMetaData` can verify the proof on chain: ecrecover(EIP-191(hash)) is the `publicKey`
    returned, this provider's address on the DDO's chain. ocean.js 8 reads `r`/`s` as `r[0]`,
    classic clients as lists: lists satisfy both.
    """
    proof = services().publishing.validate(request.get_data(), auth_token())
    return jsonify(hash=proof.hash, publicKey=proof.public_key, v=proof.v, r=[proof.r], s=[proof.s])
