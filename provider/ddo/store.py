"""The chain index in SQLite: assets (DID -> DDO, state, nft and event blocks), the history of
metadata events they were built from, the block hashes indexed, and progress per chain.

The asset row is what resolving reads; the event history exists so that a reorganisation can
be undone: `rollback` deletes the events of the blocks the chain no longer has and rebuilds
each affected asset from the events that remain (or removes it when none remain).
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from provider.ddo import schema
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
    stats: list[dict[str, Any]] | None = None   # per service: datatoken, name, symbol, prices

    def aquarius_document(self) -> dict[str, Any] | None:
        """The DDO as both generations of clients read it: the published document, with the
        classic Aquarius blocks at the top (`nft`, `event.tx`, `datatokens`, `stats`: ocean.py and
        ocean.js 3.3, v4 documents only) and Ocean Node's `indexedMetadata` (`event.txid` is what
        ocean.js 8's `waitForIndexer(did, txid)` waits for)."""
        if self.ddo is None:
            return None
        document = dict(self.ddo)
        parts = schema.fields(document)
        nft = {**self.nft, "address": self.nft_address, "state": self.state}
        services = [s for s in parts.services if isinstance(s, dict)]
        document["indexedMetadata"] = {
            "nft": nft,
            "event": {"txid": self.event.get("tx"), "from": self.event.get("from"),
                      "contract": self.event.get("contract"), "block": self.event.get("block"),
                      "datetime": self.event.get("datetime")},
            "purgatory": {"state": False},
            "stats": self.stats if self.stats is not None else [
                {"datatokenAddress": s.get("datatokenAddress"), "serviceId": s.get("id"), "prices": []}
                for s in services],
        }
        if parts.generation == 4:
            document["nft"] = nft
            document["event"] = dict(self.event)
            document["datatokens"] = [{"address": s.get("datatokenAddress"), "serviceId": s.get("id")}
                                      for s in services]
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
            stats=json.loads(row["stats"]) if row["stats"] else None,
        )

    def save_document(self, conn, *, did, chain_id, nft_address, ddo, state, nft, event, error,
                      stats=None) -> None:
        """Record a Created/Updated event. A refused document keeps the last valid one (and its
        stats)."""
        conn.execute(
            """INSERT INTO asset(did, chain_id, nft_address, ddo, state, nft, event, created, error, stats)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT(did) DO UPDATE SET
                 ddo = COALESCE(excluded.ddo, asset.ddo), state = excluded.state,
                 nft = excluded.nft, event = excluded.event, error = excluded.error,
                 stats = CASE WHEN excluded.ddo IS NULL THEN asset.stats ELSE excluded.stats END""",
            (did, chain_id, nft_address, json.dumps(ddo) if ddo is not None else None, state,
             json.dumps(nft), json.dumps(event), time.strftime("%Y-%m-%dT%H:%M:%S"), error,
             json.dumps(stats) if stats is not None else None),
        )

    def record_event(self, conn, *, chain_id: int, block_number: int, log_index: int, did: str, kind: str,
                     payload) -> None:
        """Keep an indexed event (idempotent: a repeated batch writes the same rows) and apply it."""
        conn.execute("INSERT OR REPLACE INTO asset_event(chain_id, block_number, log_index, did, kind, payload) "
                     "VALUES (?, ?, ?, ?, ?, ?)", (chain_id, block_number, log_index, did, kind, json.dumps(payload)))
        self._apply(conn, kind, payload, did)

    def _apply(self, conn, kind: str, payload, did: str) -> None:
        if kind == "state":
            self.save_state(conn, did, int(payload))
        else:
            self.save_document(conn, **payload)

    def rollback(self, conn, chain_id: int, after_block: int) -> list[str]:
        """Undo every event of `chain_id` above `after_block`; returns the DIDs rebuilt."""
        dids = [row["did"] for row in conn.execute(
            "SELECT DISTINCT did FROM asset_event WHERE chain_id = ? AND block_number > ?", (chain_id, after_block))]
        conn.execute("DELETE FROM asset_event WHERE chain_id = ? AND block_number > ?", (chain_id, after_block))
        conn.execute("DELETE FROM indexed_block WHERE chain_id = ? AND number > ?", (chain_id, after_block))
        for did in dids:
            conn.execute("DELETE FROM asset WHERE did = ?", (did,))
            for row in conn.execute("SELECT kind, payload FROM asset_event WHERE did = ? "
                                    "ORDER BY block_number, log_index", (did,)).fetchall():
                self._apply(conn, row["kind"], json.loads(row["payload"]), did)
        return dids

    def forget_chain(self, conn, chain_id: int) -> None:
        """Drop everything indexed from a chain (the node now serves another chain)."""
        for table in ("asset", "asset_event"):
            conn.execute(f"DELETE FROM {table} WHERE chain_id = ?", (chain_id,))
        conn.execute("DELETE FROM indexed_block WHERE chain_id = ?", (chain_id,))
        conn.execute("DELETE FROM indexer_progress WHERE chain_id = ?", (chain_id,))

    def save_block(self, conn, chain_id: int, number: int, block_hash: str, *, events: bool = False,
                   keep_recent: int = 256) -> None:
        """Remember the hash a block had when it was indexed. Blocks with events are kept; of the
        others (batch ends) only the most recent `keep_recent`."""
        conn.execute("INSERT INTO indexed_block(chain_id, number, hash, events) VALUES (?, ?, ?, ?) "
                     "ON CONFLICT(chain_id, number) DO UPDATE SET hash = excluded.hash, "
                     "events = MAX(indexed_block.events, excluded.events)",
                     (chain_id, number, block_hash, int(events)))
        conn.execute("DELETE FROM indexed_block WHERE chain_id = ? AND events = 0 AND number < ("
                     "SELECT MIN(number) FROM (SELECT number FROM indexed_block WHERE chain_id = ? AND events = 0 "
                     "ORDER BY number DESC LIMIT ?))", (chain_id, chain_id, keep_recent))

    def indexed_blocks(self, chain_id: int, limit: int) -> list[tuple[int, str]]:
        """(number, hash) of remembered blocks, newest first."""
        rows = self._db.read().execute(
            "SELECT number, hash FROM indexed_block WHERE chain_id = ? ORDER BY number DESC LIMIT ?",
            (chain_id, limit)).fetchall()
        return [(row["number"], row["hash"]) for row in rows]

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

    def progress_hashes(self, chain_id: int) -> tuple[str | None, str | None]:
        """(hash of the last indexed block, genesis hash) as recorded with the progress."""
        row = self._db.read().execute(
            "SELECT last_hash, genesis_hash FROM indexer_progress WHERE chain_id = ?", (chain_id,)).fetchone()
        return (row["last_hash"], row["genesis_hash"]) if row else (None, None)

    def save_progress(self, conn, chain_id: int, last_block: int, last_hash: str | None = None,
                      genesis_hash: str | None = None) -> None:
        conn.execute(
            "INSERT INTO indexer_progress(chain_id, last_block, last_hash, genesis_hash) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(chain_id) DO UPDATE SET last_block = excluded.last_block, last_hash = excluded.last_hash, "
            "genesis_hash = COALESCE(excluded.genesis_hash, indexer_progress.genesis_hash)",
            (chain_id, last_block, last_hash, genesis_hash),
        )

    def write(self):
        return self._db.write()
