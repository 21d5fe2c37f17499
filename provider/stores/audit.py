"""The publisher's audit trail: an append-only, hash-chained log of every action on the assets
this provider serves (SQLite, in the provider's database; several processes append to one chain).

Kept in SQLite (`SqliteAuditLog`, the provider's database) or, when several provider hosts
share state (`REDIS_CONNECTION`, as nonces do), in Redis (`RedisAuditLog`); one contract test
runs against both. Each entry: time, action, DID, address, client (IP, or its salted hash), request id, outcome
(`ok` or `refused`), the reason of a refusal, and details (bytes sent, order, job). Its `hash`
is sha256 over the previous entry's hash and the RFC 8785 canonical JSON of its own fields, so
an edited or removed entry breaks every hash after it (`verify`). Entries older than the
retention are pruned from the start of the chain; the last pruned hash is kept as the anchor
the remaining chain starts from.

`AuditTrail.action` wraps one request's work: the entry is written when the work ends, with
its outcome; a download's entry waits for the last byte (how many were sent). Who asks and from
where comes from context variables the routes set (`client_var`, `observability.request_id_var`),
so services never see Flask.
"""
from __future__ import annotations

import contextvars
import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Protocol

import redis

from provider.crypto.canonical import canonical_bytes
from provider.errors import ProviderError
from provider.observability import request_id_var
from provider.stores.sqlite import Database

log = logging.getLogger(__name__)
client_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("audit_client", default=None)
GENESIS = "0" * 64
FIELDS = ("seq", "at", "action", "did", "address", "client", "request_id", "outcome", "reason", "details")


def entry_hash(previous: str, entry: dict[str, Any]) -> str:
    """sha256(previous hash ‖ JCS(the entry's fields)) (pure)."""
    body = {name: entry.get(name) for name in FIELDS}
    return hashlib.sha256(previous.encode() + canonical_bytes(body)).hexdigest()


def chain_breaks(entries: Iterable[dict[str, Any]], anchor: str = GENESIS) -> list[str]:
    """Where a chain of entries (in order) was edited, reordered or cut (pure)."""
    problems = []
    previous, last_seq = anchor, None
    for entry in entries:
        if last_seq is not None and entry["seq"] != last_seq + 1:
            problems.append(f"entries {last_seq + 1}..{entry['seq'] - 1} were removed")
        if entry.get("prev") != previous:
            problems.append(f"entry {entry['seq']}: does not follow the entry before it")
        if entry_hash(entry.get("prev") or "", entry) != entry.get("hash"):
            problems.append(f"entry {entry['seq']}: its content was changed")
        previous, last_seq = entry.get("hash"), entry["seq"]
    return problems


@dataclass
class Action:
    """One audited action in progress; written once when it ends."""
    trail: "AuditTrail"
    name: str
    did: str | None
    address: str | None
    details: dict[str, Any] = field(default_factory=dict)
    deferred: bool = False
    refusals_only: bool = False  # an allowed outcome is not written (see AuditTrail.action)

    def note(self, **details: Any) -> None:
        self.details.update({k: v for k, v in details.items() if v is not None})

    def counting(self, body: Iterator[bytes], expected: int | None = None) -> Iterator[bytes]:
        """Pass a response body through, and write the entry when it ends: bytes sent, and
        whether the client took all of it (`expected` bytes, when the length was announced: a
        server may close the body once it has sent that many)."""
        self.deferred = True
        context = (client_var.get(), request_id_var.get())

        def stream() -> Iterator[bytes]:
            sent, complete = 0, False
            try:
                for chunk in body:
                    sent += len(chunk)
                    yield chunk
                complete = True
            finally:
                self.note(bytes=sent, complete=complete or (expected is not None and sent >= expected))
                self.trail.write(self.name, self.did, self.address, "ok", None, self.details, context=context)
        return stream()

    def __enter__(self) -> "Action":
        return self

    def __exit__(self, kind, error, traceback) -> bool:
        if error is not None:
            reason = error.user_message if isinstance(error, ProviderError) else "internal error"
            self.trail.write(self.name, self.did, self.address, "refused",
                             reason if isinstance(reason, str) else json.dumps(reason)[:500], self.details)
        elif not self.deferred and not self.refusals_only:
            self.trail.write(self.name, self.did, self.address, "ok", None, self.details)
        return False


class AuditLog(Protocol):
    """Where entries are kept: appended in one chain by every process, read in order."""

    def append(self, entry: dict[str, Any], prune_before: float | None) -> None:
        """Give the entry its `seq`, `prev` and `hash` after the last one, atomically across
        processes; with `prune_before`, also drop entries older than that."""

    def entries(self, did: str | None = None, since: float | None = None, limit: int | None = None) -> list[dict]: ...

    def newest_not_ok(self, limit: int) -> list[dict]:
        """The `limit` newest entries whose outcome is not "ok", newest first, read through an
        index: the cost does not grow with the trail."""

    def anchor(self) -> str:
        """The hash the kept chain starts from (the last pruned entry's, or the genesis)."""

    def prune(self, before: float) -> None: ...


class SqliteAuditLog:
    def __init__(self, db: Database):
        self.db = db

    def append(self, entry: dict[str, Any], prune_before: float | None) -> None:
        with self.db.write() as conn:
            last = conn.execute("SELECT seq, hash FROM audit_entry ORDER BY seq DESC LIMIT 1").fetchone()
            if last is None:  # an empty (or wholly pruned) trail goes on from its anchor
                last = conn.execute("SELECT seq, hash FROM audit_anchor WHERE id = 1").fetchone()
            entry["seq"] = last["seq"] + 1 if last else 1
            entry["prev"] = last["hash"] if last else GENESIS
            entry["hash"] = entry_hash(entry["prev"], entry)
            conn.execute("INSERT INTO audit_entry(seq, at, action, did, address, client, request_id, outcome,"
                         " reason, details, prev, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                         (entry["seq"], entry["at"], entry["action"], entry["did"], entry["address"], entry["client"],
                          entry["request_id"], entry["outcome"], entry["reason"], json.dumps(entry["details"]),
                          entry["prev"], entry["hash"]))
            if prune_before is not None:
                self._prune(conn, prune_before)

    def prune(self, before: float) -> None:
        with self.db.write() as conn:
            self._prune(conn, before)

    @staticmethod
    def _prune(conn, before: float) -> None:
        cut = conn.execute("SELECT seq, hash FROM audit_entry WHERE at < ? ORDER BY seq DESC LIMIT 1",
                           (before,)).fetchone()
        if cut is None:
            return
        conn.execute("INSERT INTO audit_anchor(id, seq, hash) VALUES (1, ?, ?) "
                     "ON CONFLICT(id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash", (cut["seq"], cut["hash"]))
        conn.execute("DELETE FROM audit_entry WHERE seq <= ?", (cut["seq"],))

    def entries(self, did: str | None = None, since: float | None = None, limit: int | None = None) -> list[dict]:
        query, args = "SELECT * FROM audit_entry WHERE 1 = 1", []
        if did:
            query, args = query + " AND did = ?", args + [did]
        if since is not None:
            query, args = query + " AND at >= ?", args + [since]
        query += " ORDER BY seq"
        if limit:
            query, args = query + " LIMIT ?", args + [int(limit)]
        rows = self.db.read().execute(query, args).fetchall()
        return [_row_entry(row) for row in rows]

    def newest_not_ok(self, limit: int) -> list[dict]:
        rows = self.db.read().execute("SELECT * FROM audit_entry WHERE outcome != 'ok' ORDER BY seq DESC LIMIT ?",
                                      (int(limit),)).fetchall()
        return [_row_entry(row) for row in rows]

    def anchor(self) -> str:
        row = self.db.read().execute("SELECT hash FROM audit_anchor WHERE id = 1").fetchone()
        return row["hash"] if row else GENESIS


def _row_entry(row) -> dict:
    return dict(row) | {"details": json.loads(row["details"] or "{}")}


class RedisAuditLog:
    """The same chain in Redis, for several provider hosts (what REDIS_CONNECTION shares): a
    hash of entries by seq, the head (`seq hash`) moved with WATCH/MULTI so two processes never
    append after the same entry, and per-DID indexes."""

    PREFIX = "ocean_provider:audit:"

    def __init__(self, client: redis.Redis):
        self.redis = client

    def _key(self, name: str) -> str:
        return self.PREFIX + name

    def append(self, entry: dict[str, Any], prune_before: float | None) -> None:
        head_key = self._key("head")
        with self.redis.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(head_key)
                    head = pipe.get(head_key)
                    seq, previous = (head.decode().split(" ", 1) if head else ("0", GENESIS))
                    entry["seq"], entry["prev"] = int(seq) + 1, previous
                    entry["hash"] = entry_hash(previous, entry)
                    pipe.multi()
                    pipe.set(head_key, f"{entry['seq']} {entry['hash']}")
                    pipe.hset(self._key("entries"), entry["seq"], json.dumps(entry))
                    pipe.zadd(self._key("order"), {entry["seq"]: entry["seq"]})
                    if entry.get("did"):
                        pipe.zadd(self._key("did:" + entry["did"]), {entry["seq"]: entry["seq"]})
                    if entry.get("outcome") != "ok":
                        pipe.zadd(self._key("not_ok"), {entry["seq"]: entry["seq"]})
                    pipe.execute()
                    break
                except redis.WatchError:
                    continue  # another process appended first: follow its entry
        if prune_before is not None:
            self.prune(prune_before)

    def prune(self, before: float) -> None:
        cut = None
        for entry in self.entries():
            if entry["at"] >= before:
                break
            cut = entry
        if cut is None:
            return
        seqs = list(range(int(self.redis.zrange(self._key("order"), 0, 0)[0]), cut["seq"] + 1))
        pipe = self.redis.pipeline()
        pipe.set(self._key("anchor"), cut["hash"])
        pipe.hdel(self._key("entries"), *seqs)
        pipe.zremrangebyscore(self._key("order"), "-inf", cut["seq"])
        pipe.zremrangebyscore(self._key("not_ok"), "-inf", cut["seq"])
        pipe.execute()

    def entries(self, did: str | None = None, since: float | None = None, limit: int | None = None) -> list[dict]:
        index = self._key("did:" + did) if did else self._key("order")
        seqs = [int(s) for s in self.redis.zrange(index, 0, -1)]
        raw = self.redis.hmget(self._key("entries"), seqs) if seqs else []
        found = [json.loads(item) for item in raw if item is not None]
        if since is not None:
            found = [e for e in found if e["at"] >= since]
        return found[:limit] if limit else found

    def newest_not_ok(self, limit: int) -> list[dict]:
        seqs = [int(s) for s in self.redis.zrevrange(self._key("not_ok"), 0, max(0, int(limit) - 1))]
        raw = self.redis.hmget(self._key("entries"), seqs) if seqs else []
        return [json.loads(item) for item in raw if item is not None]

    def anchor(self) -> str:
        value = self.redis.get(self._key("anchor"))
        return value.decode() if value else GENESIS


class AuditTrail:
    def __init__(self, log: AuditLog | Database | None, *, hash_clients: bool = False, salt: str = "",
                 retention_seconds: float = 365 * 86400, prune_every: int = 1000):
        self.log = SqliteAuditLog(log) if isinstance(log, Database) else log
        self.hash_clients = hash_clients
        self.salt = salt
        self.retention_seconds = retention_seconds
        self.prune_every = prune_every
        self._written = 0

    @classmethod
    def disabled(cls) -> "AuditTrail":
        return cls(None)

    def action(self, name: str, *, did: Any = None, address: Any = None, refusals_only: bool = False,
               **details: Any) -> Action:
        """`refusals_only`: for actions that concern no asset and no identity (a probe of a file
        object the caller sent itself), whose allowed outcomes tell a publisher nothing."""
        return Action(self, name, str(did)[:200] if did else None, str(address)[:64] if address else None,
                      {k: v for k, v in details.items() if v is not None}, refusals_only=refusals_only)

    def record(self, name: str, *, did: Any = None, address: Any = None, outcome: str = "ok",
               reason: str | None = None, **details: Any) -> None:
        self.write(name, str(did)[:200] if did else None, str(address)[:64] if address else None, outcome, reason,
                   {k: v for k, v in details.items() if v is not None})

    def _client(self, ip: str | None) -> str | None:
        if ip is None or not self.hash_clients:
            return ip
        return "sha256:" + hashlib.sha256((self.salt + ip).encode()).hexdigest()[:32]

    def write(self, action: str, did: str | None, address: str | None, outcome: str, reason: str | None,
              details: dict[str, Any], *, context: tuple[str | None, str | None] | None = None) -> None:
        if self.log is None:
            return
        client, request_id = context or (client_var.get(), request_id_var.get())
        entry = {"at": round(time.time(), 3), "action": action, "did": did, "address": address,
                 "client": self._client(client), "request_id": request_id, "outcome": outcome,
                 "reason": reason, "details": json.loads(json.dumps(details, default=str))}
        self._written += 1
        prune = entry["at"] - self.retention_seconds if self._written % self.prune_every == 0 else None
        try:
            self.log.append(entry, prune)
        except Exception:  # noqa: BLE001 (the request is answered; the operator sees the failure)
            log.exception("audit entry %s could not be written", action)

    def prune(self, now: float | None = None) -> None:
        """Drop entries older than the retention (also done every `prune_every` entries)."""
        self.log.prune((time.time() if now is None else now) - self.retention_seconds)

    # ---- reading -----------------------------------------------------------------------------

    def entries(self, *, did: str | None = None, since: float | None = None, limit: int | None = None) -> list[dict]:
        return self.log.entries(did, since, limit)

    def newest_not_ok(self, limit: int) -> list[dict]:
        """Recent refusals and failures, newest first (what an operator looks at first)."""
        return self.log.newest_not_ok(limit) if self.log is not None else []

    def verify(self) -> list[str]:
        return chain_breaks(self.log.entries(), self.log.anchor())
