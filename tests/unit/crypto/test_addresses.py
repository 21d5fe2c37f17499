import os

import pytest
from eth_account import Account
from eth_utils import is_address, to_checksum_address

from provider.auth.signatures import same_address
from provider.crypto.addresses import checksum, checksum_of_lower, is_valid_address


def _forms(address: str) -> list[str]:
    body = address[2:]
    wrong_case = "0x" + "".join(c.swapcase() if c.isalpha() else c for c in body)
    return [address, address.lower(), "0x" + body.upper(), wrong_case, address[:-1], address + "0",
            address[:-1] + "g", "0X" + body, " " + address, address + "\n", body]


@pytest.mark.parametrize("seed", range(5))
def test_validity_agrees_with_eth_utils_on_every_0x_form(seed):
    address = Account.create().address
    for form in _forms(address):
        expected = is_address(form) and form.startswith("0x")  # eth_utils also takes no prefix
        assert is_valid_address(form) is expected, form
    assert checksum(address.lower()) == to_checksum_address(address)


def test_same_address_ignores_case_and_refuses_what_is_not_an_address():
    address = Account.create().address
    assert same_address(address, address.lower())
    assert same_address(address.lower(), "0x" + address[2:].upper())
    assert not same_address(address, None)
    assert not same_address(address, address + "00")
    with pytest.raises(ValueError):
        checksum("0x1234")


def test_remembered_checksums_stay_bounded():
    checksum_of_lower.cache_clear()
    for _ in range(5000):
        checksum(Account.create().address)
    assert checksum_of_lower.cache_info().currsize <= 4096


def test_our_eip55_agrees_with_eth_utils():
    checksum_of_lower.cache_clear()
    for _ in range(500):
        lower = "0x" + os.urandom(20).hex()
        assert checksum_of_lower(lower) == to_checksum_address(lower)
    assert checksum_of_lower("0x" + "00" * 20) == "0x" + "00" * 20
