"""The publisher's view of the audit trail: the entries of its own assets, for a signed request.

The publisher is the asset's NFT owner, asked of the chain (not the index, which may lag a
transfer). The request is signed like every other action (`auditTrail` in `auth/messages.py`:
address + did + nonce) or made with the publisher's auth token; its nonce is consumed.
"""
from __future__ import annotations

from typing import Any

from web3.exceptions import Web3Exception

from provider.access.service import AccessService
from provider.auth.messages import signed_message
from provider.auth.service import RequestAuthenticator
from provider.auth.signatures import same_address
from provider.errors import DependencyUnavailable, NotAuthorized
from provider.stores.audit import AuditTrail
from provider.validation import address_field, integer_field, require

MAX_ENTRIES = 1000


def publisher_of(asset) -> str:
    """The asset's publisher: its NFT's owner, read from the chain (the index may lag a transfer)."""
    nft = (asset.ddo.get("nft") or {}).get("address") or asset.ddo.get("nftAddress")
    chain = asset.chain
    try:
        return chain.call(chain.contract("ERC721Template", nft).functions.ownerOf(1).call)
    except (Web3Exception, ValueError):
        raise DependencyUnavailable("The asset's owner could not be read from the chain.") from None


class PublisherAudit:
    def __init__(self, access: AccessService, authenticator: RequestAuthenticator, trail: AuditTrail):
        self.access = access
        self.authenticator = authenticator
        self.trail = trail

    def owner_of(self, asset) -> str:
        return publisher_of(asset)

    def entries(self, params: dict[str, Any], auth_token: str | None) -> dict[str, Any]:
        require(params, "did", "address")
        address = address_field(params, "address")
        self.authenticator.authorize(
            signer=address, message=signed_message("auditTrail", address=address, did=params["did"]),
            nonce=params.get("nonce"), signature=params.get("signature"), auth_token=auth_token)
        asset = self.access.asset(params["did"])
        if not same_address(self.owner_of(asset), address):
            raise NotAuthorized("Only the asset's publisher (its NFT owner) reads its audit trail.")
        since = integer_field(params, "since", minimum=0) if params.get("since") not in (None, "") else None
        limit = integer_field(params, "limit", minimum=1) if params.get("limit") not in (None, "") else MAX_ENTRIES
        entries = self.trail.entries(did=asset.did, since=since, limit=min(limit, MAX_ENTRIES))
        return {"did": asset.did, "entries": entries}
