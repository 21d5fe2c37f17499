import time

import pytest

from tests.helpers import sign


def nonce_of(client, address):
    return client.get(f"/api/services/nonce?userAddress={address}").get_json()["nonce"]


def create_token(client, account, nonce, expiration=None, v01=False):
    expiration = expiration or int(time.time()) + 3600
    return client.get("/api/services/createAuthToken", query_string={
        "address": account.address, "expiration": expiration, "nonce": nonce,
        "signature": sign(account, f"{account.address}{nonce}", v01=v01)})


@pytest.mark.parametrize("v01", [False, True])
def test_create_token_consumes_the_nonce(client, dev_chain, v01):
    consumer = dev_chain.consumer
    assert nonce_of(client, consumer.address) == 0
    first = create_token(client, consumer, 1, v01=v01)
    assert first.status_code == 200 and first.get_json()["token"].count(".") == 2
    assert nonce_of(client, consumer.address) == 1
    replay = create_token(client, consumer, 1, v01=v01)
    assert replay.status_code == 400
    assert replay.get_json()["errors"]["signature"] == "Invalid signature expected nonce (1) > current nonce (1)."
    assert create_token(client, consumer, 0).status_code == 400


def test_millisecond_nonce_after_a_counter(client, dev_chain):
    consumer = dev_chain.consumer
    assert create_token(client, consumer, 3).status_code == 200
    now_ms = int(time.time() * 1000)
    assert create_token(client, consumer, now_ms).status_code == 200
    assert nonce_of(client, consumer.address) == now_ms
    assert create_token(client, consumer, 4).status_code == 400


def test_wrong_signer_is_refused_and_does_not_move_the_nonce(client, dev_chain):
    consumer, other = dev_chain.consumer, dev_chain.accounts[3]
    r = client.get("/api/services/createAuthToken", query_string={
        "address": consumer.address, "expiration": int(time.time()) + 60, "nonce": 5,
        "signature": sign(other, f"{consumer.address}5")})
    assert r.status_code == 400 and r.get_json()["errors"]["signature"][0].startswith("Invalid signature")
    assert nonce_of(client, consumer.address) == 0


def test_missing_fields_give_validation_errors(client):
    r = client.get("/api/services/createAuthToken?address=0x" + "00" * 20)
    assert r.status_code == 400
    assert r.get_json()["errors"]["signature"] == ["The signature field is required."]
    r = client.get("/api/services/nonce?userAddress=bob")
    assert r.status_code == 400 and "userAddress" in r.get_json()["errors"]


def test_token_lifecycle(client, dev_chain):
    consumer, other = dev_chain.consumer, dev_chain.accounts[3]
    expiration = int(time.time()) + 3600
    token = create_token(client, consumer, 1, expiration).get_json()["token"]

    def delete(account, nonce, tok=token):
        return client.delete("/api/services/deleteAuthToken", query_string={
            "address": account.address, "token": tok, "nonce": nonce,
            "signature": sign(account, f"{account.address}{nonce}")})

    assert delete(other, 1).get_json() == {"error": "Token is invalid."}  # not the owner's token
    assert delete(consumer, 2).get_json() == {"success": "Token has been deactivated."}
    again = delete(consumer, 3)
    assert again.status_code == 400 and again.get_json() == {"error": "Token is deleted."}
    # the owner may create it again with a fresh signature: same token, valid again
    recreated = create_token(client, consumer, 4, expiration).get_json()["token"]
    assert recreated == token
    assert delete(consumer, 5).status_code == 200


def test_expired_tokens(client, dev_chain, app):
    consumer = dev_chain.consumer
    r = create_token(client, consumer, 1, expiration=int(time.time()) - 5)
    assert r.status_code == 400 and r.get_json() == {"error": "Token is expired."}
    tokens = app.extensions["provider"].tokens
    token = tokens.create(consumer.address, int(time.time()) + 1)
    time.sleep(2.1)
    with pytest.raises(Exception, match="Token is expired."):
        tokens.check(token, consumer.address)
