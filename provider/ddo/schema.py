"""Which DDOs are valid, and where their fields live (pure rules).

The rules are those of Ocean's ddo-js shapes, which ocean.js 8 and Ocean Node apply:
- **v4** (`version` 4.1.0 ... 4.7.0, `id` did:op:): top-level `chainId`, `nftAddress`,
  `metadata`, `services`, `credentials`;
- **v5** (`version` 5.x, `id` did:ope:, a verifiable credential): the same fields inside
  `credentialSubject`, plus `issuer` and `type`; metadata names `providedBy` instead of
  `author` and may give `description` as a language value `{value, language}`.
Either way `id` must be `makeDid(nftAddress, chainId)`: `did:op:`/`did:ope:` +
sha256(checksummed NFT address + chain id).

`fields(ddo)` gives every rule elsewhere (orders, credentials, compute) one view of either
version, so nothing else needs to know where v5 keeps its services.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from eth_utils import is_address, to_checksum_address

V4_VERSIONS = ("4.0.0", "4.1.0", "4.3.0", "4.5.0", "4.7.0")  # 4.0.0: early classic publishers
PREFIX_V4 = "did:op:"
PREFIX_V5 = "did:ope:"

# (field, required, type) per part; "str[]" is a string or a list of strings
_STR, _INT, _BOOL, _OBJ, _LIST, _STRS = "string", "integer", "boolean", "object", "list", "str[]"
V4_METADATA = (("description", True, _STR), ("name", True, _STR), ("type", True, _STR), ("author", True, _STR),
               ("license", True, _STR), ("created", False, _STR), ("updated", False, _STR),
               ("copyrightHolder", False, _STR), ("links", False, _STRS), ("tags", False, _STRS),
               ("categories", False, _STRS), ("contentLanguage", False, _STR), ("algorithm", False, _OBJ))
V5_METADATA = (("name", True, _STR), ("created", True, _STR), ("updated", True, _STR), ("providedBy", True, _STR),
               ("tags", False, _STRS), ("algorithm", False, _OBJ))
V4_SERVICE = (("id", True, _STR), ("type", True, _STR), ("datatokenAddress", True, _STR),
              ("serviceEndpoint", True, _STR), ("files", True, _STR), ("timeout", True, _INT),
              ("name", False, _STR), ("description", False, _STR), ("compute", False, _OBJ),
              ("credentials", False, _OBJ))
V5_SERVICE = (("id", True, _STR), ("type", True, _STR), ("datatokenAddress", True, _STR),
              ("serviceEndpoint", True, _STR), ("timeout", True, _INT), ("compute", False, _OBJ),
              ("credentials", False, _OBJ))
CONTAINER = (("entrypoint", True, _STR), ("image", True, _STR), ("tag", True, _STR), ("checksum", True, _STR))
COMPUTE = (("allowRawAlgorithm", True, _BOOL), ("allowNetworkAccess", True, _BOOL),
           ("publisherTrustedAlgorithmPublishers", False, _STRS), ("publisherTrustedAlgorithms", False, _LIST))
TRUSTED_ALGORITHM = (("did", True, _STR), ("filesChecksum", True, _STR), ("containerSectionChecksum", True, _STR))


@dataclass(frozen=True)
class DDOFields:
    """Where a DDO's parts are, whichever its version."""
    generation: int                # 4 or 5
    did: str
    chain_id: Any
    nft_address: Any
    metadata: dict
    services: list
    credentials: Any


def generation(ddo: dict) -> int | None:
    """4 or 5 as ddo-js classifies a document (by version and DID prefix), or None."""
    version, did = str(ddo.get("version") or ""), ddo.get("id")
    if not isinstance(did, str):
        return None
    if version.startswith("4") and did.startswith(PREFIX_V4):
        return 4
    if version.startswith("5") and did.startswith(PREFIX_V5):
        return 5
    return None


def fields(ddo: dict, kind: int | None = None) -> DDOFields:
    """The parts of a v4 or v5 document (a v5 document's live in `credentialSubject`); `kind`
    overrides what the version and id say."""
    body = ddo.get("credentialSubject") if (kind or generation(ddo)) == 5 else ddo
    body = body if isinstance(body, dict) else {}
    metadata, services = body.get("metadata"), body.get("services")
    return DDOFields(5 if body is not ddo else 4, ddo.get("id"), body.get("chainId"), body.get("nftAddress"),
                     metadata if isinstance(metadata, dict) else {}, services if isinstance(services, list) else [],
                     body.get("credentials"))


def make_did(nft_address: str, chain_id: int, generation_: int = 4) -> str:
    prefix = PREFIX_V5 if generation_ == 5 else PREFIX_V4
    return prefix + hashlib.sha256((to_checksum_address(nft_address) + str(int(chain_id))).encode()).hexdigest()


_TYPE_CHECKS = {
    _STR: lambda v: isinstance(v, str),
    _INT: lambda v: isinstance(v, int) and not isinstance(v, bool),
    _BOOL: lambda v: isinstance(v, bool),
    _OBJ: lambda v: isinstance(v, dict),
    _LIST: lambda v: isinstance(v, list),
    _STRS: lambda v: isinstance(v, str) or (isinstance(v, list) and all(isinstance(x, str) for x in v)),
}


def _check(value: Any, rules, where: str, errors: dict[str, str]) -> None:
    if not isinstance(value, dict):
        errors[where] = "must be an object"
        return
    for name, required, kind in rules:
        path = f"{where}.{name}"
        if name not in value or value[name] is None:
            if required:
                errors[path] = "is required"
            continue
        if not _TYPE_CHECKS[kind](value[name]):
            errors[path] = f"must be {'a list of strings' if kind == _STRS else 'a ' + kind}"


def _description_ok(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, dict) and isinstance(value.get("value"), str))


def validation_errors(ddo: Any) -> dict[str, str]:
    """Every reason `ddo` is not a valid DDO, by field path (empty when it is valid)."""
    if not isinstance(ddo, dict):
        return {"ddo": "must be a JSON object"}
    errors: dict[str, str] = {}
    version = str(ddo.get("version") or "")
    kind = 5 if version.startswith("5") else 4
    if kind == 4 and version not in V4_VERSIONS:
        errors["version"] = f"unsupported DDO version {version[:16]!r}: 4.1.0 to 4.7.0, or 5.x"
    prefix = PREFIX_V5 if kind == 5 else PREFIX_V4
    if not isinstance(ddo.get("id"), str) or not ddo["id"].startswith(prefix):
        errors["id"] = f"must be a {prefix} DID"
    if kind == 5:
        for name in ("issuer", "version"):
            if not isinstance(ddo.get(name), str):
                errors[name] = "is required"
        if "type" not in ddo:
            errors["type"] = "is required"
        if not isinstance(ddo.get("credentialSubject"), dict):
            errors["credentialSubject"] = "is required"
            return errors
    parts = fields(ddo, kind)
    where = "credentialSubject." if kind == 5 else ""  # v4 errors name fields as classic clients know them
    chain_id, nft = parts.chain_id, parts.nft_address
    if not isinstance(chain_id, int) or isinstance(chain_id, bool):
        errors[f"{where}chainId"] = "must be an integer"
    if not isinstance(nft, str) or not is_address(nft):
        errors[f"{where}nftAddress"] = "must be an address"
    if f"{where}chainId" not in errors and f"{where}nftAddress" not in errors and "id" not in errors and \
            ddo["id"] != make_did(nft, chain_id, kind):
        errors["id"] = "is not the DID of this NFT on this chain"
    body = ddo.get("credentialSubject") if kind == 5 else ddo
    _check(body.get("metadata"), V5_METADATA if kind == 5 else V4_METADATA, f"{where}metadata", errors)
    if kind == 5 and isinstance(body.get("metadata"), dict) and "description" in body["metadata"] \
            and not _description_ok(body["metadata"]["description"]):
        errors[f"{where}metadata.description"] = "must be a string or a language value {value, language}"
    algorithm = parts.metadata.get("algorithm")
    if isinstance(algorithm, dict):
        _check(algorithm.get("container"), CONTAINER, f"{where}metadata.algorithm.container", errors)
    services = body.get("services")
    if not isinstance(services, list) or not services:
        errors[f"{where}services"] = "at least one service is required"
    else:
        for index, service in enumerate(services):
            at = f"{where}services[{index}]"
            _check(service, V5_SERVICE if kind == 5 else V4_SERVICE, at, errors)
            compute = service.get("compute") if isinstance(service, dict) else None
            if isinstance(compute, dict):
                _check(compute, COMPUTE, f"{at}.compute", errors)
                for n, trusted in enumerate(compute.get("publisherTrustedAlgorithms") or []):
                    _check(trusted, TRUSTED_ALGORITHM, f"{at}.compute.publisherTrustedAlgorithms[{n}]", errors)
    credentials = parts.credentials
    if credentials is not None and not isinstance(credentials, dict):
        errors[f"{where}credentials"] = "must be an object"
    return errors


def classic_view(ddo: dict) -> dict:
    """A v5 document seen with its parts at the top, as the v4 rules (orders, files,
    credentials, compute) read them; a v4 document as it is."""
    if generation(ddo) != 5 or not isinstance(ddo.get("credentialSubject"), dict):
        return ddo
    subject = ddo["credentialSubject"]
    lifted = {key: subject[key] for key in ("chainId", "nftAddress", "metadata", "services", "credentials",
                                            "datatokens") if key in subject}
    indexed = ddo.get("indexedMetadata")
    if isinstance(indexed, dict) and "nft" not in ddo:
        lifted["nft"] = indexed.get("nft")  # what the indexer read of the NFT (state, owner)
    return {**ddo, **lifted}
