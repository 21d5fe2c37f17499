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
from decimal import Decimal
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
-- Block hashes the index was built on: every block that held a metadata event, and recent
-- batch ends. A stored hash the chain no longer has means a reorganisation (or another chain).
CREATE TABLE IF NOT EXISTS indexed_block (
    chain_id INTEGER NOT NULL,
    number   INTEGER NOT NULL,
    hash     TEXT NOT NULL,
    events   INTEGER NOT NULL DEFAULT 0,  -- 1: a metadata event was indexed in this block
    PRIMARY KEY (chain_id, number)
);
-- Every indexed metadata event, so that the events of blocks a reorganisation removed can be
-- undone: an asset is rebuilt from the events that remain.
CREATE TABLE IF NOT EXISTS asset_event (
    chain_id     INTEGER NOT NULL,
    block_number INTEGER NOT NULL,
    log_index    INTEGER NOT NULL,
    did          TEXT NOT NULL,
    kind         TEXT NOT NULL,           -- document | state
    payload      TEXT NOT NULL,           -- JSON: the document record, or the state
    PRIMARY KEY (chain_id, block_number, log_index)
);
CREATE INDEX IF NOT EXISTS asset_event_did ON asset_event(did);
CREATE TABLE IF NOT EXISTS lease (
    name       TEXT PRIMARY KEY,   -- "indexer:<chainId>", "compute-scheduler"
    holder     TEXT NOT NULL,
    expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS compute_job (
    job_id         TEXT PRIMARY KEY,
    owner          TEXT NOT NULL,
    did            TEXT NOT NULL,
    algo_did       TEXT NOT NULL,
    agreement_id   TEXT NOT NULL,
    environment    TEXT NOT NULL,
    chain_id       INTEGER NOT NULL,
    status         INTEGER NOT NULL,
    date_created   REAL NOT NULL,
    date_started   REAL,
    date_finished  REAL,
    phase_deadline REAL,
    max_duration   INTEGER NOT NULL,
    stop_requested INTEGER NOT NULL DEFAULT 0,
    runner         TEXT,
    spec           TEXT NOT NULL,  -- JSON: inputs, algorithm, network, runtime (never file URLs)
    results        TEXT,           -- JSON list of {filename, filesize, type, index, path}
    termination    TEXT,           -- JSON {exitCode, OOMKilled, timedOut}
    error          TEXT
);
CREATE INDEX IF NOT EXISTS compute_job_owner ON compute_job(owner);
CREATE INDEX IF NOT EXISTS compute_job_status ON compute_job(status);
CREATE UNIQUE INDEX IF NOT EXISTS compute_job_agreement ON compute_job(agreement_id);
CREATE INDEX IF NOT EXISTS compute_job_created ON compute_job(date_created);
-- Every agreement (order) that ever started a job, kept when the job is deleted: one order
-- starts one job, forever.
CREATE TABLE IF NOT EXISTS used_agreement (
    agreement_id TEXT PRIMARY KEY,   -- lower-case 0x-hex transaction hash
    job_id       TEXT NOT NULL,
    used_at      REAL NOT NULL
);
-- Transactions the provider sends from its own key (escrow locks, claims, cancels), written
-- signed before they are broadcast: after a crash the same bytes are re-sent or found mined,
-- never a second transaction for one purpose.
CREATE TABLE IF NOT EXISTS provider_tx (
    purpose   TEXT PRIMARY KEY,   -- "lock:<jobId>", "claim:<jobId>", "cancel:<jobId>"
    chain_id  INTEGER NOT NULL,
    sender    TEXT NOT NULL,      -- lower-case address
    nonce     INTEGER NOT NULL,
    tx_hash   TEXT NOT NULL,
    raw       TEXT NOT NULL,      -- 0x signed transaction
    state     TEXT NOT NULL,      -- sent | mined | reverted | dropped
    created   REAL NOT NULL,
    details   TEXT                -- JSON: what undoing it needs (a lock: its id, token, payer)
);
CREATE INDEX IF NOT EXISTS provider_tx_sender ON provider_tx(chain_id, sender, nonce);
-- Every compute job's signed receipt, in issue order: one hash chain per provider, kept when
-- the job and its results expire.
CREATE TABLE IF NOT EXISTS job_receipt (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id   TEXT NOT NULL UNIQUE,
    sha256   TEXT NOT NULL,      -- of the canonical JSON of the document (the next one's `previous`)
    document TEXT NOT NULL
);
-- The audit trail: append-only, each entry hashed over the one before (stores/audit.py).
CREATE TABLE IF NOT EXISTS audit_entry (
    seq        INTEGER PRIMARY KEY,
    at         REAL NOT NULL,
    action     TEXT NOT NULL,
    did        TEXT,
    address    TEXT,
    client     TEXT,
    request_id TEXT,
    outcome    TEXT NOT NULL,
    reason     TEXT,
    details    TEXT NOT NULL,
    prev       TEXT NOT NULL,
    hash       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_entry_did ON audit_entry(did, seq);
-- Refusals and failures, so "the newest N" reads N rows however long the trail is.
CREATE INDEX IF NOT EXISTS audit_entry_not_ok ON audit_entry(seq) WHERE outcome != 'ok';
CREATE TABLE IF NOT EXISTS audit_anchor (   -- the last pruned entry: where the kept chain starts
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT NOT NULL
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
    error       TEXT,             -- why the latest document was refused, if it was
    stats       TEXT              -- JSON: per service, its datatoken and prices
);
"""

# Columns added after a table first shipped: added in place to an existing file.
_ADDED_COLUMNS = (
    ("indexer_progress", "last_hash", "TEXT"),      # hash of last_block when it was indexed
    ("indexer_progress", "genesis_hash", "TEXT"),   # block 0 of the chain the index was built on
    ("asset", "stats", "TEXT"),                     # JSON: per service, its datatoken and prices
)


_SYNCHRONOUS = {"process": "NORMAL", "power": "FULL"}


def _decimal_above(text: str, other: str) -> bool:
    """SQL `decimal_above(a, b)`: a > b for decimal texts, compared exactly (SQLite's own
    numbers are doubles, which round 17-digit nonces)."""
    return Decimal(text) > Decimal(other)


class Database:
    def __init__(self, path: Path, durability: str = "process"):
        self.path = Path(path)
        # WAL with synchronous=NORMAL: a commit is in the WAL file before it returns, so a killed
        # process loses nothing; only an OS crash or power loss can undo the last commits. FULL
        # also waits for the disk on every commit.
        self._synchronous = _SYNCHRONOUS[durability]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        conn = self._connection()
        conn.executescript("BEGIN IMMEDIATE;" + _SCHEMA + "COMMIT;")
        for table, column, definition in _ADDED_COLUMNS:
            columns = {row["name"] for row in conn.execute(f"PRAGMA table_info({table})")}
            if column not in columns:  # only files written before the column shipped
                try:
                    conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
                except sqlite3.OperationalError:  # another process added it first
                    pass

    def _connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            # the busy timeout first: switching a new file to WAL takes a lock that several
            # processes opening it at once (the engine and the workers) would otherwise fail on
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={self._synchronous}")
            conn.row_factory = sqlite3.Row
            conn.create_function("decimal_above", 2, _decimal_above, deterministic=True)
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

    def atomic(self, sql: str, parameters: tuple = ()) -> sqlite3.Cursor:
        """One write statement outside any explicit transaction: SQLite runs it in one implicit
        transaction of its own, under the write lock, and commits it before returning."""
        return self._connection().execute(sql, parameters)

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
