"""Request rate limits per client IP and per Ethereum address named in the request.

The rule (`sliding_count`, `verdict`) is pure; counting is delegated to a `RateCounter`
(memory or Redis). A counter that fails (Redis down) lets the request through and logs it:
the limiter protects the service, it must not become the reason it is unavailable.
"""
from __future__ import annotations

import logging
import math
import re
import time
from dataclasses import dataclass
from typing import Iterable

from provider.config import LimitSettings
from provider.stores.ratecounters import RateCounter

log = logging.getLogger(__name__)

# Request fields that name the Ethereum address a request acts for.
ADDRESS_FIELDS = ("consumerAddress", "userAddress", "address", "publisherAddress")
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


def sliding_count(previous: int, current: int, elapsed_fraction: float) -> float:
    """Requests in the sliding window ending now, estimated from two fixed windows: the
    previous window counts for the part of it the sliding window still covers."""
    return previous * (1.0 - elapsed_fraction) + current


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    scope: str = ""            # "ip" or "address" when refused
    retry_after: int = 0       # seconds


def verdict(count: float, limit: int, scope: str, window: float, elapsed_fraction: float) -> Verdict:
    if limit <= 0 or count <= limit:
        return Verdict(True)
    # The current fixed window ends in (1 - elapsed) * window seconds; by then the count drops.
    return Verdict(False, scope, max(1, math.ceil((1.0 - elapsed_fraction) * window)))


def addresses_in(fields: dict) -> list[str]:
    """The well-formed addresses a request names, lower-cased (one limit per account)."""
    found = []
    for name in ADDRESS_FIELDS:
        value = fields.get(name)
        if isinstance(value, str) and _ADDRESS.match(value):
            found.append(value.lower())
    return sorted(set(found))


class RateLimiter:
    def __init__(self, limits: LimitSettings, counter: RateCounter, clock=time.time):
        self.limits = limits
        self.counter = counter
        self.clock = clock

    @property
    def enabled(self) -> bool:
        return self.limits.rate_per_ip > 0 or self.limits.rate_per_address > 0

    def check(self, client_ip: str | None, addresses: Iterable[str]) -> Verdict:
        window = self.limits.rate_window
        now = self.clock()
        index = int(now // window)
        elapsed = (now - index * window) / window
        keys = []
        if self.limits.rate_per_ip > 0 and client_ip:
            keys.append(("ip", f"ip:{client_ip}", self.limits.rate_per_ip))
        if self.limits.rate_per_address > 0:
            keys.extend(("address", f"addr:{a}", self.limits.rate_per_address) for a in addresses)
        for scope, key, limit in keys:
            try:
                previous, current = self.counter.hit(key, index, window)
            except Exception as exc:  # a broken counter store must not take requests down
                log.warning("rate counter unavailable, request allowed: %s", type(exc).__name__)
                return Verdict(True)
            result = verdict(sliding_count(previous, current, elapsed), limit, scope, window, elapsed)
            if not result.allowed:
                return result
        return Verdict(True)
