"""Recovery straight through libsecp256k1 agrees with eth_keys, on good and on hostile signatures."""
import os

import pytest
from eth_account import Account
from eth_keys import KeyAPI, keys
from eth_keys.backends import NativeECCBackend
from eth_keys.exceptions import BadSignature, ValidationError

from provider.auth.signatures import SignatureError, message_digest, recover_digest_signer, sign_message

ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
NATIVE = KeyAPI(NativeECCBackend)  # the pure-Python reference, not the library we call


def reference(digest: bytes, r: int, s: int, v: int) -> str | None:
    try:
        return NATIVE.ecdsa_recover(digest, keys.Signature(vrs=(v, r, s))).to_checksum_address()
    except (BadSignature, ValidationError, ValueError):
        return None


def ours(digest: bytes, r: int, s: int, v: int) -> str | None:
    try:
        return recover_digest_signer(digest, "0x" + r.to_bytes(32, "big").hex() + s.to_bytes(32, "big").hex()
                                     + format(v + 27, "02x"))
    except SignatureError:
        return None


def test_a_real_signature_recovers_its_signer_in_both_v_forms():
    account = Account.create()
    signature = sign_message("0x" + bytes(account.key).hex(), "message1")
    assert recover_digest_signer(message_digest("message1"), signature) == account.address
    low_v = signature[:-2] + format(int(signature[-2:], 16) - 27, "02x")
    assert recover_digest_signer(message_digest("message1"), low_v) == account.address


@pytest.mark.parametrize("r, s", [(0, 1), (1, 0), (0, 0), (ORDER, 1), (1, ORDER), (ORDER + 5, 7), (2**256 - 1, 2**256 - 1),
                                  (ORDER - 1, ORDER - 1)])
@pytest.mark.parametrize("v", [0, 1])
def test_edge_values_of_r_and_s_agree_with_the_reference(r, s, v):
    digest = message_digest("edge1")
    assert ours(digest, r, s, v) == reference(digest, r, s, v)


def test_random_and_high_s_signatures_agree_with_the_reference():
    digest = message_digest("random1")
    account = Account.create()
    signed = keys.PrivateKey(bytes(account.key)).sign_msg_hash(digest)
    # the malleable twin (s -> n - s, v flipped) recovers the same address, in both
    assert ours(digest, signed.r, ORDER - signed.s, 1 - signed.v) == reference(digest, signed.r, ORDER - signed.s, 1 - signed.v) == account.address
    for _ in range(40):
        r, s, v = int.from_bytes(os.urandom(32), "big"), int.from_bytes(os.urandom(32), "big"), os.urandom(1)[0] & 1
        assert ours(digest, r, s, v) == reference(digest, r, s, v)
