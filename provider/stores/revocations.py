"""Revoked auth tokens (SQLite or Redis)."""
from __future__ import annotations

import time
from typing import Protocol

import redis

from provider.errors import Unavailable
from provider.stores.sqlite import Database


class RevocationStore(Protocol):
    def is_revoked(self, token: str) -> bool: ...
    def revoke(self, token: str) -> None: ...
    def restore(self, token: str) -> None: ...


class SqliteRevocationStore:
    def __init__(self, db: Database):
        self._db = db

    def is_revoked(self, token: str) -> bool:
        row = self._db.read().execute("SELECT 1 FROM revoked_token WHERE token = ?", (token,)).fetchone()
        return row is not None

    def revoke(self, token: str) -> None:
        with self._db.write() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO revoked_token(token, revoked_at) VALUES (?, ?)", (token, time.time())
            )

    def restore(self, token: str) -> None:
        with self._db.write() as conn:
            conn.execute("DELETE FROM revoked_token WHERE token = ?", (token,))


class RedisRevocationStore:
    PREFIX = "ocean_provider:revoked:"

    def __init__(self, client: redis.Redis):
        self._redis = client

    def _do(self, fn, *args):
        try:
            return fn(*args)
        except redis.RedisError as exc:
            raise Unavailable("token store unavailable") from exc

    def is_revoked(self, token: str) -> bool:
        return bool(self._do(self._redis.exists, self.PREFIX + token))

    def revoke(self, token: str) -> None:
        self._do(self._redis.set, self.PREFIX + token, str(time.time()))

    def restore(self, token: str) -> None:
        self._do(self._redis.delete, self.PREFIX + token)
