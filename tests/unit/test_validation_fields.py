"""Request-field helpers without a server."""
from urllib.parse import urlencode

from provider.validation import raw_transaction_ids


def test_a_transaction_hash_sent_as_raw_bytes_is_read_back_as_hex():
    tx = bytes(range(200, 232))  # not valid UTF-8: decoded as text it would be lost
    query = urlencode({"documentId": "did:op:1", "transferTxId": tx}).encode()
    assert raw_transaction_ids(query) == {"transferTxId": "0x" + tx.hex()}


def test_hex_text_and_other_lengths_are_left_alone():
    hex_text = "0x" + "ab" * 32
    assert raw_transaction_ids(urlencode({"transferTxId": hex_text}).encode()) == {}
    assert raw_transaction_ids(urlencode({"transferTxId": b"\xff" * 31}).encode()) == {}
    assert raw_transaction_ids(urlencode({"signature": bytes(range(200, 232))}).encode()) == {}
