"""The chain index in SQLite: assets (DID -> DDO, state, nft and event blocks) and progress."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from provider.stores.sqlite import Database


@dataclass(frozen=True)
class IndexedAsset:
    did: str
    chain_id: int
    nft_address: str
    ddo: dict[str, Any] | None
    state: int
    nft: dict[str, Any]
    event: dict[str, Any]
    error: str | None

    def aquarius_document(self) -> dict[str, Any] | None:
        """The DDO as Aquarius serves it: the published document plus indexer blocks."""
        if self.ddo is None:
            return None
        document = dict(self.ddo)
        document["nft"] = {**self.nft, "address": self.nft_address, "state": self.state}
        document["event"] = dict(self.event)
        document["datatokens"] = [
            {"address": s.get("datatokenAddress"), "serviceId": s.get("id")}
            for s in document.get("services", []) if isinstance(s, dict)
        ]
        document.setdefault("stats", {"orders": 0})
        document["purgatory"] = {"state": False}
        return document


class AssetStore:
    def __init__(self, db: Database):
        self._db = db

    def get(self, did: str) -> IndexedAsset | None:
        row = self._db.read().execute("SELECT * FROM asset WHERE did = ?", (did,)).fetchone()
        if row is None:
            return None
        return IndexedAsset(
            did=row["did"], chain_id=row["chain_id"], nft_address=row["nft_address"],
            ddo=json.loads(row["ddo"]) if row["ddo"] else None, state=row["state"],
            nft=json.loads(row["nft"]), event=json.loads(row["event"]), error=row["error"],
        )

    def save_document(self, conn, *, did, chain_id, nft_address, ddo, state, nft, event, error) -> None:
        """Record a Created/Updated event. A refused document keeps the last valid one."""
        conn.execute(
            """INSERT INTO asset(did, chain_id, nft_address, ddo, state, nft, event, created, error)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT(did) DO UPDATE SET
                 ddo = COALESCE(excluded.ddo, asset.ddo), state = excluded.state,
                 nft = excluded.nft, event = excluded.event, error = excluded.error""",
            (did, chain_id, nft_address, json.dumps(ddo) if ddo is not None else None, state,
             json.dumps(nft), json.dumps(event), time.strftime("%Y-%m-%dT%H:%M:%S"), error),
        )

    def counts(self, chain_id: int) -> dict[str, int]:
        """Indexed assets of a chain: all, and those whose last document was refused."""
        row = self._db.read().execute(
            "SELECT COUNT(*) AS total, SUM(error IS NOT NULL) AS refused FROM asset WHERE chain_id = ?", (chain_id,)
        ).fetchone()
        return {"assets": row["total"] or 0, "refused": row["refused"] or 0}

    def save_state(self, conn, did: str, state: int) -> None:
        conn.execute("UPDATE asset SET state = ? WHERE did = ?", (state, did))

    def progress(self, chain_id: int) -> int | None:
        row = self._db.read().execute(
            "SELECT last_block FROM indexer_progress WHERE chain_id = ?", (chain_id,)
        ).fetchone()
        return row["last_block"] if row else None

    def save_progress(self, conn, chain_id: int, last_block: int) -> None:
        conn.execute(
            "INSERT INTO indexer_progress(chain_id, last_block) VALUES (?, ?) "
            "ON CONFLICT(chain_id) DO UPDATE SET last_block = excluded.last_block",
            (chain_id, last_block),
        )

    def write(self):
        return self._db.write()
