"""The request-signature scheme of Ocean clients, as pure functions.

    h      = keccak256(utf8(message + str(nonce)))
    digest = keccak256(b"\\x19Ethereum Signed Message:\\n32" + h)
    sig    = r (32) || s (32) || v (1)

ocean.py signs with v = 0/1, ocean.js and wallets with v = 27/28; both are accepted. Addresses
are compared as their 20 bytes (any letter case of a valid address is the same address).

Checksumming costs a keccak; `provider.crypto.addresses` remembers the addresses it has seen, so
a signed request pays for one however often its address is parsed, compared and keyed.

>>> key = "0x" + "11" * 32
>>> sig = sign_message(key, "did:op:abc1")
>>> recover_signer("did:op:abc1", sig) == address_of(key)
True
>>> recover_signer("did:op:abc1", sig[:-2] + format(int(sig[-2:], 16) - 27, "02x")) == address_of(key)
True
"""
from __future__ import annotations

import coincurve
from eth_keys import keys

from provider.crypto.addresses import checksum_of_lower, is_valid_address
from provider.crypto.hashing import keccak256
from provider.errors import InvalidRequest

_PREFIX = b"\x19Ethereum Signed Message:\n32"


class SignatureError(InvalidRequest):
    """The signature cannot be parsed or does not recover to an address."""


def message_digest(message: str) -> bytes:
    """The 32-byte digest that is signed for a request message."""
    return keccak256(_PREFIX + keccak256(message.encode("utf-8")))


def prefixed_hash_digest(hash32: bytes) -> bytes:
    """EIP-191 digest over an existing 32-byte hash (provider fees, DDO validation proofs)."""
    if len(hash32) != 32:
        raise ValueError("expected a 32-byte hash")
    return keccak256(_PREFIX + hash32)


def compact_signature(signature: str) -> bytes:
    """r (32) || s (32) || recovery id (0 or 1) from the 0x-hex forms clients send."""
    text = signature.removeprefix("0x") if isinstance(signature, str) else ""
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise SignatureError("signature is not hex") from None
    if len(raw) != 65:
        raise SignatureError("signature must be 65 bytes")
    v = raw[64]
    if v in (27, 28):
        v -= 27
    if v not in (0, 1):
        raise SignatureError("signature v must be 0, 1, 27 or 28")
    return raw[:64] + bytes((v,))


def recover_digest_signer(digest: bytes, signature: str) -> str:
    """The checksummed address that made `signature` over `digest`.

    Straight to libsecp256k1 through coincurve (the backend eth_keys itself uses): eth_keys'
    Signature and PublicKey objects around the same call were a third of a recovery. The
    library refuses what eth_keys refuses: r or s of zero or not below the curve order, a
    signature that recovers no point."""
    compact = compact_signature(signature)
    try:
        point = coincurve.PublicKey.from_signature_and_message(compact, digest, hasher=None)
    except (ValueError, TypeError) as exc:
        raise SignatureError("signature does not recover to an address") from exc
    return checksum_of_lower("0x" + keccak256(point.format(compressed=False)[1:])[-20:].hex())


def message_hash_text_digest(message: str) -> bytes:
    """The digest when a wallet signed the 0x-hex *text* of keccak256(message) instead of its 32
    bytes (66 characters under EIP-191); Ocean Node accepts both encodings of a command."""
    text = "0x" + keccak256(message.encode("utf-8")).hex()
    return keccak256(b"\x19Ethereum Signed Message:\n66" + text.encode("ascii"))


def recover_signers(message: str, signature: str) -> tuple[str, str]:
    """The addresses `signature` recovers to under both encodings of a node command message:
    (over the 32-byte hash, over its hex text). Raises SignatureError when it cannot be parsed."""
    return (recover_digest_signer(message_digest(message), signature),
            recover_digest_signer(message_hash_text_digest(message), signature))


def recover_signer(message: str, signature: str) -> str:
    """Checksummed address that signed `message` (already including the nonce)."""
    return recover_digest_signer(message_digest(message), signature)


def same_address(a: str, b: str) -> bool:
    """Address equality regardless of case; False for anything that is not an address."""
    return is_valid_address(a) and is_valid_address(b) and a.lower() == b.lower()


def address_of(private_key: str) -> str:
    return keys.PrivateKey(bytes.fromhex(private_key.removeprefix("0x"))).public_key.to_checksum_address()


def sign_digest(private_key: str, digest: bytes) -> tuple[int, bytes, bytes]:
    """(v in 27/28, r, s) over a 32-byte digest; the form contracts ecrecover."""
    sig = keys.PrivateKey(bytes.fromhex(private_key.removeprefix("0x"))).sign_msg_hash(digest)
    return sig.v + 27, sig.r.to_bytes(32, "big"), sig.s.to_bytes(32, "big")


def sign_message(private_key: str, message: str) -> str:
    """0x-hex signature with v = 27/28, as ocean.js produces."""
    v, r, s = sign_digest(private_key, message_digest(message))
    return "0x" + (r + s + bytes([v])).hex()
