"""Keccak-256 as one call into C.

A signed request hashes four short inputs (message, EIP-191 digest, public key to address,
EIP-55 checksum). `safe-pysha3`'s `keccak_256` is a CPython extension type: about 1.5 µs a
hash, against 6-12 µs for pycryptodome's (each of its calls goes through ctypes) and more for
`eth_utils.keccak` (type dispatch and the eth-hash backend layer over pycryptodome).
pycryptodome remains the fallback where no `safe-pysha3` wheel exists; both are checked to
agree in tests/unit/crypto/test_hashing.py."""
from __future__ import annotations

from Crypto.Hash import keccak as _pycryptodome_keccak


def keccak256_pycryptodome(data: bytes) -> bytes:
    return _pycryptodome_keccak.new(digest_bits=256, data=data).digest()


try:
    from sha3 import keccak_256 as _keccak_256
except ImportError:  # pragma: no cover - platforms without a safe-pysha3 wheel
    keccak256 = keccak256_pycryptodome
else:
    def keccak256(data: bytes) -> bytes:
        return _keccak_256(data).digest()
