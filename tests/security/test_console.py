"""The operator console shows the provider's internals: only the operator gets in."""
from __future__ import annotations

import time

import pytest
from eth_account import Account

from provider.config import load_settings
from provider.errors import ConfigurationError
from tests.helpers import sign

TOKEN = "operator-token-0123456789"


@pytest.fixture
def console(make_app):
    admin = Account.create()
    app = make_app(CONSOLE_TOKEN=TOKEN, CONSOLE_ADMIN_ADDRESSES=f'["{admin.address}"]', INDEXER_ENABLED="false")
    return app.test_client(), admin


def _shows_internals(reply) -> bool:
    return b"Compute environments" in reply.data or b"Recent jobs" in reply.data


def test_no_token_a_wrong_token_or_a_forged_session_sees_nothing(console):
    client, _ = console
    for reply in (client.get("/console"), client.get("/console?token=operator-token-012345678X"),
                  client.get("/console", headers={"Authorization": "Bearer nope"})):
        assert reply.status_code == 401 and not _shows_internals(reply)
    future = int(time.time()) + 3600
    client.set_cookie("provider_console", f"{future}.{'0' * 64}", path="/console")
    assert client.get("/console").status_code == 401
    client.set_cookie("provider_console", f"{future + 1}.{'a' * 64}", path="/console")
    assert client.get("/console").status_code == 401


def test_the_token_opens_a_session_and_never_shows_in_the_page(console):
    client, _ = console
    opened = client.get(f"/console?token={TOKEN}")
    assert opened.status_code == 303 and opened.headers["Location"] == "/console"
    cookie = opened.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and TOKEN not in cookie
    page = client.get("/console")
    assert page.status_code == 200 and _shows_internals(page) and TOKEN.encode() not in page.data
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    assert client.get("/console", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_an_expired_session_is_refused(make_app):
    app = make_app(CONSOLE_TOKEN=TOKEN, INDEXER_ENABLED="false")
    access = app.extensions["provider"].console
    old = access.new_session(now=time.time() - 9 * 3600)
    assert not access.session_valid(old)
    client = app.test_client()
    client.set_cookie("provider_console", old, path="/console")
    assert client.get("/console").status_code == 401


def test_only_an_admin_signature_opens_it_and_only_once(console, dev_chain):
    client, admin = console
    stranger = Account.create()
    nonce = int(time.time() * 1000)
    refused = client.get("/console", query_string={"address": stranger.address, "nonce": nonce,
                                                    "signature": sign(stranger, f"console{stranger.address}{nonce}")})
    assert refused.status_code == 401 and not _shows_internals(refused)
    wrong_message = client.get("/console", query_string={"address": admin.address, "nonce": nonce,
                                                          "signature": sign(admin, f"{admin.address}{nonce}")})
    assert wrong_message.status_code == 401
    signed = {"address": admin.address, "nonce": nonce + 1,
              "signature": sign(admin, f"console{admin.address}{nonce + 1}")}
    assert client.get("/console", query_string=signed).status_code == 303
    replay = client.__class__(client.application).get("/console", query_string=signed)
    assert replay.status_code == 401


def test_off_in_production_unless_configured_and_a_weak_token_is_refused(dev_chain, tmp_path):
    base = {"PROVIDER_MODE": "production", "NETWORK_URL": dev_chain.url, "ADDRESS_FILE": str(dev_chain.address_file),
            "PROVIDER_PRIVATE_KEY": "0x" + "5b" * 32, "STORAGE_PATH": str(tmp_path / "p.db")}
    assert not load_settings(base).console.enabled
    assert load_settings(base | {"CONSOLE_TOKEN": TOKEN}).console.enabled
    assert not load_settings(base | {"CONSOLE_TOKEN": TOKEN, "CONSOLE_ENABLED": "false"}).console.enabled
    with pytest.raises(ConfigurationError):
        load_settings(base | {"CONSOLE_TOKEN": "short"})


def test_a_disabled_console_is_a_json_404(make_app):
    reply = make_app(CONSOLE_ENABLED="false", INDEXER_ENABLED="false").test_client().get("/console")
    assert reply.status_code == 404 and reply.is_json
