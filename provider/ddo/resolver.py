"""DID -> DDO, from the built-in index or an external Aquarius (AQUARIUS_URL)."""
from __future__ import annotations

import logging
import re
from typing import Any

import requests

from provider import boundedjson
from provider.boundedjson import JSONRejected
from provider.ddo.indexer import ChainIndexer
from provider.ddo.store import AssetStore, IndexedAsset

log = logging.getLogger(__name__)
DID_PATTERN = re.compile(r"^did:ope?:[0-9a-fA-F]{64}$")


def is_did(value) -> bool:
    """did:op: (DDO v4) or did:ope: (v5) and the 64 hex digits of the NFT's hash."""
    return isinstance(value, str) and bool(DID_PATTERN.match(value))


def index_key(did: str) -> str:
    """The index keeps an NFT's document under did:op:<hash> whatever its version (state events
    name the NFT, not the document); the document's own id says v4 or v5."""
    return "did:op:" + did.rsplit(":", 1)[-1].lower()


class AssetResolver:
    def __init__(self, store: AssetStore, indexers: list[ChainIndexer], aquarius_url: str | None,
                 timeout: float = 10.0):
        self.store = store
        self.indexers = indexers
        self.aquarius_url = aquarius_url
        self.timeout = timeout

    def indexed(self, did: str) -> IndexedAsset | None:
        """The index entry, catching up with the chain once if the DID is not known yet."""
        if not is_did(did):
            return None
        wanted = did.lower()
        key = index_key(did)
        asset = self.store.get(key)
        if asset is None or asset.ddo is None:
            for indexer in self.indexers:
                try:
                    indexer.sync(max_batches=50)
                except Exception:
                    log.exception("catch-up indexing of chain %s failed", indexer.chain.chain_id)
            asset = self.store.get(key)
        if asset is not None and asset.ddo is not None and str(asset.ddo.get("id", "")).lower() != wanted:
            return None  # did:ope:X names the v5 document of that NFT, did:op:X the v4 one
        return asset

    def resolve(self, did: str) -> dict[str, Any] | None:
        """The DDO in Aquarius' shape, or None when it is unknown or was never valid."""
        if not is_did(did):
            return None
        if self.aquarius_url:
            return self._from_aquarius(did)
        asset = self.indexed(did)
        return asset.aquarius_document() if asset else None

    def _from_aquarius(self, did: str) -> dict[str, Any] | None:
        try:
            response = requests.get(f"{self.aquarius_url}/api/aquarius/assets/ddo/{did}", timeout=self.timeout)
        except requests.RequestException:
            log.warning("Aquarius unreachable while resolving %s", did)
            return None
        if response.status_code != 200:
            return None
        try:
            document = boundedjson.loads(response.content, what="Aquarius reply")
        except (ValueError, JSONRejected):
            return None
        return document if isinstance(document, dict) and document.get("id") == did else None
