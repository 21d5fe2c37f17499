"""fileinfo, initialize and download with real orders on anvil and files on a local origin."""
from __future__ import annotations

import hashlib
import json
import time

import pytest
from hexbytes import HexBytes
from web3.logs import DISCARD

from provider.access.fees import provider_data, sign_provider_fee
from provider.access.orders import _block_timestamp, read_order_evidence
from provider.chain.client import Chains, RpcFailed
from provider.chain.contracts import abi
from provider.devtools.consumer import mint, reuse_order, start_order
from provider.devtools.origin import OriginServer
from tests.helpers import count_rpc_posts, sign

CSV = b"x,y\n1,2\n3,4\n"


@pytest.fixture(scope="module")
def origin():
    server = OriginServer()
    server.add("data.csv", CSV, "text/csv")
    server.add("QmCid", b"ipfs content", "text/plain")
    server.add("artx", b"% 1. Title: Branin Function", "application/octet-stream")
    yield server
    server.stop()


@pytest.fixture
def access_app(make_app, origin):
    return make_app(IPFS_GATEWAY=origin.url, ARWEAVE_GATEWAY=origin.url + "/ar/")


@pytest.fixture
def client(access_app):
    return access_app.test_client()


class Shop:
    """Publisher and consumer actions against the test chain and one provider app."""

    def __init__(self, dev_chain, publisher, client):
        self.chain, self.publisher, self.client = dev_chain, publisher, client

    def publish(self, files, consumer=None, **options):
        asset = self.publisher.publish(self.chain.publisher_account, files, **options)
        for account in (consumer or self.chain.consumer, self.chain.accounts[3]):
            mint(self.chain.w3, self.chain.publisher_account, asset.datatoken_address, account.address)
        return asset

    def initialize(self, asset, consumer, service_id="0", **extra):
        return self.client.get("/api/services/initialize", query_string={
            "documentId": asset.did, "serviceId": service_id, "consumerAddress": consumer.address, **extra})

    def order(self, asset, consumer, service_index=0, service_id="0", fee=None):
        fee = fee or self.initialize(asset, consumer, service_id).get_json()["providerFee"]
        return start_order(self.chain.w3, consumer, asset.datatoken_address, service_index, fee)

    def nonce(self, account):
        return self.client.get(f"/api/services/nonce?userAddress={account.address}").get_json()["nonce"] + 1

    def download(self, asset, consumer, tx, file_index=0, service_id="0", nonce=None, signer=None,
                 headers=None, **extra):
        nonce = self.nonce(consumer) if nonce is None else nonce
        signature = sign(signer or consumer, f"{asset.did}{nonce}", v01=True)
        return self.client.get("/api/services/download", headers=headers or {}, query_string={
            "documentId": asset.did, "serviceId": service_id, "consumerAddress": consumer.address,
            "transferTxId": tx, "fileIndex": file_index, "nonce": nonce, "signature": signature, **extra})


@pytest.fixture
def shop(dev_chain, publisher, client):
    return Shop(dev_chain, publisher, client)


def url_file(origin, path="/files/data.csv", **extra):
    return {"type": "url", "url": origin.url + path, "method": "GET", **extra}


# ---- fileinfo ------------------------------------------------------------------------------

def test_fileinfo_for_a_raw_url_with_checksum(client, origin):
    r = client.post("/api/services/fileinfo", json={**url_file(origin), "checksum": True})
    assert r.status_code == 200
    assert r.get_json() == [{"index": 0, "valid": True, "type": "url", "contentLength": str(len(CSV)),
                             "contentType": "text/csv", "filename": "data.csv", "name": "data.csv",
                             "checksum": hashlib.sha256(CSV).hexdigest(), "checksumType": "sha256"}]
    no_checksum = client.post("/api/services/fileinfo", json=url_file(origin)).get_json()[0]
    assert "checksum" not in no_checksum


def test_fileinfo_for_a_published_asset_and_unreachable_files(client, shop, origin):
    asset = shop.publish([url_file(origin), url_file(origin, "/files/missing.csv")])
    r = client.post("/api/services/fileinfo", json={"did": asset.did, "serviceId": "0", "checksum": 1})
    first, second = r.get_json()
    assert first["valid"] and first["checksum"] == hashlib.sha256(CSV).hexdigest()
    assert second == {"index": 1, "valid": False, "type": "url"}
    assert origin.url not in r.get_data(as_text=True)  # the URL never leaves the provider
    bad = client.post("/api/services/fileinfo", json={"did": asset.did, "serviceId": "9"})
    assert bad.status_code == 400 and bad.get_json() == {"error": "Provider Ganache: Invalid serviceId."}


@pytest.mark.parametrize("obj,message", [
    ({"type": "nope"}, "Unsupported type nope"),
    ({"type": "ipfs"}, "malformed service files, missing required keys."),
    ({"type": "url"}, "malformed service files, missing required keys."),
    ({"type": "arweave"}, "malformed service files, missing transactionId."),
    ({"type": "url", "url": "http://x/y", "method": "delete"}, "Unsafe method delete."),
    ({"type": "url", "url": "http://x/y", "headers": '{"a": "b"}'}, "malformed file object."),
    ({"type": "url", "url": "some/relative/path"}, "Invalid file name format. It was not possible to get the file name."),
    ({"type": "graphql", "query": "{a}"}, "missing graphql endpoint"),
    ({"type": "graphql", "url": "http://x/g"}, "missing graphql query"),
    ({"type": "smartcontract", "abi": {}}, "malformed smartcontract type, missing contract address"),
])
def test_fileinfo_validation_messages(client, obj, message):
    r = client.post("/api/services/fileinfo", json=obj)
    assert r.status_code == 400 and r.get_json() == {"error": message}


def test_fileinfo_loopback_is_invalid_when_non_public_ips_are_not_allowed(make_app, origin):
    strict = make_app(ALLOW_NON_PUBLIC_IP="false").test_client()
    for url in (f"{origin.url}/files/data.csv", "http://169.254.169.254/latest/meta-data/",
                f"http://[::ffff:127.0.0.1]:{origin.port}/files/data.csv", f"http://2130706433:{origin.port}/files/data.csv"):
        r = strict.post("/api/services/fileinfo", json={"type": "url", "url": url, "method": "GET"})
        assert r.status_code == 200 and r.get_json() == [{"index": 0, "valid": False, "type": "url"}]


def test_fileinfo_ipfs_arweave_graphql(client, origin):
    ipfs = client.post("/api/services/fileinfo", json={"type": "ipfs", "hash": "QmCid"}).get_json()[0]
    assert ipfs["valid"] and ipfs["contentLength"] == "12" and ipfs["filename"] != "QmCid"
    ar = client.post("/api/services/fileinfo", json={"type": "arweave", "transactionId": "artx"}).get_json()[0]
    assert ar["valid"] and ar["filename"] == ""
    missing = client.post("/api/services/fileinfo", json={"type": "arweave", "transactionId": "nope"}).get_json()[0]
    assert missing["valid"] is False


def test_fileinfo_smartcontract(client, dev_chain):
    ocean = dev_chain.contracts["Ocean"]
    symbol_abi = {"name": "symbol", "inputs": [], "outputs": [{"name": "", "type": "string"}],
                  "stateMutability": "view", "type": "function"}
    r = client.post("/api/services/fileinfo", json={"type": "smartcontract", "address": ocean, "chainId": 8996,
                                                   "abi": symbol_abi, "checksum": True})
    entry = r.get_json()[0]
    assert entry["valid"] and entry["contentType"] == "application/json"
    assert entry["checksum"] == hashlib.sha256(json.dumps("OCEAN").encode()).hexdigest()
    balance_abi = {"name": "balanceOf", "inputs": [{"name": "account", "type": "address"}],
                   "outputs": [{"name": "", "type": "uint256"}], "stateMutability": "view", "type": "function"}
    no_args = client.post("/api/services/fileinfo", json={"type": "smartcontract", "address": ocean,
                                                         "chainId": 8996, "abi": balance_abi})
    assert no_args.status_code == 400 and no_args.get_json() == {"error": "Missing parameters"}
    with_args = client.post("/api/services/fileinfo", json={
        "type": "smartcontract", "address": ocean, "chainId": 8996, "abi": balance_abi,
        "userdata": {"account": dev_chain.consumer.address.lower()}})
    assert with_args.get_json()[0]["valid"]
    write_abi = dict(balance_abi, name="transfer", stateMutability="nonpayable")
    refused = client.post("/api/services/fileinfo", json={"type": "smartcontract", "address": ocean,
                                                          "chainId": 8996, "abi": write_abi})
    assert refused.get_json() == {"error": "only view or pure functions are allowed"}


# ---- initialize ----------------------------------------------------------------------------

def test_initialize_returns_a_fee_the_contract_accepts(shop, dev_chain, origin):
    asset = shop.publish([url_file(origin)])
    r = shop.initialize(asset, dev_chain.consumer)
    body = r.get_json()
    assert r.status_code == 200 and body["datatoken"] == asset.datatoken_address
    fee = body["providerFee"]
    assert fee["providerFeeAddress"] == dev_chain.provider_account.address
    assert fee["providerFeeToken"] == dev_chain.contracts["Ocean"]
    assert fee["providerFeeAmount"] == "0" and fee["validUntil"] == 0 and fee["v"] in (27, 28)
    data = json.loads(bytes.fromhex(fee["providerData"][2:]))
    assert list(data) == ["environment", "timestamp", "dt", "id"]
    assert data["dt"] == asset.datatoken_address and data["id"] == "0"
    tx = start_order(dev_chain.w3, dev_chain.consumer, asset.datatoken_address, 0, fee)  # reverts if the signature is wrong
    reply = shop.initialize(asset, dev_chain.consumer, transferTxId=tx).get_json()
    assert reply == {"validOrder": tx}
    stranger = shop.initialize(asset, dev_chain.accounts[3], transferTxId=tx).get_json()
    assert "validOrder" not in stranger and "providerFee" in stranger


def test_initialize_refusals(shop, dev_chain, origin, client):
    asset = shop.publish([url_file(origin)])
    assert client.get("/api/services/initialize", query_string={
        "documentId": "did:op:" + "12" * 32, "serviceId": "0", "consumerAddress": dev_chain.consumer.address,
    }).get_json() == {"error": "Cannot resolve DID"}
    missing = client.get("/api/services/initialize?documentId=" + asset.did).get_json()
    assert set(missing["errors"]) == {"serviceId", "consumerAddress"}
    bad_file = shop.publish([url_file(origin, "/files/missing.csv")])
    r = shop.initialize(bad_file, dev_chain.consumer, fileIndex=0)
    assert r.status_code == 400 and "Asset URL not found, not available or invalid." in r.get_json()["error"]
    compute = shop.publish([url_file(origin)], service_type="compute", compute={"allowRawAlgorithm": False})
    assert shop.initialize(compute, dev_chain.consumer, service_id="1").get_json() == {
        "error": "Provider Ganache: Use the initializeCompute endpoint to initialize compute jobs."}


@pytest.mark.parametrize("state", [1, 2, 3, 4])
def test_disabled_assets_are_not_consumable(shop, dev_chain, origin, state):
    asset = shop.publish([url_file(origin)])
    tx = shop.order(asset, dev_chain.consumer)
    shop.publisher.set_state(dev_chain.publisher_account, asset.nft_address, state)
    expected = {"error": "Provider Ganache: Asset is not consumable."}
    assert shop.initialize(asset, dev_chain.consumer).get_json() == expected
    r = shop.download(asset, dev_chain.consumer, tx)
    assert r.status_code == 400 and r.get_json() == expected


def test_unlisted_assets_stay_consumable(shop, dev_chain, origin):
    asset = shop.publish([url_file(origin)])
    tx = shop.order(asset, dev_chain.consumer)
    shop.publisher.set_state(dev_chain.publisher_account, asset.nft_address, 5)
    assert shop.download(asset, dev_chain.consumer, tx).data == CSV


def test_credentials_allow_and_deny(shop, dev_chain, origin):
    consumer, other = dev_chain.consumer, dev_chain.accounts[3]
    deny = shop.publish([url_file(origin)], credentials={
        "allow": [], "deny": [{"type": "address", "values": [consumer.address.lower()]}]})
    assert shop.initialize(deny, consumer).get_json() == {"error": (
        f"Provider Ganache: Error: Access to asset {deny.did} was denied with code: "
        "ConsumableCodes.CREDENTIAL_IN_DENY_LIST.")}
    assert shop.initialize(deny, other).status_code == 200
    allow = shop.publish([url_file(origin)], credentials={
        "allow": [{"type": "address", "values": [other.address]}], "deny": []})
    assert shop.initialize(allow, consumer).get_json()["error"].endswith("CREDENTIAL_NOT_IN_ALLOW_LIST.")
    tx = shop.order(allow, other)
    assert shop.download(allow, other, tx).status_code == 200


# ---- download: happy paths -----------------------------------------------------------------

def test_download_after_an_order(shop, dev_chain, origin):
    asset = shop.publish([url_file(origin), {"type": "url", "url": origin.url + "/secret", "method": "GET",
                                              "headers": {"X-Api-Key": "k1"}}])
    tx = shop.order(asset, dev_chain.consumer)
    r = shop.download(asset, dev_chain.consumer, tx)
    assert r.status_code == 200 and r.data == CSV
    assert r.headers["Content-Disposition"] == "attachment;filename=data.csv"
    assert r.headers["Content-Type"] == "text/csv"
    secret = shop.download(asset, dev_chain.consumer, tx[2:], file_index=1)  # tx id without 0x
    assert secret.data == b"top secret data"
    assert "k1" not in str(secret.headers) and origin.url not in str(secret.headers)
    out_of_range = shop.download(asset, dev_chain.consumer, tx, file_index=2)
    assert out_of_range.status_code == 400


def test_a_fresh_orders_download_asks_the_node_once_for_the_asset_state_and_the_receipt(
        shop, dev_chain, origin, access_app):
    asset = shop.publish([url_file(origin)])
    tx = shop.order(asset, dev_chain.consumer)
    sent = count_rpc_posts(access_app.extensions["provider"].chains.get(8996))
    r = shop.download(asset, dev_chain.consumer, tx)
    assert r.status_code == 200 and r.data == CSV
    def methods(body):
        return [call["method"] for call in (body if isinstance(body, list) else [body])]
    reads = [methods(body) for body in sent if {"eth_call", "eth_getTransactionReceipt"} & set(methods(body))]
    assert reads == [["eth_call", "eth_getTransactionReceipt"]]  # one round trip, one batch
    refused = shop.download(asset, dev_chain.accounts[3], tx)  # another's order: still refused
    assert refused.status_code == 400 and "consumer or the payer" in refused.get_json()["error"]


def test_download_with_an_auth_token_and_userdata(shop, dev_chain, origin, access_app):
    asset = shop.publish([url_file(origin, "/echo"), {"type": "url", "url": origin.url + "/echo", "method": "POST"}])
    tx = shop.order(asset, dev_chain.consumer)
    token = access_app.extensions["provider"].tokens.create(dev_chain.consumer.address, int(time.time()) + 600)
    nonce = shop.nonce(dev_chain.consumer)
    r = shop.client.get("/api/services/download", headers={"AuthToken": token}, query_string={
        "documentId": asset.did, "serviceId": "0", "consumerAddress": dev_chain.consumer.address,
        "transferTxId": tx, "fileIndex": 0, "nonce": nonce, "userdata": json.dumps({"city": "Berlin"})})
    assert r.status_code == 200 and json.loads(r.data)["query"] == {"city": "Berlin"}
    post = shop.download(asset, dev_chain.consumer, tx, file_index=1, userdata=json.dumps({"n": 3}))
    assert json.loads(post.data)["body"] == {"n": 3} and json.loads(post.data)["method"] == "POST"


def test_download_graphql_ipfs_arweave_and_smartcontract(shop, dev_chain, origin):
    asset = shop.publish([
        {"type": "graphql", "url": origin.url + "/graphql", "query": "query($id: ID){thing(id: $id)}"},
        {"type": "ipfs", "hash": "QmCid"},
        {"type": "arweave", "transactionId": "artx"},
        {"type": "smartcontract", "address": dev_chain.contracts["Ocean"], "chainId": 8996,
         "abi": {"name": "decimals", "inputs": [], "outputs": [{"name": "", "type": "uint8"}],
                 "stateMutability": "view", "type": "function"}},
    ])
    tx = shop.order(asset, dev_chain.consumer)
    graphql = shop.download(asset, dev_chain.consumer, tx, 0, userdata=json.dumps({"id": "7"}))
    assert json.loads(graphql.data)["data"]["variables"] == {"id": "7"}
    ipfs = shop.download(asset, dev_chain.consumer, tx, 1)
    assert ipfs.data == b"ipfs content" and "QmCid" not in ipfs.headers["Content-Disposition"]
    assert shop.download(asset, dev_chain.consumer, tx, 2).data.startswith(b"% 1. Title: Branin Function")
    assert json.loads(shop.download(asset, dev_chain.consumer, tx, 3).data) == 18


def test_range_download(shop, dev_chain, origin):
    asset = shop.publish([url_file(origin, "/big/100000")])
    tx = shop.order(asset, dev_chain.consumer)
    r = shop.download(asset, dev_chain.consumer, tx, headers={"Range": "bytes=1000-1999"})
    from provider.devtools.origin import pattern_bytes
    assert r.status_code == 206 and r.data == pattern_bytes(1000, 2000)
    assert r.headers["Content-Range"] == "bytes 1000-1999/100000"


def test_upstream_errors_keep_their_status_but_not_the_url(shop, dev_chain, origin):
    asset = shop.publish([url_file(origin, "/files/gone.csv"), url_file(origin, "/secret")])
    tx = shop.order(asset, dev_chain.consumer)
    gone = shop.download(asset, dev_chain.consumer, tx, 0)
    assert gone.status_code == 404 and origin.url not in gone.get_data(as_text=True)
    assert shop.download(asset, dev_chain.consumer, tx, 1).status_code == 401


# ---- download: attacks ---------------------------------------------------------------------

def test_order_placed_by_another_consumer(shop, dev_chain, origin):
    asset = shop.publish([url_file(origin)])
    tx = shop.order(asset, dev_chain.consumer)
    thief = dev_chain.accounts[3]
    r = shop.download(asset, thief, tx)
    assert r.status_code == 400 and "is not the consumer or the payer" in r.get_json()["error"]


def test_order_for_another_service_index(shop, dev_chain, origin):
    cheap = {"id": "cheap", "type": "access", "files": None, "timeout": 0}
    asset = shop.publisher.publish(dev_chain.publisher_account, [url_file(origin)])
    nft, dt = asset.nft_address, asset.datatoken_address
    ddo = shop.publisher.make_ddo(nft, dt, [url_file(origin)])
    cheap.update(files=ddo["services"][0]["files"], datatokenAddress=dt, serviceEndpoint="http://127.0.0.1:8030")
    ddo["services"].append(cheap)
    shop.publisher.set_metadata(dev_chain.publisher_account, nft, ddo, 2)
    mint(dev_chain.w3, dev_chain.publisher_account, dt, dev_chain.consumer.address)
    tx = shop.order(asset, dev_chain.consumer, service_index=1, service_id="cheap")
    assert shop.download(asset, dev_chain.consumer, tx, service_id="cheap").status_code == 200
    r = shop.download(asset, dev_chain.consumer, tx, service_id="0")
    assert r.status_code == 400 and "Cannot find the event for the provider fee" in r.get_json()["error"]


def test_order_on_another_datatoken_carrying_this_assets_fee(shop, dev_chain, origin):
    """The fee signed for asset A is put into an order of datatoken B: events from B must not
    count for A (the reference decoded logs by topic only)."""
    target = shop.publish([url_file(origin)])
    decoy = shop.publish([url_file(origin)])
    fee_for_target = shop.initialize(target, dev_chain.consumer).get_json()["providerFee"]
    tx = start_order(dev_chain.w3, dev_chain.consumer, decoy.datatoken_address, 0, fee_for_target)
    r = shop.download(target, dev_chain.consumer, tx)
    assert r.status_code == 400 and "Cannot find the event for the provider fee" in r.get_json()["error"]


def test_expired_order(shop, dev_chain, origin):
    asset = shop.publish([url_file(origin)], timeout=1)
    tx = shop.order(asset, dev_chain.consumer)
    time.sleep(2.2)
    r = shop.download(asset, dev_chain.consumer, tx)
    assert r.status_code == 400 and r.get_json()["error"].endswith("The order has expired.")


def test_provider_fee_signed_by_another_key_or_for_another_datatoken(shop, dev_chain, origin):
    asset = shop.publish([url_file(origin)])
    rogue = dev_chain.accounts[5]
    data = provider_data(None, time.time(), asset.datatoken_address, "0")
    forged = sign_provider_fee("0x" + bytes(rogue.key).hex(), rogue.address, dev_chain.contracts["Ocean"], 0, data, 0)
    tx = start_order(dev_chain.w3, dev_chain.consumer, asset.datatoken_address, 0, forged.as_json())
    r = shop.download(asset, dev_chain.consumer, tx)
    assert r.status_code == 400 and "not issued by this provider" in r.get_json()["error"]

    other = shop.publish([url_file(origin)])
    fee_for_other = shop.initialize(other, dev_chain.consumer).get_json()["providerFee"]
    tx = start_order(dev_chain.w3, dev_chain.consumer, asset.datatoken_address, 0, fee_for_other)
    r = shop.download(asset, dev_chain.consumer, tx)
    assert r.status_code == 400 and "Cannot find the event for the provider fee" in r.get_json()["error"]


def test_reusing_someone_elses_order(shop, dev_chain, origin):
    asset = shop.publish([url_file(origin)])
    owner_tx = shop.order(asset, dev_chain.consumer)
    thief = dev_chain.accounts[3]
    fee = shop.initialize(asset, thief).get_json()["providerFee"]
    reuse_tx = reuse_order(dev_chain.w3, thief, asset.datatoken_address, owner_tx, fee)
    r = shop.download(asset, thief, reuse_tx)
    assert r.status_code == 400 and "is not the consumer or the payer" in r.get_json()["error"]
    # the owner's own reuse works
    own_fee = shop.initialize(asset, dev_chain.consumer).get_json()["providerFee"]
    own_reuse = reuse_order(dev_chain.w3, dev_chain.consumer, asset.datatoken_address, owner_tx, own_fee)
    assert shop.download(asset, dev_chain.consumer, own_reuse).data == CSV


def test_replayed_download_signature(shop, dev_chain, origin):
    asset = shop.publish([url_file(origin)])
    tx = shop.order(asset, dev_chain.consumer)
    assert shop.download(asset, dev_chain.consumer, tx, nonce=7).status_code == 200
    replay = shop.download(asset, dev_chain.consumer, tx, nonce=7)
    assert replay.status_code == 400
    assert replay.get_json()["errors"]["signature"] == "Invalid signature expected nonce (7) > current nonce (7)."
    case_trick = shop.client.get("/api/services/download", query_string={
        "documentId": asset.did, "serviceId": "0", "consumerAddress": dev_chain.consumer.address.lower(),
        "transferTxId": tx, "fileIndex": 0, "nonce": 7, "signature": sign(dev_chain.consumer, f"{asset.did}7")})
    assert case_trick.status_code == 400
    forged = shop.download(asset, dev_chain.consumer, tx, signer=dev_chain.accounts[3])
    assert forged.status_code == 400 and forged.get_json()["errors"]["signature"][0].startswith("Invalid signature")


def test_unknown_did_and_bogus_transaction(shop, dev_chain, origin):
    asset = shop.publish([url_file(origin)])
    r = shop.client.get("/api/services/download", query_string={
        "documentId": "did:op:" + "34" * 32, "serviceId": "0", "consumerAddress": dev_chain.consumer.address,
        "transferTxId": "0x" + "00" * 32, "fileIndex": 0, "nonce": 1,
        "signature": sign(dev_chain.consumer, "did:op:" + "34" * 32 + "1")})
    assert r.status_code == 400 and r.get_json() == {"error": "Cannot resolve DID"}
    bogus = shop.download(asset, dev_chain.consumer, "0x" + "ab" * 32)
    assert bogus.status_code == 400 and "could not be validated" in bogus.get_json()["error"]
    garbage = shop.download(asset, dev_chain.consumer, "not-a-tx")
    assert garbage.status_code == 400
    empty = shop.client.get("/api/services/download")
    assert empty.status_code == 400 and "documentId" in empty.get_json()["errors"]


def test_private_file_urls_are_refused_at_download(make_app, dev_chain, publisher, origin):
    strict = make_app(ALLOW_NON_PUBLIC_IP="false").test_client()
    shop = Shop(dev_chain, publisher, strict)
    asset = shop.publish([url_file(origin)])
    tx = shop.order(asset, dev_chain.consumer)
    before = origin.hits["files"]
    r = shop.download(asset, dev_chain.consumer, tx)
    assert r.status_code == 400 and origin.url not in r.get_data(as_text=True)
    assert origin.hits["files"] == before


def test_a_recent_order_is_read_again_so_a_reorganised_away_order_stops_working(make_app, dev_chain, publisher,
                                                                                origin):
    """Order evidence is kept only once final (ORDER_FINALITY_SECONDS); before that every
    download reads the chain, so an order a reorganisation removed is refused at once."""
    shop = Shop(dev_chain, publisher, make_app(ORDER_FINALITY_SECONDS=3600).test_client())
    asset = shop.publish([url_file(origin)])
    snapshot = dev_chain.w3.provider.make_request("evm_snapshot", [])["result"]
    tx = shop.order(asset, dev_chain.consumer)
    assert shop.download(asset, dev_chain.consumer, tx).status_code == 200
    dev_chain.w3.provider.make_request("evm_revert", [snapshot])  # the order's block is gone
    refused = shop.download(asset, dev_chain.consumer, tx)
    assert refused.status_code == 400 and "could not be validated" in refused.get_json()["error"]


def test_final_order_evidence_is_read_once_but_every_rule_is_checked_again(shop, dev_chain, origin, access_app):
    asset = shop.publish([url_file(origin)])
    tx = shop.order(asset, dev_chain.consumer)
    assert shop.download(asset, dev_chain.consumer, tx).status_code == 200
    cache = access_app.extensions["provider"].access.order_evidence
    assert any(key[1] == tx for key in cache._entries)  # development: final once mined
    # The kept evidence is still judged per request: another consumer is refused.
    stranger = dev_chain.accounts[3]
    assert shop.download(asset, stranger, tx).status_code == 400


# ---- order evidence read by raw RPC ---------------------------------------------------------

def test_order_evidence_read_raw_matches_web3_and_the_block(shop, dev_chain, origin, make_settings):
    """The request path reads a receipt raw and decodes its logs itself: the same events web3's
    contract layer decodes, and the block's own timestamp whether the node puts it on the logs
    or the block has to be read."""
    asset = shop.publish([url_file(origin)])
    tx = shop.order(asset, dev_chain.consumer)
    w3 = dev_chain.w3
    receipt = w3.eth.get_transaction_receipt(tx)
    token = w3.eth.contract(address=asset.datatoken_address, abi=abi("ERC20Template"))
    chain = Chains(make_settings()).get(8996)

    evidence = read_order_evidence(chain, tx, asset.datatoken_address)
    assert evidence.status == 1 and evidence.order_tx_hash == tx.lower()
    assert evidence.order_started == [dict(e["args"]) for e in token.events.OrderStarted().process_receipt(receipt, errors=DISCARD)]
    assert evidence.provider_fees == [dict(e["args"]) for e in token.events.ProviderFee().process_receipt(receipt, errors=DISCARD)]
    assert len(evidence.order_started) == 1 and evidence.order_started[0]["consumer"] == dev_chain.consumer.address
    block_time = w3.eth.get_block(receipt["blockNumber"])["timestamp"]
    assert evidence.block_timestamp == block_time

    raw = chain.rpc("eth_getTransactionReceipt", [tx])
    for log in raw["logs"]:  # a node that does not put the timestamp on its logs
        log.pop("blockTimestamp", None)
    assert _block_timestamp(chain, raw) == block_time
    raw["logs"][0]["blockTimestamp"] = hex(block_time + 1)  # logs that disagree: the block decides
    assert _block_timestamp(chain, raw) == block_time

    with pytest.raises(RpcFailed):
        chain.rpc("eth_noSuchMethod", [])
    assert isinstance(receipt["logs"][0]["topics"][0], HexBytes)  # the comparison above was with web3's own form
