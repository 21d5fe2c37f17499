"""The Aquarius endpoints clients need, served from the built-in chain index.

ocean.py and ocean.js treat these as their metadata cache. Two texts are load-bearing:
ocean.py decides "not yet published" by finding `Asset DID <did> not found in Elasticsearch`
in the body, and publishing needs `ddo/validate` to return a hash and a proof signature.
"""
from __future__ import annotations

import hashlib
import json

from flask import Blueprint, jsonify, request

from provider import boundedjson
from provider.auth.signatures import prefixed_hash_digest, sign_digest
from provider.ddo.resolver import is_did
from provider.errors import InvalidRequest, NotFound
from provider.routes.common import services

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
    """Check the DDO's basic shape and sign sha256(body) as the metadata validation proof.

    `setMetaData` verifies the proof on chain: ecrecover(EIP-191(sha256(document))) must be
    the `publicKey` we return, which is this provider's address on the DDO's chain.
    """
    body = request.get_data()
    try:
        ddo = boundedjson.loads(body, what="DDO")
    except (UnicodeDecodeError, ValueError):
        raise InvalidRequest("Invalid DDO: not JSON") from None
    if isinstance(ddo, dict) and isinstance(ddo.get("ddo"), dict):  # ocean.js 4.x wraps it
        ddo = ddo["ddo"]
        body = json.dumps(ddo, separators=(",", ":")).encode()
    errors = {}
    if not isinstance(ddo, dict):
        raise InvalidRequest({"ddo": "must be a JSON object"})
    if not is_did(ddo.get("id")):
        errors["id"] = "must be a did:op DID"
    if not isinstance(ddo.get("metadata"), dict):
        errors["metadata"] = "is required"
    if not isinstance(ddo.get("services"), list) or not ddo.get("services"):
        errors["services"] = "at least one service is required"
    chain = services().chains.find(ddo.get("chainId"))
    if chain is None:
        errors["chainId"] = "is not a chain this provider serves"
    if errors:
        raise InvalidRequest(errors)
    digest = hashlib.sha256(body).digest()
    v, r, s = sign_digest(chain.settings.private_key, prefixed_hash_digest(digest))
    return jsonify(hash="0x" + digest.hex(), publicKey=chain.provider_address, v=v,
                   r=["0x" + r.hex()], s=["0x" + s.hex()])
