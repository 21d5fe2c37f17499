"""Issue "today's Ocean clients", part 1: the Ocean Node dialect (ocean.js 8) on the same paths
as the classic one, attacked. A signature of one generation is never accepted as the other's
message for another action, node nonces are strictly increasing and single-use, tokens are
bound to their address and revoked in both forms, `ddo/validate` signs the hash of exactly
the bytes it validated, and documents are checked against the NFT they claim."""
import hashlib
import json
import time

import pytest

from provider.chain.contracts import artifact
from provider.chain.tx import send_transaction
from provider.ddo.schema import make_did
from provider.devtools.consumer import mint
from tests.helpers import node_sign, sign
from tests.integration.test_access import CSV, Shop, origin, url_file  # noqa: F401 (origin: fixture)


@pytest.fixture
def shop(dev_chain, publisher, make_app, origin):  # noqa: F811
    return Shop(dev_chain, publisher, make_app().test_client())


def node_download(shop, asset, consumer, tx, signature, nonce):
    return shop.client.get("/api/services/download", query_string={
        "documentId": asset.did, "serviceId": "0", "consumerAddress": consumer.address, "transferTxId": tx,
        "fileIndex": 0, "nonce": nonce, "signature": signature})


def encrypt(shop, account, nonce, signature):
    return shop.client.post(f"/api/services/encrypt?chainId=8996&consumerAddress={account.address}&nonce={nonce}"
                            f"&signature={signature}", data=b'{"a":1}', content_type="application/octet-stream")


def test_node_download_signatures_work_in_both_encodings_once_and_only_for_download(shop, dev_chain, origin):
    consumer = dev_chain.consumer
    asset = shop.publish([url_file(origin)])
    tx = shop.order(asset, consumer)
    nonce = shop.nonce(consumer)
    signature = node_sign(consumer, f"{consumer.address}{nonce}download")
    assert node_download(shop, asset, consumer, tx, signature, nonce).data == CSV
    assert node_download(shop, asset, consumer, tx, signature, nonce).status_code == 400  # spent
    nonce = shop.nonce(consumer)
    hex_signed = node_sign(consumer, f"{consumer.address}{nonce}download", hex_text=True)
    assert node_download(shop, asset, consumer, tx, hex_signed, nonce).data == CSV
    # a node signature for encrypt is not one for download, and the reverse
    nonce = shop.nonce(consumer)
    for_encrypt = node_sign(consumer, f"{consumer.address}{nonce}encrypt")
    assert node_download(shop, asset, consumer, tx, for_encrypt, nonce).status_code == 400
    for_download = node_sign(consumer, f"{consumer.address}{nonce}download")
    assert encrypt(shop, consumer, nonce, for_download).status_code == 400
    assert encrypt(shop, consumer, nonce, for_encrypt).status_code == 201


def test_classic_and_node_signatures_do_not_stand_in_for_each_other(shop, dev_chain, origin):
    consumer = dev_chain.consumer
    asset = shop.publish([url_file(origin)])
    tx = shop.order(asset, consumer)
    # the classic download message (did + nonce) is no node command (encrypt, auth/token)
    nonce = shop.nonce(consumer)
    classic = sign(consumer, f"{asset.did}{nonce}")
    assert encrypt(shop, consumer, nonce, classic).status_code == 400
    token = shop.client.post("/api/services/auth/token", json={"address": consumer.address, "nonce": nonce,
                                                               "signature": classic})
    assert token.status_code == 400 and "token" not in token.get_json()
    # a node command signature is no classic createAuthToken message (address + nonce)
    node = node_sign(consumer, f"{consumer.address}{nonce}createAuthToken")
    classic_token = shop.client.get("/api/services/createAuthToken", query_string={
        "address": consumer.address, "expiration": int(time.time()) + 3600, "nonce": nonce, "signature": node})
    assert classic_token.status_code == 400
    # the one message both generations share (address + nonce: classic createAuthToken, node
    # invalidateAuthToken) is single-use: once one action consumed it, the other refuses it
    shared = sign(consumer, f"{consumer.address}{nonce}")
    created = shop.client.get("/api/services/createAuthToken", query_string={
        "address": consumer.address, "expiration": int(time.time()) + 3600, "nonce": nonce, "signature": shared})
    assert created.status_code == 200
    replayed = shop.client.post("/api/services/auth/token/invalidate", json={
        "address": consumer.address, "token": created.get_json()["token"], "nonce": nonce, "signature": shared})
    assert replayed.status_code == 400 and "nonce" in json.dumps(replayed.get_json())
    assert shop.download(asset, consumer, tx, headers={"AuthToken": created.get_json()["token"]},
                         signature=None).status_code == 200


def test_node_nonces_must_grow(shop, dev_chain):
    consumer = dev_chain.accounts[4]
    nonce = shop.nonce(consumer) + 10
    first = encrypt(shop, consumer, nonce, node_sign(consumer, f"{consumer.address}{nonce}encrypt"))
    assert first.status_code == 201
    for stale in (nonce, nonce - 1):
        again = encrypt(shop, consumer, stale, node_sign(consumer, f"{consumer.address}{stale}encrypt"))
        assert again.status_code == 400 and "nonce" in json.dumps(again.get_json())


def node_token(shop, account):
    nonce = shop.nonce(account)
    reply = shop.client.post("/api/services/auth/token", json={
        "address": account.address, "nonce": str(nonce),
        "signature": node_sign(account, f"{account.address}{nonce}createAuthToken")})
    assert reply.status_code == 200
    return reply.get_json()["token"]


def test_a_token_serves_only_its_address_and_is_revoked_in_both_forms(shop, dev_chain, origin):
    owner, other = dev_chain.consumer, dev_chain.accounts[3]
    asset = shop.publish([url_file(origin)])
    tx_other = shop.order(asset, other)
    token = node_token(shop, owner)
    claims = json.loads(__import__("base64").urlsafe_b64decode(token.split(".")[1] + "=="))
    assert claims["address"] == owner.address  # ocean.js 8 reads the address from the JWT
    # the owner's token used for another address: refused, in either header
    for headers in ({"Authorization": token}, {"AuthToken": token}):
        stolen = shop.client.get("/api/services/download", headers=headers, query_string={
            "documentId": asset.did, "serviceId": "0", "consumerAddress": other.address, "transferTxId": tx_other,
            "fileIndex": 0, "nonce": shop.nonce(other)})
        assert stolen.status_code == 400
    # another address cannot invalidate it
    nonce = shop.nonce(other)
    foreign = shop.client.post("/api/services/auth/token/invalidate", json={
        "address": other.address, "token": token, "nonce": nonce, "signature": node_sign(other, f"{other.address}{nonce}")})
    assert foreign.status_code == 400
    # revoked through the node endpoint: refused by the classic header too
    nonce = shop.nonce(owner)
    revoked = shop.client.post("/api/services/auth/token/invalidate", json={
        "address": owner.address, "token": token, "nonce": nonce, "signature": node_sign(owner, f"{owner.address}{nonce}")})
    assert revoked.get_json() == {"success": True}
    tx = shop.order(asset, owner)
    for headers in ({"Authorization": token}, {"AuthToken": token}, {"Authorization": f"Bearer {token}"}):
        refused = shop.download(asset, owner, tx, headers=headers, signature=None)
        assert refused.status_code == 400 and "deleted" in json.dumps(refused.get_json()).lower()
    # `Authorization: undefined` (ocean.js 8 without a token) is no token at all
    assert shop.download(asset, owner, tx, headers={"Authorization": "undefined"}, signature=None).status_code == 400


def valid_ddo(shop, dev_chain):
    nft, datatoken = shop.publisher.create_nft_with_datatoken(dev_chain.publisher_account)
    return shop.publisher.make_ddo(nft, datatoken, [{"type": "url", "url": "https://example.com/x", "method": "GET"}])


def test_validate_signs_the_hash_of_exactly_the_bytes_it_validated(shop, dev_chain):
    ddo = valid_ddo(shop, dev_chain)
    publisher = dev_chain.publisher_account
    text = json.dumps(ddo, indent=1)  # not how Python would serialise it again
    nonce = shop.nonce(publisher)
    body = ('{"ddo": ' + text + f', "publisherAddress": "{publisher.address}", "nonce": "{nonce}", "signature": "'
            + node_sign(publisher, f"{publisher.address}{nonce}validateDDO") + '"}')
    reply = shop.client.post("/api/aquarius/assets/ddo/validate", data=body, content_type="application/json")
    assert reply.status_code == 200 and reply.get_json()["hash"] == "0x" + hashlib.sha256(text.encode()).hexdigest()
    # two `ddo` members: the one hashed is the one validated (an invalid first one is refused,
    # however valid the second)
    broken = dict(ddo, id="did:op:" + "0" * 64)
    twice = '{"ddo": ' + json.dumps(broken) + ', "ddo": ' + json.dumps(ddo) + "}"
    refused = shop.client.post("/api/aquarius/assets/ddo/validate", data=twice, content_type="application/json")
    assert refused.status_code == 400 and "id" in refused.get_json()["error"]
    # a signature for another publisher, or replayed, is refused
    replay = shop.client.post("/api/aquarius/assets/ddo/validate", data=body, content_type="application/json")
    assert replay.status_code == 400


def test_a_v5_document_must_carry_its_nfts_did(shop, dev_chain, origin):
    publisher = dev_chain.publisher_account
    nft, datatoken = shop.publisher.create_nft_with_datatoken(publisher)
    v4 = shop.publisher.make_ddo(nft, datatoken, [url_file(origin)])
    subject = {key: v4[key] for key in ("chainId", "nftAddress", "services", "credentials")}
    subject["metadata"] = {"created": "2026-01-01T00:00:00Z", "updated": "2026-01-01T00:00:00Z", "name": "v5 data",
                           "providedBy": "Ocean", "description": {"value": "a v5 dataset", "language": "en"}}
    other_nft, _ = shop.publisher.create_nft_with_datatoken(publisher)
    forged = {"@context": ["https://www.w3.org/ns/credentials/v2"], "version": "5.0.0",
              "id": make_did(other_nft, 8996, 5), "type": ["VerifiableCredential"], "issuer": publisher.address,
              "credentialSubject": subject}
    assert "id" in shop.client.post("/api/aquarius/assets/ddo/validate", json={"ddo": forged}).get_json()["error"]
    shop.publisher.set_metadata(publisher, nft, forged)  # on chain regardless: the indexer refuses it
    assert shop.client.get(f"/api/aquarius/assets/ddo/{forged['id']}").status_code == 404
    assert shop.client.get(f"/api/aquarius/assets/ddo/{make_did(nft, 8996, 5)}").status_code == 404
    # the same document with the right id is served under did:ope: (not did:op:) and consumable
    genuine = dict(forged, id=make_did(nft, 8996, 5))
    assert shop.client.post("/api/aquarius/assets/ddo/validate", json={"ddo": genuine}).status_code == 200
    shop.publisher.set_metadata(publisher, nft, genuine)
    served = shop.client.get(f"/api/aquarius/assets/ddo/{genuine['id']}").get_json()
    assert served["credentialSubject"]["metadata"]["name"] == "v5 data" and "indexedMetadata" in served
    assert shop.client.get(f"/api/aquarius/assets/ddo/{make_did(nft, 8996)}").status_code == 404
    mint(dev_chain.w3, publisher, datatoken, dev_chain.consumer.address)

    class V5:
        did = genuine["id"]
        datatoken_address = datatoken
    tx = shop.order(V5, dev_chain.consumer)
    assert shop.download(V5, dev_chain.consumer, tx).data == CSV


# A contract wallet whose isValidSignature returns the ERC-1271 magic value for anything, and one
# that returns zero: PUSH4 magic, PUSH1 224, SHL, PUSH1 0, MSTORE, PUSH1 32, PUSH1 0, RETURN.
ACCEPTING_WALLET = "0x631626ba7e60e01b60005260206000f3"
REFUSING_WALLET = "0x60006000526020 6000f3".replace(" ", "")


def test_contract_wallet_signatures_are_asked_of_the_wallet(shop, dev_chain):
    accepting, refusing = "0x" + "ab" * 20, "0x" + "cd" * 20
    from eth_utils import to_checksum_address
    accepting, refusing = to_checksum_address(accepting), to_checksum_address(refusing)
    dev_chain.w3.provider.make_request("anvil_setCode", [accepting, ACCEPTING_WALLET])
    dev_chain.w3.provider.make_request("anvil_setCode", [refusing, REFUSING_WALLET])
    signature = "0x" + "11" * 97  # a smart account's signature: no EOA recovers from it
    for wallet, expected in ((accepting, 201), (refusing, 400)):
        reply = shop.client.post(f"/api/services/encrypt?chainId=8996&consumerAddress={wallet}&nonce=1"
                                 f"&signature={signature}", data=b"{}", content_type="application/octet-stream")
        assert reply.status_code == expected, (wallet, reply.get_json(silent=True))
    # and an ordinary account with a signature that is not its own is refused (no wallet code)
    stranger = dev_chain.accounts[7]
    reply = encrypt(shop, stranger, 1, node_sign(dev_chain.accounts[6], f"{stranger.address}1encrypt"))
    assert reply.status_code == 400


def test_preflight_answers_on_every_path_without_reflecting_junk(shop):
    for path in ("/", "/api/services/download", "/api/aquarius/assets/ddo/did:op:x", "/no/such/path"):
        reply = shop.client.options(path, headers={"Origin": "https://dapp.example", "Access-Control-Request-Method":
                                                   "POST", "Access-Control-Request-Headers": "authorization,content-type"})
        assert reply.status_code == 204, path
        assert reply.headers["Access-Control-Allow-Origin"] == "*"
        assert "authorization" in reply.headers["Access-Control-Allow-Headers"].lower()
    junk = shop.client.options("/", headers={"Access-Control-Request-Headers": "x-a, <script>"})
    assert "<script>" not in junk.headers["Access-Control-Allow-Headers"]
    assert shop.client.get("/").headers["Access-Control-Allow-Origin"] == "*"


def deploy_access_list(dev_chain, members):
    owner = dev_chain.accounts[0]
    art = artifact("AccessList")
    created = send_transaction(dev_chain.w3, owner, dev_chain.w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"])
                               .constructor())
    address = created["contractAddress"]
    contract = dev_chain.w3.eth.contract(address=address, abi=art["abi"])
    send_transaction(dev_chain.w3, owner, contract.functions.initialize(
        owner.address, "Allowed", "ALW", False, [m.address for m in members], ["" for _ in members]))
    return address


def test_access_list_credentials_are_enforced_at_initialize_and_download(shop, dev_chain, origin):
    member, outsider = dev_chain.consumer, dev_chain.accounts[3]
    access_list = deploy_access_list(dev_chain, [member])
    allowed = shop.publish([url_file(origin)], credentials={
        "allow": [{"type": "accessList", "accessList": access_list}], "deny": []})
    assert shop.initialize(allowed, member).status_code == 200
    refused = shop.initialize(allowed, outsider)
    assert refused.status_code == 400 and refused.get_json()["error"].endswith("CREDENTIAL_NOT_IN_ALLOW_LIST.")
    tx = shop.order(allowed, member)
    assert shop.download(allowed, member, tx).data == CSV
    # an order placed anyway (the chain does not check credentials) buys nothing
    fee = shop.initialize(allowed, member).get_json()["providerFee"]
    outsider_tx = shop.order(allowed, outsider, fee=fee)
    assert shop.download(allowed, outsider, outsider_tx).status_code == 400
    # deny lists win over allow lists (Ocean Node's rule)
    denied = shop.publish([url_file(origin)], credentials={
        "allow": [{"type": "address", "values": [member.address]}],
        "deny": [{"type": "accessList", "accessList": {"8996": [access_list]}}]})
    assert shop.initialize(denied, member).get_json()["error"].endswith("CREDENTIAL_IN_DENY_LIST.")
    # a contract that is no access list admits nobody, and breaks nothing
    bogus = shop.publish([url_file(origin)], credentials={
        "allow": [{"type": "accessList", "accessList": dev_chain.accounts[5].address}]})
    assert shop.initialize(bogus, member).status_code == 400


def test_node_compute_requests_are_read_as_node_requests_not_misread_as_classic(make_app):
    client = make_app(COMPUTE_ENABLED="true").test_client()
    body = {"datasets": [{"documentId": "did:op:" + "1" * 64, "serviceId": "0"}], "algorithm": {"meta": {}},
            "environment": "x", "payment": {"chainId": 8996, "token": "0x" + "22" * 20}, "consumerAddress":
            "0x" + "33" * 20, "maxJobDuration": 60}
    expected = {"/api/services/initializeCompute": "Compute environment does not exist",
                "/api/services/compute": "nonce", "/api/services/freeCompute": "nonce"}  # unsigned
    for path, text in expected.items():
        reply = client.post(path, json=body)
        error = json.dumps(reply.get_json())
        # the node protocol's rules answered, not the classic ones ({"dataset.documentId": [...]})
        assert reply.status_code == 400 and text.lower() in error.lower() and "dataset." not in error, path


def test_access_list_credentials_are_enforced_for_compute(lab, dev_chain):
    from tests.integration.test_compute import raw_algorithm
    outsider_list = deploy_access_list(dev_chain, [dev_chain.accounts[3]])
    members_list = deploy_access_list(dev_chain, [lab.consumer])
    algorithm = raw_algorithm("print('hi')")
    refused = lab.publish_dataset(raw=True, credentials={"allow": [{"type": "accessList", "accessList": outsider_list}]})
    reply = lab.initialize([refused], algorithm)
    assert reply.status_code == 400 and "CREDENTIAL_NOT_IN_ALLOW_LIST" in json.dumps(reply.get_json())
    admitted = lab.publish_dataset(raw=True, credentials={"allow": [{"type": "accessList", "accessList": members_list}]})
    assert lab.initialize([admitted], algorithm).status_code == 200


def test_service_credentials_are_enforced_too(shop, dev_chain, origin):
    """DDO 4.7.0 and v5 let a publisher restrict one service: an open asset whose access service
    allows one address serves nobody else."""
    owner, allowed, other = dev_chain.publisher_account, dev_chain.consumer, dev_chain.accounts[3]
    nft, datatoken = shop.publisher.create_nft_with_datatoken(owner)
    ddo = shop.publisher.make_ddo(nft, datatoken, [url_file(origin)])
    ddo["version"] = "4.7.0"
    ddo["services"][0]["credentials"] = {"allow": [{"type": "address", "values": [allowed.address]}]}
    shop.publisher.set_metadata(owner, nft, ddo)
    for account in (allowed, other):
        mint(dev_chain.w3, owner, datatoken, account.address)

    class Published:
        did = ddo["id"]
        datatoken_address = datatoken
    assert shop.initialize(Published, allowed).status_code == 200
    refused = shop.initialize(Published, other)
    assert refused.status_code == 400 and refused.get_json()["error"].endswith("CREDENTIAL_NOT_IN_ALLOW_LIST.")
    fee = shop.initialize(Published, allowed).get_json()["providerFee"]
    tx = shop.order(Published, other, fee=fee)
    assert shop.download(Published, other, tx).status_code == 400


def test_direct_commands_other_than_status_are_refused_by_name(shop, dev_chain):
    status = shop.client.post("/directCommand", json={"command": "status"}).get_json()
    assert status["address"] == dev_chain.provider_account.address and status["provider"][0]["chainId"] == "8996"
    assert int(status["indexer"][0]["block"]) >= 0
    for body in ({"command": "getFees"}, {"command": "x" * 10000}, {"command": ["status"]}, [], "status"):
        reply = shop.client.post("/directCommand", json=body)
        assert reply.status_code == 400 and "x" * 100 not in reply.get_data(as_text=True)
