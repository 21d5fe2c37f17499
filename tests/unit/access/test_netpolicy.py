import pytest

import ipaddress
import random

from provider.access.netpolicy import NON_PUBLIC_IPV4, AddressPolicy, is_public

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


def test_the_sandbox_network_blocks_every_ipv4_address_the_fetcher_refuses():
    networks = [ipaddress.ip_network(n) for n in NON_PUBLIC_IPV4]
    rng = random.Random(7)
    samples = [ipaddress.IPv4Address(rng.getrandbits(32)) for _ in range(100_000)]
    samples += [ipaddress.IPv4Address(a) for a in ("127.0.0.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",
                                                    "255.255.255.255", "198.19.255.255", "172.31.255.255")]
    uncovered = [str(a) for a in samples if not is_public(a) and not any(a in n for n in networks)]
    assert uncovered == []
    # and no public range is cut off (192.0.0.0/24 is refused whole, though a few of its addresses are global)
    blocked_public = [str(a) for a in samples if is_public(a) and any(a in n for n in networks)]
    assert blocked_public == []
    assert all(not is_public(n[0]) and (not is_public(n[-1]) or str(n) == "192.0.0.0/24") for n in networks)
