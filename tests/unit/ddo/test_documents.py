import hashlib
import lzma

import pytest

from provider.crypto.ecies import encrypt, public_key_hex
from provider.ddo.documents import DocumentError, decode_document, hash_matches
from provider.ddo.schema import make_did

KEY = "0x" + "31" * 32
DOC = b'{"id":"did:op:1","metadata":{}}'


def test_did_is_sha256_of_checksummed_address_and_chain():
    nft = "0xeee56e2a630dd29f9a628d618e58bb173911f393"
    expected = hashlib.sha256(b"0xEEE56e2a630DD29F9A628d618E58bb173911F393" + b"8996").hexdigest()
    assert make_did(nft, 8996) == "did:op:" + expected


@pytest.mark.parametrize("flags", [0, 1, 2, 3])
def test_each_flag_combination_decodes(flags):
    data = DOC
    if flags & 1:
        data = lzma.compress(data)
    if flags & 2:
        data = encrypt(public_key_hex(KEY), data)
    assert decode_document(data, flags, KEY, 1 << 20) == DOC


def test_hex_text_of_ciphertext_is_accepted():
    ciphertext = encrypt(public_key_hex(KEY), DOC)
    assert decode_document(("0x" + ciphertext.hex()).encode(), 2, KEY, 1 << 20) == DOC


def test_wrong_key_and_bad_compression_give_reference_messages():
    with pytest.raises(DocumentError, match="Failed to decrypt."):
        decode_document(encrypt(public_key_hex("0x" + "32" * 32), DOC), 2, KEY, 1 << 20)
    with pytest.raises(DocumentError, match="Failed to decompress"):
        decode_document(DOC, 1, KEY, 1 << 20)


def test_hash_check_and_the_ocean_js_plain_hex_quirk():
    assert hash_matches(DOC, hashlib.sha256(DOC).digest(), 2)
    hex_hash = hashlib.sha256(("0x" + DOC.hex()).encode()).digest()
    assert hash_matches(DOC, hex_hash, 0)
    assert not hash_matches(DOC, hex_hash, 2)  # only for plain documents
    assert not hash_matches(DOC + b" ", hashlib.sha256(DOC).digest(), 0)
