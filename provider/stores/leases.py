"""Named leases in SQLite: one process at a time does a piece of background work.

A holder renews its lease while it works; when it dies, the lease runs out and another
process takes over. Used by the chain indexer (per chain) and the compute scheduler.
"""
from __future__ import annotations

import time

from provider.stores.sqlite import Database


class Leases:
    def __init__(self, db: Database):
        self._db = db

    def take(self, name: str, holder: str, seconds: float) -> bool:
        """Become (or stay) the holder of `name` for `seconds`; False if someone else holds it."""
        now = time.time()
        with self._db.write() as conn:
            row = conn.execute("SELECT holder, expires_at FROM lease WHERE name = ?", (name,)).fetchone()
            if row is not None and row["holder"] != holder and row["expires_at"] > now:
                return False
            conn.execute(
                "INSERT INTO lease(name, holder, expires_at) VALUES (?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at",
                (name, holder, now + seconds),
            )
            return True

    def release(self, name: str, holder: str) -> None:
        with self._db.write() as conn:
            conn.execute("DELETE FROM lease WHERE name = ? AND holder = ?", (name, holder))

    def holder_of(self, name: str) -> str | None:
        """Who holds `name` now (None if nobody, or if the lease ran out)."""
        row = self._db.read().execute("SELECT holder, expires_at FROM lease WHERE name = ?", (name,)).fetchone()
        return row["holder"] if row is not None and row["expires_at"] > time.time() else None
