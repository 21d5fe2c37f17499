"""May this consumer use this asset? (pure rules: DDO shape, state, credentials)

Credentials are `{"allow": [{"type": "address", "values": [...]}], "deny": [...]}`. A non-empty
allow list admits only its addresses; otherwise the deny list refuses its addresses. Unlike
the reference, which read only the first `address` entry of each list, every `address` entry
counts (a publisher who splits a list in two means both halves).
"""
from __future__ import annotations

from typing import Any

from provider.ddo.documents import CONSUMABLE_STATES
from provider.errors import InvalidRequest

CREDENTIAL_NOT_IN_ALLOW_LIST = "CREDENTIAL_NOT_IN_ALLOW_LIST"
CREDENTIAL_IN_DENY_LIST = "CREDENTIAL_IN_DENY_LIST"


class NotConsumable(InvalidRequest):
    """The message is the reference's text, without the "Provider <net>: " prefix."""


def _addresses(entries: Any) -> set[str] | None:
    if not isinstance(entries, list):
        return set()
    found: set[str] = set()
    for entry in entries:
        if isinstance(entry, dict) and entry.get("type") == "address":
            values = entry.get("values")
            if not isinstance(values, list):
                return None  # malformed: refuse rather than guess
            found.update(str(v).lower() for v in values)
    return found


def check_credentials(credentials: Any, consumer: str, did: str) -> None:
    if not credentials:
        return
    if not isinstance(credentials, dict):
        raise NotConsumable("Asset malformed or disabled.")
    allow, deny = _addresses(credentials.get("allow")), _addresses(credentials.get("deny"))
    if allow is None or deny is None:
        raise NotConsumable("Asset malformed or disabled.")
    code = None
    if allow and consumer.lower() not in allow:
        code = CREDENTIAL_NOT_IN_ALLOW_LIST
    elif not allow and consumer.lower() in deny:
        code = CREDENTIAL_IN_DENY_LIST
    if code:
        raise NotConsumable(f"Error: Access to asset {did} was denied with code: ConsumableCodes.{code}.")


def check_consumable(ddo: dict[str, Any], onchain_state: int, consumer: str) -> None:
    nft = ddo.get("nft") or {}
    if not nft.get("address") or not ddo.get("chainId"):
        raise NotConsumable("Asset malformed or disabled.")
    if onchain_state not in CONSUMABLE_STATES:
        raise NotConsumable("Asset is not consumable.")
    check_credentials(ddo.get("credentials"), consumer, ddo.get("id", ""))


def find_service(ddo: dict[str, Any], service_id: Any) -> tuple[int, dict[str, Any]] | None:
    """(index, service) by id; the index is the position in `services`, checked on chain."""
    for index, service in enumerate(ddo.get("services") or []):
        if isinstance(service, dict) and str(service.get("id")) == str(service_id):
            return index, service
    return None
