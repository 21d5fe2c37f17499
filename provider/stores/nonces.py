"""Nonce stores: a nonce is accepted only if strictly greater than the stored one, and is
stored in the same atomic step that accepts it.

The reference Provider checked `nonce >= stored` and wrote the nonce after the work was done,
so concurrent copies of one signed request could all pass (and Redis accepted equal nonces
outright). Here `consume` is the only way in: SQLite does compare-and-store inside a
`BEGIN IMMEDIATE` transaction, Redis inside WATCH/MULTI; both compare as `Decimal`, so
millisecond and nanosecond timestamps keep full precision.

Addresses are keys in checksummed form: the reference keyed on the raw string, so the same
signed download could be replayed with the address in another letter case.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Protocol

import redis

from provider.crypto.addresses import checksum
from provider.errors import DependencyUnavailable, InvalidRequest
from provider.stores.sqlite import Database


class NonceRejected(InvalidRequest):
    def __init__(self, stored: Decimal, offered: Decimal):
        super().__init__(f"nonce {offered} is not greater than {stored}")
        self.stored = stored
        self.offered = offered


class NonceStore(Protocol):
    def current(self, address: str) -> Decimal | None: ...

    def consume(self, address: str, nonce: Decimal) -> None:
        """Store `nonce` if it is greater than the stored one; else raise NonceRejected."""


def _key(address: str) -> str:
    return checksum(address)


def format_nonce(value: Decimal) -> str:
    """Canonical text of a nonce: integers without exponent or trailing zeros."""
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


def nonce_json(value: Decimal | None, missing=None) -> int | float | None:
    """A stored nonce as a JSON number (clients parse numbers and numeric strings alike)."""
    if value is None:
        return missing
    return int(value) if value == value.to_integral_value() else float(format_nonce(value))


class SqliteNonceStore:
    def __init__(self, db: Database):
        self._db = db

    def current(self, address: str) -> Decimal | None:
        row = self._db.read().execute(
            "SELECT nonce FROM user_nonce WHERE address = ?", (_key(address),)
        ).fetchone()
        return Decimal(row["nonce"]) if row else None

    def consume(self, address: str, nonce: Decimal) -> None:
        key = _key(address)
        # One statement, so one implicit transaction: SQLite holds its write lock for the
        # compare and the write, and copies of a request racing in other processes see either
        # no row or the new one. (An explicit BEGIN, SELECT, UPSERT, COMMIT did the same in
        # four round trips through the driver: a fifth of a signed request's store time.)
        written = self._db.atomic(
            "INSERT INTO user_nonce(address, nonce) VALUES (?, ?) "
            "ON CONFLICT(address) DO UPDATE SET nonce = excluded.nonce "
            "WHERE decimal_above(excluded.nonce, user_nonce.nonce)",
            (key, format_nonce(nonce)),
        ).rowcount
        if written != 1:
            raise NonceRejected(self.current(address) or Decimal(0), nonce)


class RedisNonceStore:
    PREFIX = "ocean_provider:nonce:"

    def __init__(self, client: redis.Redis):
        self._redis = client

    def current(self, address: str) -> Decimal | None:
        try:
            value = self._redis.get(self.PREFIX + _key(address))
        except redis.RedisError as exc:
            raise DependencyUnavailable("nonce store unavailable") from exc
        return Decimal(value.decode()) if value is not None else None

    def consume(self, address: str, nonce: Decimal) -> None:
        key = self.PREFIX + _key(address)
        try:
            with self._redis.pipeline() as pipe:
                while True:
                    try:
                        pipe.watch(key)
                        stored = pipe.get(key)
                        if stored is not None and nonce <= Decimal(stored.decode()):
                            pipe.unwatch()
                            raise NonceRejected(Decimal(stored.decode()), nonce)
                        pipe.multi()
                        pipe.set(key, format_nonce(nonce))
                        pipe.execute()
                        return
                    except redis.WatchError:
                        continue  # another process wrote first: compare again
        except redis.RedisError as exc:
            raise DependencyUnavailable("nonce store unavailable") from exc
