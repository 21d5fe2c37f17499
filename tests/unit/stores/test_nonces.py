"""Nonce stores against real SQLite files and a real redis-server."""
import multiprocessing as mp
from decimal import Decimal

import pytest
import redis

from provider.stores.nonces import NonceRejected, RedisNonceStore, SqliteNonceStore, format_nonce
from provider.stores.sqlite import Database

ADDRESS = "0xe08A1dAe983BC701D05E492DB80e0144f8f4b909"


@pytest.fixture(params=["sqlite", "redis"])
def store(request, tmp_path):
    if request.param == "sqlite":
        return SqliteNonceStore(Database(tmp_path / "n.db"))
    client = redis.Redis.from_url(request.getfixturevalue("redis_url"))
    client.flushdb()
    return RedisNonceStore(client)


def test_strictly_increasing(store):
    assert store.current(ADDRESS) is None
    store.consume(ADDRESS, Decimal(5))
    for replay in (Decimal(5), Decimal(4), Decimal("4.999")):
        with pytest.raises(NonceRejected) as info:
            store.consume(ADDRESS, replay)
        assert info.value.stored == 5
    store.consume(ADDRESS, Decimal("5.5"))
    store.consume(ADDRESS, Decimal(1732543200123))  # a millisecond timestamp after a counter
    assert store.current(ADDRESS) == Decimal(1732543200123)


def test_address_case_does_not_open_a_second_counter(store):
    store.consume(ADDRESS, Decimal(10))
    with pytest.raises(NonceRejected):
        store.consume(ADDRESS.lower(), Decimal(10))
    assert store.current(ADDRESS.upper().replace("0X", "0x")) == 10


def test_nanosecond_nonces_keep_full_precision(store):
    big = Decimal("1732543200123456789")
    store.consume(ADDRESS, big)
    with pytest.raises(NonceRejected):
        store.consume(ADDRESS, big)
    store.consume(ADDRESS, big + 1)


def test_format_nonce():
    assert format_nonce(Decimal("5.000")) == "5"
    assert format_nonce(Decimal("1E+3")) == "1000"
    assert format_nonce(Decimal("2.50")) == "2.5"


def _race(kind, target, barrier, results, nonce):
    if kind == "sqlite":
        store = SqliteNonceStore(Database(target))
    else:
        store = RedisNonceStore(redis.Redis.from_url(target))
    barrier.wait()
    try:
        store.consume(ADDRESS, Decimal(nonce))
        results.put("accepted")
    except NonceRejected:
        results.put("rejected")


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_the_same_nonce_from_many_processes_is_accepted_once(kind, tmp_path, request):
    target = str(tmp_path / "race.db") if kind == "sqlite" else request.getfixturevalue("redis_url")
    if kind == "redis":
        redis.Redis.from_url(target).flushdb()
    else:
        Database(target)  # create the schema before the race
    ctx = mp.get_context("fork")
    workers = 8
    for round_nonce in (1, 2, 3):
        barrier, results = ctx.Barrier(workers), ctx.Queue()
        procs = [ctx.Process(target=_race, args=(kind, target, barrier, results, round_nonce))
                 for _ in range(workers)]
        for p in procs:
            p.start()
        outcomes = [results.get(timeout=60) for _ in procs]
        for p in procs:
            p.join(timeout=60)
        assert outcomes.count("accepted") == 1, outcomes


@pytest.mark.parametrize("durability, synchronous", [("process", 1), ("power", 2)])
def test_durability_sets_what_each_commit_waits_for(tmp_path, durability, synchronous):
    """synchronous=NORMAL (1) survives a killed process (tests/security/test_nonces.py kills
    one); FULL (2) waits for the disk on every commit, for an OS crash or power loss."""
    db = Database(tmp_path / "d.db", durability)
    assert db.read().execute("PRAGMA synchronous").fetchone()[0] == synchronous
    assert db.read().execute("PRAGMA journal_mode").fetchone()[0] == "wal"
