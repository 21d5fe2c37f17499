"""ECIES on secp256k1, byte-compatible with eciespy 0.3/0.4 and eciesjs defaults.

Wire format (eciespy's default configuration, pinned explicitly so a library default change
cannot silently break existing DDOs): 65-byte uncompressed ephemeral public key, 16-byte
AES-256-GCM nonce, 16-byte tag, ciphertext; key = HKDF-SHA256(ephemeral pk || shared point).
"""
from __future__ import annotations

import ecies
from ecies.config import Config
from eth_keys import keys

from provider.errors import InvalidRequest

_CONFIG = Config(
    elliptic_curve="secp256k1",
    is_ephemeral_key_compressed=False,
    is_hkdf_key_compressed=False,
    symmetric_algorithm="aes-256-gcm",
    symmetric_nonce_length=16,
)


class DecryptionFailed(InvalidRequest):
    """A ciphertext that does not decrypt with the provider key."""


def public_key_hex(private_key: str) -> str:
    """64-byte public key as 0x-hex (the form eth_keys and ocean clients use)."""
    return keys.PrivateKey(bytes.fromhex(private_key.removeprefix("0x"))).public_key.to_hex()


def compressed_public_key(private_key: str) -> str:
    """33-byte compressed public key as 0x-hex: Ocean Node's `nodePublicKey`, which ocean.js 8
    accepts as hex (and encrypts job outputs and registry credentials to)."""
    public = keys.PrivateKey(bytes.fromhex(private_key.removeprefix("0x"))).public_key
    return "0x" + public.to_compressed_bytes().hex()


def encrypt(public_key: str, plaintext: bytes) -> bytes:
    return ecies.encrypt(public_key.removeprefix("0x"), plaintext, config=_CONFIG)


def decrypt(private_key: str, ciphertext: bytes) -> bytes:
    try:
        return ecies.decrypt(private_key.removeprefix("0x"), ciphertext, config=_CONFIG)
    except Exception as exc:  # the library raises ValueError, TypeError or cryptography errors
        raise DecryptionFailed("ciphertext cannot be decrypted with this key") from exc
