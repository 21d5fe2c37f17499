"""Item: rate limits cannot be turned against a victim. Unsigned requests naming a victim's
address (`/nonce?userAddress=VICTIM`) used to exhaust the victim's per-address budget, so the
victim's own signed request from another IP got 429."""
import time

from eth_account import Account

from tests.helpers import sign


def signed_token_request(client, account, nonce, ip):
    return client.get("/api/services/createAuthToken", environ_base={"REMOTE_ADDR": ip}, query_string={
        "address": account.address, "expiration": int(time.time()) + 600, "nonce": nonce,
        "signature": sign(account, f"{account.address}{nonce}")})


def test_unsigned_requests_naming_a_victim_do_not_spend_the_victims_budget(make_app):
    client = make_app(RATE_LIMIT_PER_IP=1000, RATE_LIMIT_PER_ADDRESS=5).test_client()
    victim = Account.create()
    for index in range(40):
        client.get(f"/api/services/nonce?userAddress={victim.address}", environ_base={"REMOTE_ADDR": "10.6.6.6"})
        client.post("/api/services/compute", json={"consumerAddress": victim.address}, environ_base={"REMOTE_ADDR": "10.6.6.6"})
    assert signed_token_request(client, victim, 1, "10.1.1.1").status_code == 200


def test_forged_signatures_naming_a_victim_do_not_count_either(make_app):
    client = make_app(RATE_LIMIT_PER_IP=1000, RATE_LIMIT_PER_ADDRESS=3).test_client()
    victim, attacker = Account.create(), Account.create()
    for nonce in range(1, 20):
        forged = client.get("/api/services/createAuthToken", environ_base={"REMOTE_ADDR": "10.6.6.6"}, query_string={
            "address": victim.address, "expiration": int(time.time()) + 600, "nonce": nonce,
            "signature": sign(attacker, f"{victim.address}{nonce}")})
        assert forged.status_code == 400
    assert signed_token_request(client, victim, 1, "10.1.1.1").status_code == 200


def test_a_verified_address_is_still_limited_and_every_ip_is_limited(make_app):
    client = make_app(RATE_LIMIT_PER_IP=10, RATE_LIMIT_PER_ADDRESS=2).test_client()
    account = Account.create()
    codes = [signed_token_request(client, account, n, f"10.2.2.{n}").status_code for n in (1, 2, 3)]
    assert codes == [200, 200, 429]
    ip_codes = [client.get("/", environ_base={"REMOTE_ADDR": "10.9.9.9"}).status_code for _ in range(12)]
    assert ip_codes.count(429) == 2
