"""The rate-limit rule and the in-memory counter, without servers."""
from provider.config import LimitSettings
from provider.ratelimit import RateLimiter, sliding_count, verdict
from provider.stores.ratecounters import MemoryRateCounter


def limits(per_ip=3, per_address=0, window=60.0):
    return LimitSettings(max_body_bytes=1000, rate_per_ip=per_ip, rate_per_address=per_address,
                         rate_window=window, proxy_hops=0)


def test_the_previous_window_counts_for_the_part_still_covered():
    assert sliding_count(previous=10, current=2, elapsed_fraction=0.25) == 10 * 0.75 + 2
    assert sliding_count(previous=10, current=2, elapsed_fraction=1.0) == 2


def test_verdict_allows_up_to_the_limit_and_says_when_to_retry():
    assert verdict(3, 3, "ip", 60, 0.5).allowed
    refused = verdict(3.5, 3, "ip", 60, 0.5)
    assert not refused.allowed and refused.scope == "ip" and refused.retry_after == 30
    assert verdict(10 ** 6, 0, "ip", 60, 0.5).allowed  # 0 = no limit


def test_a_burst_at_a_window_boundary_is_still_limited():
    now = [119.9]
    limiter = RateLimiter(limits(per_ip=3), MemoryRateCounter(), clock=lambda: now[0])
    assert all(limiter.check("1.2.3.4", []).allowed for _ in range(3))
    now[0] = 120.1  # a new fixed window: a fixed-window limiter would allow 3 more at once
    assert not limiter.check("1.2.3.4", []).allowed
    now[0] = 240.0  # two windows later everything has expired
    assert limiter.check("1.2.3.4", []).allowed


def test_memory_counter_forgets_windows_older_than_the_previous_one():
    counter = MemoryRateCounter()
    for index in range(5):
        counter.hit(f"k{index}", index, 60)
    assert {window for _, window in counter._counts} == {3, 4}


def test_a_broken_counter_lets_requests_through():
    class Down:
        def hit(self, *args):
            raise ConnectionError("redis is down")
    assert RateLimiter(limits(per_ip=1), Down()).check("1.2.3.4", []).allowed
