"""Item: decompression bombs. 61 KB of LZMA became 400 MiB (+865 MiB RSS) through decrypt; now
the decoder stops at a few times MAX_BODY_BYTES, before the hash is even checked."""
import hashlib
import lzma
import resource
import time

import pytest

from tests.helpers import sign


@pytest.fixture(scope="module")
def bomb():
    plain = b"\0" * (64 * 1024 * 1024)
    return plain, lzma.compress(plain)


def test_decrypt_refuses_a_bomb_before_it_expands(client, dev_chain, publisher, bomb):
    plain, compressed = bomb
    nft, _ = publisher.create_nft_with_datatoken(dev_chain.publisher_account)
    decrypter = dev_chain.consumer
    nonce = int(time.time() * 1000)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    r = client.post("/api/services/decrypt", json={
        "decrypterAddress": decrypter.address, "chainId": 8996, "dataNftAddress": nft, "nonce": nonce,
        "encryptedDocument": "0x" + compressed.hex(), "flags": 1, "documentHash": "0x" + hashlib.sha256(plain).hexdigest(),
        "signature": sign(decrypter, f"{nft}{decrypter.address}8996{nonce}")})
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert r.status_code == 400 and "larger than" in r.get_json()["error"]
    assert grown_mib < 40


def test_a_document_just_under_the_cap_still_decrypts(client, dev_chain, publisher):
    nft, dt = publisher.create_nft_with_datatoken(dev_chain.publisher_account)
    ddo = publisher.make_ddo(nft, dt, [])
    tx = publisher.set_metadata(dev_chain.publisher_account, nft, ddo, 3)
    decrypter = dev_chain.consumer
    nonce = int(time.time() * 1000) + 7
    r = client.post("/api/services/decrypt", json={
        "decrypterAddress": decrypter.address, "chainId": 8996, "dataNftAddress": nft, "nonce": nonce,
        "transactionId": tx, "signature": sign(decrypter, f"{tx}{decrypter.address}8996{nonce}")})
    assert r.status_code == 201
