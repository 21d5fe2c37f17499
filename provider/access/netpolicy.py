"""Which network addresses the provider may fetch files from (pure rules).

A file URL is the publisher's, but the request comes from inside the publisher's network: a
URL pointing at loopback, a private range, link-local (cloud metadata at 169.254.169.254),
multicast, a reserved or the deprecated site-local range (fec0::/10) would let a DDO read what
the provider can reach. Every address
a name resolves to must be public; IPv4 embedded in IPv6 (mapped, NAT64, 6to4, Teredo) is
judged by its IPv4 part. Numeric host forms (decimal `2130706433`, octal `0177.0.0.1`) are
resolved by the system resolver to the address they denote, so they are judged like any other.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None


def is_public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        inner = embedded_ipv4(address)
        if inner is not None:
            return is_public(inner)
    if isinstance(address, ipaddress.IPv6Address) and address.is_site_local:
        return False  # fec0::/10, deprecated site-local: still routed inside some networks
    return address.is_global and not (
        address.is_multicast or address.is_private or address.is_loopback or address.is_link_local
        or address.is_reserved or address.is_unspecified
    )


@dataclass(frozen=True)
class AddressPolicy:
    """`allow_non_public` is ALLOW_NON_PUBLIC_IP. `treat_as_public` exists for tests only:
    it lets a loopback test server stand in for a public host (no configuration sets it)."""

    allow_non_public: bool = False
    treat_as_public: frozenset[str] = field(default_factory=frozenset)

    def allows(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return False
        return self.allow_non_public or str(ip) in self.treat_as_public or is_public(ip)


# The IPv4 ranges `is_public` refuses, as routes: a job allowed onto the network gets these as
# unreachable routes in its own namespace (`compute.egress`), so the algorithm reaches what the
# file fetcher may reach and nothing else. A test checks they cover every address `is_public`
# refuses (192.0.0.0/24 is refused whole, though a few of its addresses are global).
NON_PUBLIC_IPV4 = (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
    "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
)
