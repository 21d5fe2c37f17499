"""May this consumer use this asset? (rules: DDO shape, state, credentials)

Credentials are `{"allow": [rule, ...], "deny": [rule, ...], "match_allow"?, "match_deny"?}`
where a rule is `{"type": "address", "values": [addresses or "*"]}` or, as Ocean Node reads
them, `{"type": "accessList", "accessList": <AccessList contract>}` (also a list of contracts,
or `{chainId: [contracts]}`): a consumer matches an access list holding one of its tokens.

Deny is decided first: matching any deny rule refuses (`match_deny: "all"`: every rule). Then
a non-empty allow list must be satisfied: by default every kind of rule (`match_allow: "all"`,
Ocean Node's default; all `address` rules of a list count as one, so a publisher who splits a
list in two means both halves), with `"any"` one rule. An unknown rule type in an allow list
refuses; in a deny list it is ignored. Access-list membership is the only fact read from the
chain; `decide_credentials` gets it as a function, so the rules stay free of I/O.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from provider.ddo.documents import CONSUMABLE_STATES
from provider.errors import InvalidRequest

CREDENTIAL_NOT_IN_ALLOW_LIST = "CREDENTIAL_NOT_IN_ALLOW_LIST"
CREDENTIAL_IN_DENY_LIST = "CREDENTIAL_IN_DENY_LIST"
MAX_ACCESS_LISTS = 16  # contracts one document may make us ask about


class NotConsumable(InvalidRequest):
    """The message is the reference's text, without the "Provider <net>: " prefix."""


@dataclass(frozen=True)
class CredentialRules:
    allow_addresses: frozenset[str] | None      # None: no address rule in the allow list
    allow_lists: tuple[str, ...]                 # AccessList contracts (lower-case)
    allow_unknown: bool
    deny_addresses: frozenset[str]
    deny_lists: tuple[str, ...]
    match_allow: str
    match_deny: str

    @property
    def allows_anyone(self) -> bool:
        return self.allow_addresses is None and not self.allow_lists and not self.allow_unknown


def _contracts(value: Any, chain_id: int | None) -> list[str] | None:
    if isinstance(value, str):
        return [value.lower()]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [v.lower() for v in value]
    if isinstance(value, dict):  # {chainId: [contracts]}: only this chain's
        listed = value.get(str(chain_id), [])
        return _contracts(listed, chain_id) if listed else []
    return None


def parse_credentials(credentials: Any, chain_id: int | None = None) -> CredentialRules:
    """Raises NotConsumable for a malformed credentials object (refused rather than guessed)."""
    malformed = NotConsumable("Asset malformed or disabled.")
    if not isinstance(credentials, dict):
        raise malformed
    parts = {}
    for side in ("allow", "deny"):
        entries = credentials.get(side) or []
        if not isinstance(entries, list):
            raise malformed
        addresses: set[str] | None = None
        lists: list[str] = []
        unknown = False
        for entry in entries:
            kind = str(entry.get("type", "")).lower() if isinstance(entry, dict) else ""
            if kind == "address":
                values = entry.get("values")
                if not isinstance(values, list):
                    raise malformed
                addresses = (addresses or set()) | {str(v).lower() for v in values}
            elif kind == "accesslist":
                found = _contracts(entry.get("accessList", entry.get("values")), chain_id)
                if found is None:
                    raise malformed
                lists += found
            else:
                unknown = True
        if len(lists) > MAX_ACCESS_LISTS:
            raise malformed
        parts[side] = (addresses, tuple(dict.fromkeys(lists)), unknown)
    match_allow = str(credentials.get("match_allow") or "all").lower()
    match_deny = str(credentials.get("match_deny") or "any").lower()
    if match_allow not in ("all", "any") or match_deny not in ("all", "any"):
        raise malformed
    return CredentialRules(
        allow_addresses=frozenset(parts["allow"][0]) if parts["allow"][0] is not None else None,
        allow_lists=parts["allow"][1], allow_unknown=parts["allow"][2],
        deny_addresses=frozenset(parts["deny"][0] or ()), deny_lists=parts["deny"][1],
        match_allow=match_allow, match_deny=match_deny)


def decide_credentials(rules: CredentialRules, consumer: str, holds: Callable[[str], bool]) -> str | None:
    """The refusal code for `consumer`, or None. `holds(contract)`: is it on that access list."""
    who = consumer.lower()
    deny = [who in rules.deny_addresses or "*" in rules.deny_addresses] if rules.deny_addresses else []
    deny += [holds(contract) for contract in rules.deny_lists]
    if deny and (any(deny) if rules.match_deny == "any" else all(deny)):
        return CREDENTIAL_IN_DENY_LIST
    if rules.allows_anyone:
        return None
    if rules.allow_unknown and rules.match_allow == "all":
        return CREDENTIAL_NOT_IN_ALLOW_LIST
    allow = [who in rules.allow_addresses or "*" in rules.allow_addresses] if rules.allow_addresses is not None else []
    allow += [holds(contract) for contract in rules.allow_lists]
    admitted = bool(allow) and (any(allow) if rules.match_allow == "any" else all(allow))
    return None if admitted else CREDENTIAL_NOT_IN_ALLOW_LIST


def check_credentials(credentials: Any, consumer: str, did: str, holds: Callable[[str], bool] | None = None,
                      chain_id: int | None = None) -> None:
    if not credentials:
        return
    rules = parse_credentials(credentials, chain_id)
    code = decide_credentials(rules, consumer, holds or (lambda contract: False))
    if code:
        raise NotConsumable(f"Error: Access to asset {did} was denied with code: ConsumableCodes.{code}.")


def check_consumable(ddo: dict[str, Any], onchain_state: int, consumer: str,
                     holds: Callable[[str], bool] | None = None) -> None:
    nft = ddo.get("nft") or {}
    if not nft.get("address") or not ddo.get("chainId"):
        raise NotConsumable("Asset malformed or disabled.")
    if onchain_state not in CONSUMABLE_STATES:
        raise NotConsumable("Asset is not consumable.")
    check_credentials(ddo.get("credentials"), consumer, ddo.get("id", ""), holds, ddo.get("chainId"))


def find_service(ddo: dict[str, Any], service_id: Any) -> tuple[int, dict[str, Any]] | None:
    """(index, service) by id; the index is the position in `services`, checked on chain."""
    for index, service in enumerate(ddo.get("services") or []):
        if isinstance(service, dict) and str(service.get("id")) == str(service_id):
            return index, service
    return None
