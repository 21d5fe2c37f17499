"""Revoked auth tokens (SQLite or Redis), keyed by token identity (see `provider.auth.tokens`).

Stores written before revocation by identity hold the token text; `migrate` rewrites such
entries to their identity once, so a token revoked before an upgrade stays revoked after it.
"""
from __future__ import annotations

import time
from typing import Callable, Protocol

import redis

from provider.errors import DependencyUnavailable
from provider.stores.sqlite import Database

IdentityOf = Callable[[str], "str | None"]


class RevocationStore(Protocol):
    def is_revoked(self, identity: str) -> bool: ...
    def revoke(self, identity: str) -> None: ...
    def restore(self, identity: str) -> None: ...
    def migrate(self, identity_of: IdentityOf) -> None: ...


class SqliteRevocationStore:
    def __init__(self, db: Database):
        self._db = db

    def is_revoked(self, identity: str) -> bool:
        row = self._db.read().execute("SELECT 1 FROM revoked_token WHERE token = ?", (identity,)).fetchone()
        return row is not None

    def revoke(self, identity: str) -> None:
        with self._db.write() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO revoked_token(token, revoked_at) VALUES (?, ?)", (identity, time.time())
            )

    def restore(self, identity: str) -> None:
        with self._db.write() as conn:
            conn.execute("DELETE FROM revoked_token WHERE token = ?", (identity,))

    def migrate(self, identity_of: IdentityOf) -> None:
        legacy = self._db.read().execute("SELECT token, revoked_at FROM revoked_token WHERE token LIKE '%.%'").fetchall()
        if not legacy:
            return
        with self._db.write() as conn:
            for row in legacy:
                identity = identity_of(row["token"])
                if identity is not None:
                    conn.execute("INSERT OR IGNORE INTO revoked_token(token, revoked_at) VALUES (?, ?)",
                                 (identity, row["revoked_at"]))
                conn.execute("DELETE FROM revoked_token WHERE token = ?", (row["token"],))


class RedisRevocationStore:
    PREFIX = "ocean_provider:revoked-id:"
    LEGACY_PREFIX = "ocean_provider:revoked:"

    def __init__(self, client: redis.Redis):
        self._redis = client

    def _do(self, fn, *args):
        try:
            return fn(*args)
        except redis.RedisError as exc:
            raise DependencyUnavailable("token store unavailable") from exc

    def is_revoked(self, identity: str) -> bool:
        return bool(self._do(self._redis.exists, self.PREFIX + identity))

    def revoke(self, identity: str) -> None:
        self._do(self._redis.set, self.PREFIX + identity, str(time.time()))

    def restore(self, identity: str) -> None:
        self._do(self._redis.delete, self.PREFIX + identity)

    def migrate(self, identity_of: IdentityOf) -> None:
        try:
            for key in self._redis.scan_iter(match=self.LEGACY_PREFIX + "*", count=500):
                token = key.decode()[len(self.LEGACY_PREFIX):]
                identity = identity_of(token)
                if identity is not None:
                    self._redis.set(self.PREFIX + identity, self._redis.get(key) or str(time.time()))
                self._redis.delete(key)
        except redis.RedisError:
            pass  # tried again at the next start; until then such a token is checked by identity only
