"""Request rate limits per client IP and per Ethereum address acting.

Every request counts against its client IP. An address counts only once its signature or auth
token has been verified (`RequestAuthenticator` calls `enforce_address`): counting addresses a
request merely names would let anyone spend a victim's budget with unsigned requests
(`/nonce?userAddress=VICTIM`) until the victim's own signed requests got 429.

The rule (`sliding_count`, `verdict`) is pure; counting is delegated to a `RateCounter`
(memory or Redis). A counter that fails (Redis down) lets the request through and logs it:
the limiter protects the service, it must not become the reason it is unavailable.
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Iterable

from provider import metrics
from provider.config import LimitSettings
from provider.errors import RateLimited
from provider.stores.ratecounters import RateCounter

log = logging.getLogger(__name__)


def sliding_count(previous: int, current: int, elapsed_fraction: float) -> float:
    """Requests in the sliding window ending now, estimated from two fixed windows: the
    previous window counts for the part of it the sliding window still covers."""
    return previous * (1.0 - elapsed_fraction) + current


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    scope: str = ""            # "ip" or "address" when refused
    retry_after: int = 0       # seconds


ALLOWED = Verdict(True)  # one instance: a frozen dataclass costs microseconds to build, twice a request


def verdict(count: float, limit: int, scope: str, window: float, elapsed_fraction: float) -> Verdict:
    if limit <= 0 or count <= limit:
        return ALLOWED
    # The current fixed window ends in (1 - elapsed) * window seconds; by then the count drops.
    return Verdict(False, scope, max(1, math.ceil((1.0 - elapsed_fraction) * window)))


class RateLimiter:
    def __init__(self, limits: LimitSettings, counter: RateCounter, clock=time.time):
        self.limits = limits
        self.counter = counter
        self.clock = clock

    @property
    def enabled(self) -> bool:
        return self.limits.rate_per_ip > 0 or self.limits.rate_per_address > 0

    def check(self, client_ip: str | None, addresses: Iterable[str]) -> Verdict:
        limits = self.limits
        window = limits.rate_window
        now = self.clock()
        index = int(now // window)
        elapsed = (now - index * window) / window
        if limits.rate_per_ip > 0 and client_ip:
            result = self._count("ip", "ip:" + client_ip, limits.rate_per_ip, index, window, elapsed)
            if not result.allowed:
                return result
        if limits.rate_per_address > 0:
            for address in addresses:
                result = self._count("address", "addr:" + address, limits.rate_per_address, index, window, elapsed)
                if not result.allowed:
                    return result
        return ALLOWED

    def _count(self, scope: str, key: str, limit: int, index: int, window: float, elapsed: float) -> Verdict:
        try:
            previous, current = self.counter.hit(key, index, window)
        except Exception as exc:  # a broken counter store must not take requests down
            log.warning("rate counter unavailable, request allowed: %s", type(exc).__name__)
            return ALLOWED
        return verdict(sliding_count(previous, current, elapsed), limit, scope, window, elapsed)

    def enforce(self, client_ip: str | None = None, address: str | None = None) -> None:
        """Count one request of this IP, or of this verified address; raise RateLimited past
        the limit (`check` skips a scope whose limit is off)."""
        result = self.check(client_ip, (address.lower(),) if address else ())
        if not result.allowed:
            metrics.RATE_LIMITED.labels(scope=result.scope).inc()
            per = "this client" if result.scope == "ip" else "this address"
            raise RateLimited(f"Too many requests from {per}; retry in {result.retry_after} s.",
                                  result.retry_after)

    def enforce_address(self, address: str) -> None:
        """For the authenticator: an address whose signature or token was just verified."""
        self.enforce(address=address)
