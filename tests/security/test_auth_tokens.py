"""Item: revoked auth tokens stay revoked in every encoding, and lifetimes are capped. Before
the fix `token + "="` (base64 padding PyJWT tolerates) was accepted after revocation."""
import time

import pytest
from eth_account import Account

from tests.helpers import sign

_nonce = [int(time.time() * 1000)]


def signed(account) -> dict:
    _nonce[0] += 1
    return {"nonce": _nonce[0], "signature": sign(account, f"{account.address}{_nonce[0]}")}


def create(client, account, expiration):
    return client.get("/api/services/createAuthToken",
                      query_string={"address": account.address, "expiration": expiration, **signed(account)})


def use(client, account, token):
    """A call authorised by the token alone: the full status of the account's jobs."""
    return client.get("/api/services/compute", query_string={"consumerAddress": account.address},
                      headers={"AuthToken": token})


def revoke(client, account, token):
    return client.delete("/api/services/deleteAuthToken",
                         query_string={"address": account.address, "token": token, **signed(account)})


def encodings(token: str) -> list[str]:
    header, payload, signature = token.split(".")
    return [token, token + "=", token + "==", f"{header}=.{payload}.{signature}", f"{header}.{payload}=.{signature}",
            f"{header}.{payload}.{signature}="]


def test_a_revoked_token_is_refused_in_every_encoding(client):
    account = Account.create()
    token = create(client, account, int(time.time()) + 600).get_json()["token"]
    accepted = [form for form in encodings(token) if use(client, account, form).status_code == 200]
    assert token in accepted and len(accepted) > 1  # PyJWT does accept padded forms
    assert revoke(client, account, token + "=").status_code == 200  # revoking any form revokes the token
    for form in encodings(token):
        response = use(client, account, form)
        assert response.status_code == 400, form
        if form in accepted:
            assert response.get_json()["errors"]["signature"] == ["Token is deleted."]


def test_revocation_survives_a_restart_of_the_provider(make_app, make_settings):
    first = make_app().test_client()
    account = Account.create()
    token = create(first, account, int(time.time()) + 600).get_json()["token"]
    assert revoke(first, account, token).status_code == 200
    second = make_app().test_client()  # the same database
    assert use(second, account, token + "=").status_code == 400


def test_token_lifetime_is_capped(make_app):
    client = make_app(AUTH_TOKEN_MAX_LIFETIME=3600).test_client()
    account = Account.create()
    too_long = create(client, account, int(time.time()) + 7200)
    assert too_long.status_code == 400 and "may not exceed 3600" in too_long.get_json()["error"]
    token = create(client, account, int(time.time()) + 3000).get_json()["token"]
    assert use(client, account, token).status_code == 200
    # a token made earlier under a longer cap is not accepted once the cap is lower
    lenient = make_app(AUTH_TOKEN_MAX_LIFETIME=86400).test_client()
    long_token = create(lenient, account, int(time.time()) + 80000).get_json()["token"]
    strict = make_app(AUTH_TOKEN_MAX_LIFETIME=3600).test_client()
    assert use(strict, account, long_token).status_code == 400


@pytest.mark.parametrize("token", ["x" * 5000, "a.b.c", "[" * 3000, "eyJhbGciOiJIUzI1NiJ9." + "W" * 4000 + ".x"])
def test_malformed_tokens_are_a_clean_400(client, token):
    response = use(client, Account.create(), token)
    assert response.status_code == 400
