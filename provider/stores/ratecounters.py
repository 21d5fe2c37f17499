"""Request counters per key and time window, for rate limiting.

Two consecutive fixed windows per key are kept; the limiter weighs the previous window by how
much of it still overlaps the sliding window (see `provider.ratelimit.sliding_count`). The
in-memory counter serves one process; the Redis counter is shared by every process using that
Redis, which is what several gunicorn workers or replicas need.
"""
from __future__ import annotations

import threading
from typing import Protocol

import redis


class RateCounter(Protocol):
    def hit(self, key: str, window_index: int, window: float) -> tuple[int, int]:
        """Count one request for `key` in window `window_index`.

        Returns (count of the previous window, count of this window including this request).
        """


class MemoryRateCounter:
    """Per-process counters. Old windows are dropped as time moves on, so memory stays bounded
    by the keys seen in the last two windows."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()
        self._newest = 0

    def hit(self, key: str, window_index: int, window: float) -> tuple[int, int]:
        with self._lock:
            if window_index > self._newest:
                self._newest = window_index
                self._counts = {k: v for k, v in self._counts.items() if k[1] >= window_index - 1}
            current = self._counts.get((key, window_index), 0) + 1
            self._counts[(key, window_index)] = current
            return self._counts.get((key, window_index - 1), 0), current


class RedisRateCounter:
    """Counters shared through Redis; each key expires two windows after it was written."""

    def __init__(self, client: redis.Redis, prefix: str = "ratelimit") -> None:
        self._client = client
        self._prefix = prefix

    def hit(self, key: str, window_index: int, window: float) -> tuple[int, int]:
        current_key = f"{self._prefix}:{key}:{window_index}"
        pipe = self._client.pipeline(transaction=False)
        pipe.incr(current_key)
        pipe.expire(current_key, int(window * 2) + 1)
        pipe.get(f"{self._prefix}:{key}:{window_index - 1}")
        current, _, previous = pipe.execute()
        return int(previous or 0), int(current)
