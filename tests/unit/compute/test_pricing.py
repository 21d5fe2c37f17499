"""Resource-priced compute rules (Ocean Node C2D v2), without servers or chains."""
from decimal import Decimal as D

import pytest

from provider.compute.pricing import (
    Authorization, Constraint, Grant, Price, Resource, ResourceRefused, billed_minutes, claim_seconds, cost, grant,
    lock_id, lock_refusal, min_lock_seconds,
)

RESOURCES = (Resource("cpu", D(4), D(1), D(2), constraints=(Constraint("ram", D(1), D(4)),)),
             Resource("ram", D(16), D(1), D(8)), Resource("disk", D(100), D(0), D(10)))


def test_missing_resources_get_the_minimum_and_requests_are_bounded():
    assert grant(RESOURCES, []).amounts == {"cpu": D(1), "ram": D(1), "disk": D(0)}
    assert grant(RESOURCES, [{"id": "cpu", "amount": 2}, {"id": "ram", "amount": 6}]).amounts["ram"] == D(6)
    # below the minimum (ocean.js asks for disk 0) is raised to it
    assert grant(RESOURCES, [{"id": "cpu", "amount": 0}, {"id": "ram", "amount": 2}]).amounts["cpu"] == D(1)
    for request, text in (([{"id": "cpu", "amount": 3}], "at most 2"),
                          ([{"id": "gpu", "amount": 1}], "No such resource"),
                          ([{"id": "cpu", "amount": 1}, {"id": "cpu", "amount": 1}], "twice"),
                          ([{"id": "cpu", "amount": -1}], "between 0"),
                          ([{"id": "cpu", "amount": "NaN"}], "between 0"),
                          ([{"id": "cpu", "amount": True}], "numbers"),
                          ([{"id": "cpu", "amount": 2}, {"id": "ram", "amount": 1}], "at least 1 per cpu"),
                          ([{"id": "cpu", "amount": 1}, {"id": "ram", "amount": 5}], "at most 4 per cpu")):
        with pytest.raises(ResourceRefused, match=text):
            grant(RESOURCES, request)


def test_what_other_jobs_hold_is_not_free():
    with pytest.raises(ResourceRefused, match="free now"):
        grant(RESOURCES, [{"id": "cpu", "amount": 2}, {"id": "ram", "amount": 2}], in_use={"cpu": D(3)})
    assert grant(RESOURCES, [], in_use={"cpu": D(3)}).amounts["cpu"] == D(1)


def test_cost_is_price_times_amount_times_whole_minutes_in_base_units():
    price = Price("0xToken", {"cpu": D("1"), "ram": D("0.5")})
    granted = Grant({"cpu": D(1), "ram": D(1), "disk": D(0)})
    assert cost(price, granted, 900, 60, 18) == 225 * 10 ** 17  # 1.5 per minute x 15 minutes
    assert cost(price, granted, 61, 60, 6) == 3 * 10 ** 6  # 2 minutes (rounded up) x 1.5
    assert cost(price, granted, 1, 60, 18) == cost(price, granted, 60, 60, 18)  # the environment's minimum
    assert billed_minutes(0, 0) == 0 and billed_minutes(86400 * 2, 0) == 2880  # no wrap at a day
    assert cost(Price("0x", {"cpu": D("0.0000001")}), Grant({"cpu": D(1)}), 60, 0, 6) == 0  # below one base unit


def test_the_claim_is_the_time_run_within_minimum_and_grant():
    assert claim_seconds(30, 60, 900) == 60
    assert claim_seconds(300, 60, 900) == 300
    assert claim_seconds(5000, 60, 900) == 900


def test_lock_length_and_id():
    assert min_lock_seconds(900, 60) == 900 + 60 + 3600
    assert lock_id("abc") == int("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", 16)


AUTH = Authorization("0xPayee", max_locked_amount=100, current_locked_amount=20, max_lock_seconds=5000,
                     max_lock_counts=2, current_locks=1)


@pytest.mark.parametrize("auths,available,amount,expiry,text", [
    ([], 100, 10, 100, "No escrow auths"),
    ([AUTH, AUTH], 100, 10, 100, "More than one"),
    ([AUTH], 100, 81, 100, "maxLockedAmount"),
    ([AUTH], 100, 10, 5001, "maxLockSeconds"),
    ([Authorization("0x", 100, 0, 5000, 1, 1)], 100, 10, 100, "concurrent locks"),
    ([AUTH], 9, 10, 100, "enough funds"),
    ([AUTH], 100, 0, 100, "costs nothing"),
    ([AUTH], 100, 80, 5000, None),
])
def test_escrow_pre_checks(auths, available, amount, expiry, text):
    refusal = lock_refusal(auths, available, amount, expiry)
    assert refusal is None if text is None else text in refusal
