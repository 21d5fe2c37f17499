"""The provider's SQLite database: one file, WAL mode, a connection per thread.

Every table the provider uses is created here, so a fresh file is ready to use and an old
one is upgraded in place (CREATE ... IF NOT EXISTS only; nothing is ever dropped). Writers
that must be atomic across processes use `BEGIN IMMEDIATE`, which takes SQLite's write lock
before reading, so two gunicorn workers cannot both pass a check-then-write.
"""
from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

_SCHEMA = """
CREATE TABLE IF NOT EXISTS user_nonce (
    address TEXT PRIMARY KEY,
    nonce   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS revoked_token (
    token      TEXT PRIMARY KEY,
    revoked_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS indexer_progress (
    chain_id   INTEGER PRIMARY KEY,
    last_block INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS indexer_lease (
    chain_id   INTEGER PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS asset (
    did         TEXT PRIMARY KEY,
    chain_id    INTEGER NOT NULL,
    nft_address TEXT NOT NULL,
    ddo         TEXT,             -- last valid document (JSON), NULL if none was valid
    state       INTEGER NOT NULL, -- metadata state from the latest event
    nft         TEXT NOT NULL,    -- JSON: name, symbol, owner, tokenURI
    event       TEXT NOT NULL,    -- JSON: tx, block, from, contract, datetime
    created     TEXT NOT NULL,
    error       TEXT              -- why the latest document was refused, if it was
);
"""


class Database:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._connection().executescript("BEGIN IMMEDIATE;" + _SCHEMA + "COMMIT;")

    def _connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=30000")
            conn.row_factory = sqlite3.Row
            self._local.conn = conn
        return conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """An IMMEDIATE transaction: the write lock is held from the first read."""
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")

    def read(self) -> sqlite3.Connection:
        return self._connection()

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
