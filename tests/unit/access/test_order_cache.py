"""Which order evidence is kept, without a chain."""
from provider.access.orders import FinalEvidenceCache, OrderEvidence


def evidence(block_timestamp: int, status: int = 1) -> OrderEvidence:
    return OrderEvidence(tx_hash="0x" + "1" * 64, status=status, order_tx_hash="0x" + "1" * 64,
                         block_timestamp=block_timestamp)


def test_only_final_successful_orders_are_kept():
    cache = FinalEvidenceCache(finality_seconds=900, clock=lambda: 10_000)
    cache.offer(("young",), evidence(10_000 - 899))
    cache.offer(("failed",), evidence(1_000, status=0))
    cache.offer(("final",), evidence(10_000 - 900))
    assert cache.get(("young",)) is None and cache.get(("failed",)) is None
    assert cache.get(("final",)).block_timestamp == 9_100


def test_negative_finality_keeps_nothing_and_the_size_is_bounded():
    off = FinalEvidenceCache(finality_seconds=-1, clock=lambda: 10_000)
    off.offer(("a",), evidence(1))
    assert off.get(("a",)) is None
    small = FinalEvidenceCache(finality_seconds=0, max_entries=2, clock=lambda: 10_000)
    for name in "abc":
        small.offer((name,), evidence(1))
    assert small.get(("a",)) is None and small.get(("c",)) is not None
