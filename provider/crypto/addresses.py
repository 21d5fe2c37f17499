"""Ethereum addresses: validation and EIP-55 checksums, remembered.

A checksum is a keccak of the address; the same address is parsed, compared and used as a key
several times in one request (and across a client's requests), so the checksum of the last
few thousand addresses is kept. Bounded: hostile input can only evict, never grow it.
"""
from __future__ import annotations

import re
from functools import lru_cache

from eth_utils import to_checksum_address

from provider.crypto.hashing import keccak256

_HEX_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


_LOWER_HEX_ADDRESS = re.compile(r"0x[0-9a-f]{40}")


@lru_cache(maxsize=4096)
def checksum_of_lower(lower: str) -> str:
    """EIP-55 of a lower-case 0x-hex address: a letter is upper case where the keccak of the
    lower-case hex has a nibble of 8 or more (eth_utils' to_checksum_address validates and
    converts on the way and costs several times this; anything else still goes there)."""
    if not _LOWER_HEX_ADDRESS.fullmatch(lower):
        return to_checksum_address(lower)
    body = lower[2:]
    nibbles = keccak256(body.encode("ascii")).hex()
    return "0x" + "".join(c.upper() if n >= "8" else c for c, n in zip(body, nibbles))


def checksum(address: str) -> str:
    """The EIP-55 form of a 0x-hex address (any case); ValueError for anything else."""
    if not isinstance(address, str) or not _HEX_ADDRESS.fullmatch(address):
        raise ValueError("not a 0x-hex address")
    return checksum_of_lower(address.lower())


def is_valid_address(value) -> bool:
    """A 0x-hex address in any letter case, as eth_utils.is_address takes it (which since
    eth-utils 2 does not insist on a mixed-case checksum: wallets and clients send either)."""
    return isinstance(value, str) and _HEX_ADDRESS.fullmatch(value) is not None
