"""Item: address policy and the readiness probe. fec0::/10 (deprecated site-local) passed as a
public address; /ready was not rate limited and took the database write lock on every call."""
import ipaddress
import threading
import time

import pytest

from provider.access.fetch import AddressRefused, SafeFetcher, UpstreamRequest
from provider.access.netpolicy import AddressPolicy, is_public


@pytest.mark.parametrize("address", ["fec0::1", "fec0:1::5", "feff:ffff::1", "::ffff:10.0.0.1", "fd00::1"])
def test_site_local_and_other_private_ipv6_ranges_are_not_public(address):
    assert not is_public(ipaddress.ip_address(address))
    fetcher = SafeFetcher(AddressPolicy(), resolver=lambda host, port: [address])
    with pytest.raises(AddressRefused):
        fetcher.open(UpstreamRequest("GET", "http://site-local.example/x"))


def test_ready_is_rate_limited(make_app):
    client = make_app(RATE_LIMIT_PER_IP=5, RATE_LIMIT_PER_ADDRESS=0).test_client()
    codes = [client.get("/ready").status_code for _ in range(8)]
    assert codes.count(429) == 3 and client.get("/health").status_code == 200


def test_ready_does_not_take_the_write_lock(make_app):
    app = make_app(RATE_LIMIT_PER_IP=0)
    db = app.extensions["provider"].db
    held, release = threading.Event(), threading.Event()

    def hold_the_write_lock():
        with db.write():
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold_the_write_lock)
    holder.start()
    held.wait(5)
    try:
        started = time.monotonic()
        response = app.test_client().get("/ready")
        assert response.status_code == 200 and response.get_json()["checks"]["store"] is True
        assert time.monotonic() - started < 2  # a writer would have waited for the lock (30 s)
    finally:
        release.set()
        holder.join()
