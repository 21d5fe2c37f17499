"""The asset catalog: a DID to its document on a chain this provider serves, a service of it by
id, its on-chain state, and the service's files decrypted with the provider key.

Shared by the access rules and compute provisioning, which must agree on what an asset's
files are; it knows nothing of requests, orders or fees.
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any


from provider import boundedjson
from provider.access.consumable import NotConsumable, check_consumable, check_credentials, find_service
from provider.auth.signatures import same_address
from provider.boundedjson import JSONRejected
from provider.chain.client import ChainClient, Chains, ViewCallFailed
from provider.crypto.ecies import DecryptionFailed, decrypt
from provider.ddo import schema
from provider.ddo.resolver import AssetResolver, is_did
from provider.errors import InvalidRequest


class UnknownAsset(InvalidRequest):
    """No document for this DID on a chain this provider serves."""


class UnknownService(InvalidRequest):
    """The asset has no service with this id."""


class FilesUnreadable(InvalidRequest):
    """A service's `files` do not decrypt with our key, or do not name this service and NFT."""


@dataclass
class Asset:
    ddo: dict[str, Any]
    chain: ChainClient

    @property
    def did(self) -> str:
        return self.ddo["id"]

    def prefixed(self, message: str) -> str:
        return f"Provider {self.chain.network_name}: {message}"


class AssetCatalog:
    DECRYPTED_FILES_KEPT = 1024

    def __init__(self, chains: Chains, resolver: AssetResolver):
        self.chains = chains
        self.resolver = resolver
        # ciphertext digest -> plaintext: an ECIES decryption is most of a warm download's own
        # work, and a service's `files` blob does not change between downloads.
        self._decrypted: OrderedDict[bytes, bytes] = OrderedDict()
        self._decrypted_lock = threading.Lock()

    def _decrypt_files(self, chain: ChainClient, ciphertext: bytes) -> bytes:
        key = hashlib.sha256(chain.chain_id.to_bytes(8, "big") + ciphertext).digest()
        with self._decrypted_lock:
            plain = self._decrypted.get(key)
            if plain is not None:
                self._decrypted.move_to_end(key)
                return plain
        plain = decrypt(chain.settings.private_key, ciphertext)  # only what decrypts is kept
        with self._decrypted_lock:
            self._decrypted[key] = plain
            while len(self._decrypted) > self.DECRYPTED_FILES_KEPT:
                self._decrypted.popitem(last=False)
        return plain

    def asset(self, did: Any) -> Asset:
        ddo = self.resolver.resolve(did) if is_did(did) else None
        ddo = schema.classic_view(ddo) if ddo else None
        chain = self.chains.find(ddo.get("chainId")) if ddo else None
        if ddo is None or chain is None:
            raise UnknownAsset("Cannot resolve DID")
        return Asset(ddo, chain)

    def asset_from_document(self, ddo: dict[str, Any]) -> Asset:
        """An asset from a document kept earlier (a job's pinned algorithm), not resolved again."""
        ddo = schema.classic_view(ddo) if isinstance(ddo, dict) else ddo
        chain = self.chains.find(ddo.get("chainId")) if isinstance(ddo, dict) else None
        if chain is None:
            raise UnknownAsset("Cannot resolve DID")
        return Asset(ddo, chain)

    def service(self, asset: Asset, service_id: Any) -> tuple[int, dict[str, Any]]:
        found = find_service(asset.ddo, service_id)
        if found is None:
            raise UnknownService(asset.prefixed("Invalid serviceId."))
        return found

    @staticmethod
    def _nft_address(asset: Asset):
        nft = asset.ddo.get("nft")
        return (nft.get("address") if isinstance(nft, dict) else None) or asset.ddo.get("nftAddress")

    def onchain_state(self, asset: Asset) -> int:
        try:
            return int(asset.chain.view("ERC721Template", self._nft_address(asset), "getMetaData")[2])
        except (ViewCallFailed, TypeError):
            return -1

    def state_read(self, asset: Asset) -> tuple[str, list] | None:
        """The chain call `onchain_state` makes, for `ChainClient.read_ahead`."""
        try:
            return asset.chain.view_request("ERC721Template", self._nft_address(asset), "getMetaData")[:2]
        except (ViewCallFailed, TypeError):
            return None

    def require_consumable(self, asset: Asset, consumer: str) -> None:
        try:
            check_consumable(asset.ddo, self.onchain_state(asset), consumer, self.access_list_holder(asset, consumer))
        except NotConsumable as exc:
            raise NotConsumable(asset.prefixed(exc.user_message)) from None

    def require_credentials(self, asset: Asset, consumer: str, credentials: Any = None) -> None:
        """`credentials` (by default the asset's own: an algorithm's, at compute start) admit
        `consumer`; the message is not prefixed."""
        check_credentials(asset.ddo.get("credentials") if credentials is None else credentials, consumer, asset.did,
                          self.access_list_holder(asset, consumer), asset.chain.chain_id)

    def require_service_credentials(self, asset: Asset, service: dict[str, Any], consumer: str) -> None:
        """A service's own credentials (DDO 4.7.0 and v5 allow them per service), on top of the
        asset's."""
        try:
            self.require_credentials(asset, consumer, service.get("credentials") or {})
        except NotConsumable as exc:
            raise NotConsumable(asset.prefixed(exc.user_message)) from None

    @staticmethod
    def access_list_holder(asset: Asset, consumer: str):
        """`holds(contract)`: does `consumer` hold a token of that AccessList contract, on the
        asset's chain. A contract that does not answer counts as "not on the list"."""
        def holds(contract: str) -> bool:
            try:
                return int(asset.chain.view("AccessList", contract, "balanceOf", consumer)[0]) > 0
            except (ViewCallFailed, TypeError):
                return False
        return holds

    def service_files(self, asset: Asset, service: dict[str, Any]) -> list[dict[str, Any]]:
        """Decrypt `service.files`; they must name this service's datatoken and this NFT."""
        failure = FilesUnreadable(asset.prefixed("Unable to get dataset files"))
        try:
            plain = self._decrypt_files(asset.chain, bytes.fromhex(str(service.get("files", "")).removeprefix("0x")))
            content = boundedjson.loads(plain, what="files")
        except (DecryptionFailed, ValueError, UnicodeDecodeError, JSONRejected):
            raise failure from None
        if asset.ddo.get("version") == "4.0.0" and isinstance(content, list):
            return content
        if not isinstance(content, dict) or not isinstance(content.get("files"), list):
            raise failure
        if not same_address(content.get("datatokenAddress", ""), service.get("datatokenAddress", "")):
            raise failure
        if not same_address(content.get("nftAddress", ""), asset.ddo.get("nftAddress", "")):
            raise failure
        return content["files"]
