import pytest

from provider.access.netpolicy import AddressPolicy

STRICT = AddressPolicy(allow_non_public=False)


@pytest.mark.parametrize("address", [
    "127.0.0.1", "127.1.2.3", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "0.0.0.0",
    "100.64.0.1", "224.0.0.1", "240.0.0.1", "255.255.255.255", "::1", "::", "fe80::1", "fc00::1",
    "::ffff:127.0.0.1", "::ffff:169.254.169.254", "64:ff9b::7f00:1", "2002:7f00:1::1", "ff02::1",
    "198.18.0.1", "192.0.2.1", "not-an-ip",
])
def test_non_public_addresses_are_refused(address):
    assert not STRICT.allows(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_are_allowed(address):
    assert STRICT.allows(address)


def test_allow_non_public_lifts_the_rule_and_test_override_is_exact():
    assert AddressPolicy(allow_non_public=True).allows("127.0.0.1")
    policy = AddressPolicy(treat_as_public=frozenset({"127.0.0.2"}))
    assert policy.allows("127.0.0.2") and not policy.allows("127.0.0.1")
