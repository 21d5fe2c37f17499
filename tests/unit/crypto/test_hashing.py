import os

from provider.crypto.hashing import keccak256, keccak256_pycryptodome


def test_keccak256_of_known_inputs():
    # Ethereum's Keccak-256 (original padding), not NIST SHA3-256.
    assert keccak256(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    assert keccak256(b"transfer(address,uint256)")[:4].hex() == "a9059cbb"


def test_the_fast_keccak_agrees_with_pycryptodome_across_block_boundaries():
    # 136 bytes is Keccak-256's rate: lengths around one and two blocks exercise the padding.
    for length in list(range(0, 300)) + [1000, 65536]:
        data = os.urandom(length)
        assert keccak256(data) == keccak256_pycryptodome(data), length
