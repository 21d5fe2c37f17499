import os
import random

import pytest
from eth_abi.packed import encode_packed
from eth_utils import keccak, to_checksum_address

from provider.access.fees import fee_digest, fee_signer, provider_data, sign_provider_fee
from provider.auth.signatures import address_of, prefixed_hash_digest

KEY = "0x" + "5c" * 32


def reference_digest(data, fee_address, fee_token, amount, valid_until):
    """What the datatoken contract recomputes, through eth_abi's packed encoding."""
    packed = encode_packed(["bytes", "address", "address", "uint256", "uint256"],
                           [data, to_checksum_address(fee_address), to_checksum_address(fee_token), amount, valid_until])
    return prefixed_hash_digest(keccak(packed))


def test_the_hand_packed_digest_is_eth_abis_packed_encoding():
    rng = random.Random(7)
    for case in range(200):
        data = os.urandom(rng.choice([0, 1, 31, 32, 33, 200]))
        fee_address, fee_token = ("0x" + os.urandom(20).hex() for _ in range(2))
        if case % 2:
            fee_address = to_checksum_address(fee_address)
        amount = rng.choice([0, 1, 10**18, 2**256 - 1, rng.getrandbits(256)])
        valid_until = rng.choice([0, 1_700_000_000, 2**256 - 1])
        assert fee_digest(data, fee_address, fee_token, amount, valid_until) == \
            reference_digest(data, fee_address, fee_token, amount, valid_until)


@pytest.mark.parametrize("fee_address, amount", [("0x1234", 1), ("0x" + "zz" * 20, 1), (None, 1),
                                                  ("0x" + "00" * 20, -1), ("0x" + "00" * 20, 2**256)])
def test_what_cannot_be_packed_is_a_value_error(fee_address, amount):
    with pytest.raises(ValueError):
        fee_digest(b"", fee_address, "0x" + "00" * 20, amount, 0)


def test_a_signed_fee_recovers_to_its_signer():
    data = provider_data(None, 1_700_000_000.5, "0x" + "ab" * 20, "0")
    token = "0x" + "cd" * 20
    fee = sign_provider_fee(KEY, address_of(KEY), token, 3, data, 1_800_000_000)
    assert fee_signer(fee.data, fee.fee_address, fee.fee_token, fee.amount, fee.valid_until, fee.v, fee.r, fee.s) \
        == address_of(KEY)
    assert fee_signer(fee.data, fee.fee_address, fee.fee_token, fee.amount + 1, fee.valid_until, fee.v, fee.r,
                      fee.s) != address_of(KEY)
