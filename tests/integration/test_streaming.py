"""Downloads stream: memory stays flat for 1 GiB, and a client that leaves stops the upstream."""
import resource
import time

import pytest

from provider.devtools.origin import OriginServer
from tests.integration.test_access import Shop

GIB = 1024 ** 3


@pytest.fixture(scope="module")
def origin():
    server = OriginServer()
    yield server
    server.stop()


def rss_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.slow
def test_one_gib_download_keeps_memory_flat(make_app, dev_chain, publisher, origin):
    shop = Shop(dev_chain, publisher, make_app().test_client())
    asset = shop.publish([{"type": "url", "url": f"{origin.url}/big/{GIB}", "method": "GET"}])
    tx = shop.order(asset, dev_chain.consumer)
    before = rss_peak_mb()
    nonce = shop.nonce(dev_chain.consumer)
    from tests.helpers import sign
    response = shop.client.get("/api/services/download", buffered=False, query_string={
        "documentId": asset.did, "serviceId": "0", "consumerAddress": dev_chain.consumer.address,
        "transferTxId": tx, "fileIndex": 0, "nonce": nonce, "signature": sign(dev_chain.consumer, f"{asset.did}{nonce}")})
    assert response.status_code == 200 and response.headers["Content-Length"] == str(GIB)
    received = 0
    for chunk in response.response:
        received += len(chunk)
    response.close()
    assert received == GIB
    growth = rss_peak_mb() - before
    assert growth < 100, f"peak RSS grew by {growth:.0f} MB while streaming 1 GiB"


def test_a_client_that_disconnects_stops_the_upstream_transfer(make_app, dev_chain, publisher, origin):
    shop = Shop(dev_chain, publisher, make_app().test_client())
    asset = shop.publish([{"type": "url", "url": f"{origin.url}/big/{GIB}", "method": "GET"}])
    tx = shop.order(asset, dev_chain.consumer)
    from tests.helpers import sign
    nonce = shop.nonce(dev_chain.consumer)
    start, aborted = origin.bytes_sent["big"], origin.aborted["big"]
    response = shop.client.get("/api/services/download", buffered=False, query_string={
        "documentId": asset.did, "serviceId": "0", "consumerAddress": dev_chain.consumer.address,
        "transferTxId": tx, "fileIndex": 0, "nonce": nonce, "signature": sign(dev_chain.consumer, f"{asset.did}{nonce}")})
    chunks = iter(response.response)
    got = 0
    while got < 1024 * 1024:
        got += len(next(chunks))
    response.close()  # the client goes away
    deadline = time.monotonic() + 10
    while origin.aborted["big"] == aborted and time.monotonic() < deadline:
        time.sleep(0.05)
    # The provider closed its upstream connection: the origin's write failed, it did not just block.
    assert origin.aborted["big"] == aborted + 1
    assert origin.bytes_sent["big"] - start < 64 * 1024 * 1024
