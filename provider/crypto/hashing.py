"""Keccak-256 as one call into pycryptodome.

`eth_utils.keccak` reaches the same pycryptodome function through type dispatch and the
eth-hash backend layer: half of its cost on the short inputs a signed request hashes four
times (message, EIP-191 digest, public key to address, EIP-55 checksum)."""
from __future__ import annotations

from Crypto.Hash import keccak as _keccak


def keccak256(data: bytes) -> bytes:
    return _keccak.new(digest_bits=256, data=data).digest()
