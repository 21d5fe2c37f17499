"""Item: nonces are numbers of bounded form. `1e1000000` took 32 s to convert while holding the
SQLite write lock, stalling every signed endpoint, the indexer and the scheduler."""
import time

import pytest
from eth_account import Account

from tests.helpers import sign


def create_token(client, account, nonce):
    return client.get("/api/services/createAuthToken", query_string={
        "address": account.address, "expiration": int(time.time()) + 600, "nonce": nonce,
        "signature": sign(account, f"{account.address}{nonce}")})


@pytest.mark.parametrize("nonce", ["1e1000000", "9" * 79, "1.0000000000000000001", "-1", "+5", " 5", "0x10",
                                   "NaN", "Infinity", "1_000", "1e5", "", "٣", "5\n"])
def test_nonces_of_any_other_form_are_refused_at_once(client, nonce):
    account = Account.create()
    started = time.monotonic()
    r = create_token(client, account, nonce)
    assert time.monotonic() - started < 2
    assert r.status_code == 400
    assert client.get(f"/api/services/nonce?userAddress={account.address}").get_json()["nonce"] == 0


@pytest.mark.parametrize("nonce", ["1", "1712345678902", "1712345678902.123", "9" * 78, "1." + "5" * 18])
def test_what_real_clients_send_is_accepted(client, nonce):
    assert create_token(client, Account.create(), nonce).status_code == 200


def test_a_json_number_nonce_is_read_as_its_decimal_text(client, dev_chain):
    account = Account.create()
    r = client.post("/api/services/compute", json={"consumerAddress": account.address, "nonce": 1e400,
                                                   "dataset": {"documentId": "x", "serviceId": "0", "transferTxId": "0x1"}})
    assert r.status_code == 400
