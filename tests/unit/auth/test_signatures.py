import doctest

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import keccak

import provider.auth.signatures as signatures
from provider.auth.signatures import (
    SignatureError, address_of, message_digest, recover_signer, same_address, sign_message,
)

KEY = "0x" + "4c" * 32
OTHER_KEY = "0x" + "5d" * 32


def test_module_doctests():
    assert doctest.testmod(signatures).failed == 0


def test_digest_is_eip191_over_the_keccak_of_the_message():
    # eth-account's personal_sign over the 32-byte keccak is the same digest clients sign.
    signed = Account.sign_message(encode_defunct(primitive=keccak(text="did:op:x5")), KEY)
    assert recover_signer("did:op:x5", signed.signature.hex()) == address_of(KEY)
    assert message_digest("did:op:x5") == signed.message_hash


@pytest.mark.parametrize("v_offset", [0, 27])
def test_v_in_both_conventions_is_accepted(v_offset):
    sig = bytes.fromhex(sign_message(KEY, "m1")[2:])
    raw = sig[:64] + bytes([sig[64] - 27 + v_offset])
    assert recover_signer("m1", "0x" + raw.hex()) == address_of(KEY)
    assert recover_signer("m1", raw.hex()) == address_of(KEY)  # without 0x too


def test_other_message_or_key_recovers_another_address():
    sig = sign_message(KEY, "did:op:a7")
    assert recover_signer("did:op:a8", sig) != address_of(KEY)
    assert recover_signer("did:op:a7", sign_message(OTHER_KEY, "did:op:a7")) != address_of(KEY)


@pytest.mark.parametrize("bad", ["", "0x", "0xzz", "0x" + "00" * 64, "0x" + "11" * 64 + "1d", None, 5])
def test_malformed_signatures_raise(bad):
    with pytest.raises(SignatureError):
        recover_signer("m", bad)


def test_same_address_ignores_case_but_not_garbage():
    address = address_of(KEY)
    assert same_address(address.lower(), address)
    assert not same_address("not-an-address", address)
    assert not same_address(address_of(OTHER_KEY), address)
