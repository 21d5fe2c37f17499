"""Every branch of POST /api/services/decrypt, against published assets on anvil."""
import hashlib
import itertools
import json

import pytest

from provider.chain.contracts import artifact
from provider.chain.tx import send_transaction
from provider.devtools.publisher import compact
from tests.helpers import sign

_nonces = itertools.count(1)


@pytest.fixture(scope="module")
def asset(dev_chain, publisher):
    owner = dev_chain.publisher_account
    nft, dt = publisher.create_nft_with_datatoken(owner)
    ddo = publisher.make_ddo(nft, dt, [{"type": "url", "url": "http://127.0.0.1/x", "method": "GET"}])
    return nft, ddo


def decrypt(client, decrypter, nft, *, tx=None, flags=None, ddo=None, publisher=None, nonce=None,
            token=None, signature=True, chain_id=8996, **raw):
    nonce = next(_nonces) if nonce is None else nonce
    body = {"decrypterAddress": decrypter.address, "chainId": chain_id, "dataNftAddress": nft, "nonce": nonce}
    if tx:
        body["transactionId"] = tx
    elif ddo is not None:
        data, digest = publisher.encode(ddo, flags)
        body.update(encryptedDocument="0x" + data.hex(), flags=flags, documentHash="0x" + digest.hex())
    elif flags is not None:
        body["flags"] = flags
    body.update(raw)
    if signature:
        body["signature"] = sign(decrypter, f"{tx or nft}{decrypter.address}{chain_id}{nonce}")
    headers = {"AuthToken": token} if token else {}
    return client.post("/api/services/decrypt", json=body, headers=headers)


@pytest.mark.parametrize("flags", [0, 1, 2, 3])
def test_every_flag_combination_by_transaction_and_by_arguments(client, dev_chain, publisher, asset, flags):
    nft, ddo = asset
    tx = publisher.set_metadata(dev_chain.publisher_account, nft, ddo, flags)
    for kwargs in ({"tx": tx}, {"tx": tx[2:]}, {"ddo": ddo, "flags": flags, "publisher": publisher}):
        r = decrypt(client, dev_chain.consumer, nft, **kwargs)
        assert r.status_code == 201, r.get_json()
        assert r.content_type.startswith("text/plain") and r.data == compact(ddo)


def test_decrypter_allow_list(make_app, dev_chain, publisher, asset):
    nft, ddo = asset
    tx = publisher.set_metadata(dev_chain.publisher_account, nft, ddo, 2)
    allowed = dev_chain.accounts[4]
    client = make_app(AUTHORIZED_DECRYPTERS=json.dumps([allowed.address.lower()])).test_client()
    refused = decrypt(client, dev_chain.consumer, nft, tx=tx)
    assert refused.status_code == 403 and refused.get_json() == {"error": "Decrypter not authorized"}
    assert decrypt(client, allowed, nft, tx=tx).status_code == 201  # case-insensitive match


def test_nft_not_from_the_factory(client, dev_chain):
    template = artifact("ERC721Template")
    contract = dev_chain.w3.eth.contract(abi=template["abi"], bytecode=template["bytecode"])
    rogue = send_transaction(dev_chain.w3, dev_chain.accounts[5], contract.constructor())["contractAddress"]
    r = decrypt(client, dev_chain.consumer, rogue, encryptedDocument="0x00", flags=0, documentHash="0x" + "00" * 32)
    assert r.status_code == 400 and r.get_json() == {"error": "Asset not deployed by the data NFT factory."}


@pytest.mark.parametrize("state,status,message", [
    (1, 403, "Asset end of life"), (2, 403, "Asset deprecated"), (3, 403, "Asset revoked"),
    (4, 201, None), (5, 201, None),
])
def test_each_asset_state(client, dev_chain, publisher, state, status, message):
    owner = dev_chain.publisher_account
    nft, dt = publisher.create_nft_with_datatoken(owner)
    ddo = publisher.make_ddo(nft, dt, [])
    tx = publisher.set_metadata(owner, nft, ddo, 3)
    publisher.set_state(owner, nft, state)
    r = decrypt(client, dev_chain.consumer, nft, tx=tx)
    assert r.status_code == status
    if message:
        assert r.get_json() == {"error": message}


def test_wrong_hash_undecryptable_and_undecompressable(client, dev_chain, publisher, asset):
    nft, ddo = asset
    data, digest = publisher.encode(ddo, 2)
    wrong = decrypt(client, dev_chain.consumer, nft, encryptedDocument="0x" + data.hex(), flags=2,
                    documentHash="0x" + "ab" * 32)
    assert wrong.status_code == 400 and wrong.get_json() == {"error": "Checksum doesn't match."}
    garbage = decrypt(client, dev_chain.consumer, nft, encryptedDocument="0x" + "11" * 120, flags=2,
                      documentHash="0x" + digest.hex())
    assert garbage.get_json() == {"error": "Failed to decrypt."}
    plain, _ = publisher.encode(ddo, 0)
    not_lzma = decrypt(client, dev_chain.consumer, nft, encryptedDocument="0x" + plain.hex(), flags=1,
                       documentHash="0x" + digest.hex())
    assert not_lzma.get_json() == {"error": "Failed to decompress"}
    bad_hex = decrypt(client, dev_chain.consumer, nft, encryptedDocument="zz", flags=2, documentHash="0x00")
    assert bad_hex.get_json() == {"error": "Failed to convert input args to bytes."}


def test_transaction_problems(client, dev_chain, publisher, asset):
    nft, ddo = asset
    unknown = decrypt(client, dev_chain.consumer, nft, tx="0x" + "12" * 32)
    assert unknown.status_code == 400 and unknown.get_json() == {"error": "Failed to process transaction id."}
    # A metadata transaction of another NFT cannot be decrypted under this NFT's checks.
    other_nft, other_dt = publisher.create_nft_with_datatoken(dev_chain.publisher_account)
    other_tx = publisher.set_metadata(dev_chain.publisher_account, other_nft,
                                      publisher.make_ddo(other_nft, other_dt, []), 2)
    cross = decrypt(client, dev_chain.consumer, nft, tx=other_tx)
    assert cross.get_json() == {"error": "Failed to process transaction id."}


def test_signature_nonce_and_chain_checks(client, dev_chain, publisher, asset):
    nft, ddo = asset
    tx = publisher.set_metadata(dev_chain.publisher_account, nft, ddo, 2)
    assert decrypt(client, dev_chain.accounts[6], nft, tx=tx, nonce=50).status_code == 201
    replay = decrypt(client, dev_chain.accounts[6], nft, tx=tx, nonce=50)
    assert replay.status_code == 400
    assert replay.get_json()["errors"]["signature"] == "Invalid signature expected nonce (50) > current nonce (50)."
    unsigned = decrypt(client, dev_chain.accounts[6], nft, tx=tx, signature=False)
    assert unsigned.get_json()["errors"]["signature"] == [
        "Invalid signature provided. Please check the nonce or documentId."]
    body = {"decrypterAddress": dev_chain.consumer.address, "chainId": 8996, "dataNftAddress": nft,
            "nonce": 999, "transactionId": tx, "signature": sign(dev_chain.accounts[7], f"{tx}x8996999")}
    forged = client.post("/api/services/decrypt", json=body)
    assert forged.status_code == 400 and "signature" in forged.get_json()["errors"]
    other_chain = decrypt(client, dev_chain.consumer, nft, tx=tx, chain_id=1)
    assert other_chain.status_code == 400 and other_chain.get_json() == {"error": "Unsupported chain ID"}
    missing = client.post("/api/services/decrypt", json={"chainId": 8996})
    assert set(missing.get_json()["errors"]) >= {"decrypterAddress", "dataNftAddress", "nonce"}


def test_auth_token_instead_of_signature(client, app, dev_chain, publisher, asset):
    import time
    nft, ddo = asset
    tx = publisher.set_metadata(dev_chain.publisher_account, nft, ddo, 2)
    decrypter = dev_chain.accounts[9]
    token = app.extensions["provider"].tokens.create(decrypter.address, int(time.time()) + 600)
    assert decrypt(client, decrypter, nft, tx=tx, token=token, signature=False).status_code == 201
    stranger_token = app.extensions["provider"].tokens.create(dev_chain.accounts[3].address, int(time.time()) + 600)
    r = decrypt(client, decrypter, nft, tx=tx, token=stranger_token, signature=False)
    assert r.status_code == 400 and r.get_json()["errors"]["signature"] == ["Token is invalid."]


def test_an_ocean_node_indexing_our_asset_decrypts_with_its_command(client, dev_chain, publisher, asset):
    """What an Ocean Node sends when `metadataDecryptorUrl` is us (node spec §3.18): the
    `decryptDDO` command signature, nonce = the stored one + 1; it then checks
    sha256(JSON.stringify(parsed)) == metadataHash, i.e. sha256 of the bytes we return."""
    nft, ddo = asset
    tx = publisher.set_metadata(dev_chain.publisher_account, nft, ddo, 2)
    node = dev_chain.accounts[6]
    nonce = client.get(f"/api/services/nonce?userAddress={node.address}").get_json()["nonce"] + 1
    body = {"transactionId": tx, "chainId": 8996, "decrypterAddress": node.address, "dataNftAddress": nft,
            "nonce": str(nonce), "signature": sign(node, f"{node.address}{nonce}decryptDDO")}
    reply = client.post("/api/services/decrypt", json=body)
    assert reply.status_code == 201 and json.loads(reply.data) == ddo
    _, metadata_hash = publisher.encode(ddo, 2)  # what setMetaData put on chain
    assert hashlib.sha256(reply.data).digest() == metadata_hash
    assert client.post("/api/services/decrypt", json=body).status_code == 400  # the nonce is spent
    # a classic decrypt signature is not the node command, and the node command no classic message
    nonce += 1
    wrong = dict(body, nonce=str(nonce), signature=sign(node, f"{node.address}{nonce}download"))
    assert client.post("/api/services/decrypt", json=wrong).status_code == 400
