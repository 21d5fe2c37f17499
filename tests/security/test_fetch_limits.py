"""Item: every outbound fetch has a total deadline. A server trickling one byte a second kept an
unsigned fileinfo past gunicorn's worker timeout (the worker was SIGKILLed with the compute jobs
in it); an unmined transferTxId kept initialize waiting 30 s."""
import time

import pytest

from provider.devtools.consumer import mint

FETCH_TIMEOUT = 2


@pytest.fixture
def client(make_app):
    return make_app(FETCH_TIMEOUT=FETCH_TIMEOUT, DOWNLOAD_MIN_RATE=64).test_client()


def timed(call):
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


@pytest.mark.parametrize("path", ["/trickle-body/60", "/trickle-headers/60"])
def test_fileinfo_against_a_trickling_server_ends_at_the_deadline(client, hostile, path):
    body = {"type": "url", "url": hostile.url + path, "method": "GET", "checksum": 1}
    response, seconds = timed(lambda: client.post("/api/services/fileinfo", json=body))
    assert response.status_code == 200 and response.get_json()[0]["valid"] is False
    assert seconds < FETCH_TIMEOUT + 2
    deadline = time.monotonic() + 5
    while hostile.connections_open and time.monotonic() < deadline:
        time.sleep(0.1)  # the origin notices the closed connection at its next write
    assert hostile.connections_open == 0


def test_a_download_from_a_trickling_server_is_ended_when_it_is_too_slow(client, hostile, dev_chain, publisher):
    from tests.integration.test_access import Shop
    shop = Shop(dev_chain, publisher, client)
    asset = shop.publish([{"type": "url", "url": hostile.url + "/trickle-body/60", "method": "GET"}])
    tx = shop.order(asset, dev_chain.consumer)
    started = time.monotonic()
    response = shop.download(asset, dev_chain.consumer, tx)
    assert response.status_code == 200  # the headers came at once
    with pytest.raises(Exception):
        b"".join(response.response)  # the body is cut: 1 byte/s is below the minimum rate
    assert time.monotonic() - started < 3 * FETCH_TIMEOUT + 3


def test_initialize_with_an_unmined_order_answers_400_promptly(make_app, dev_chain, publisher):
    client = make_app(ORDER_WAIT=2).test_client()
    asset = publisher.publish(dev_chain.publisher_account, [{"type": "url", "url": "http://127.0.0.1:9/x", "method": "GET"}])
    mint(dev_chain.w3, dev_chain.publisher_account, asset.datatoken_address, dev_chain.consumer.address)
    assert client.get(f"/api/aquarius/assets/ddo/{asset.did}").status_code == 200  # indexed before the clock starts
    w3 = dev_chain.w3
    w3.provider.make_request("evm_setAutomine", [False])
    try:
        tx = w3.eth.send_transaction({"from": dev_chain.accounts[5].address, "to": dev_chain.accounts[6].address,
                                      "value": 1})
        response, seconds = timed(lambda: client.get("/api/services/initialize", query_string={
            "documentId": asset.did, "serviceId": "0", "consumerAddress": dev_chain.consumer.address,
            "transferTxId": tx.to_0x_hex()}))
    finally:
        w3.provider.make_request("evm_setAutomine", [True])
        w3.provider.make_request("evm_mine", [])
    assert response.status_code == 400 and "not mined yet" in response.get_json()["error"]
    assert seconds < 2 + 3  # the bounded wait, then the answer (it used to wait the 30 s receipt timeout)
