"""Provider fees (pure): the message the datatoken contract verifies, and its signature.

    providerData = compact JSON {"environment", "timestamp", "dt", "id"} (this key order)
    h      = keccak256(abi.encodePacked(bytes providerData, address feeAddress,
                                        address feeToken, uint256 amount, uint256 validUntil))
    digest = keccak256("\\x19Ethereum Signed Message:\\n32" || h), signed with v = 27/28

`startOrder`/`reuseOrder` recompute `h` on chain, so every field must be bit-exact.
"""
from __future__ import annotations

import functools

import json
from dataclasses import dataclass
from typing import Any

from eth_utils import to_checksum_address

from provider.auth.signatures import prefixed_hash_digest, recover_digest_signer, sign_digest
from provider.crypto.addresses import is_valid_address
from provider.crypto.hashing import keccak256


def provider_data(environment: str | None, timestamp: float, datatoken: str, service_id: str) -> bytes:
    return json.dumps({"environment": environment, "timestamp": timestamp, "dt": datatoken, "id": service_id},
                      separators=(",", ":")).encode()


def _address_bytes(address: str) -> bytes:
    if not is_valid_address(address):
        raise ValueError(f"not an address: {str(address)[:64]!r}")
    return bytes.fromhex(address[2:])


def _uint256(value: int) -> bytes:
    try:
        return int(value).to_bytes(32, "big")
    except OverflowError:
        raise ValueError("not a uint256") from None


def fee_digest(data: bytes, fee_address: str, fee_token: str, amount: int, valid_until: int) -> bytes:
    """The packed encoding built by hand: bytes as they are, addresses as 20 bytes, uint256 as 32
    big-endian bytes (the same as eth_abi's `encode_packed`, checked in tests, at a tenth of its
    cost: a fresh order's download recomputes it)."""
    packed = (bytes(data) + _address_bytes(fee_address) + _address_bytes(fee_token) + _uint256(amount)
              + _uint256(valid_until))
    return prefixed_hash_digest(keccak256(packed))


@dataclass(frozen=True)
class ProviderFee:
    fee_address: str
    fee_token: str
    amount: int
    data: bytes
    valid_until: int
    v: int
    r: bytes
    s: bytes

    def as_json(self) -> dict[str, Any]:
        """The reply shape clients pass unchanged to startOrder (amount as a string)."""
        return {
            "providerFeeAddress": self.fee_address,
            "providerFeeToken": self.fee_token,
            "providerFeeAmount": str(self.amount),
            "providerData": "0x" + self.data.hex(),
            "v": self.v,
            "r": "0x" + self.r.hex(),
            "s": "0x" + self.s.hex(),
            "validUntil": self.valid_until,
        }


def sign_provider_fee(private_key: str, fee_address: str, fee_token: str, amount: int, data: bytes,
                      valid_until: int) -> ProviderFee:
    v, r, s = sign_digest(private_key, fee_digest(data, fee_address, fee_token, amount, valid_until))
    return ProviderFee(to_checksum_address(fee_address), to_checksum_address(fee_token), int(amount), data,
                       int(valid_until), v, r, s)


@functools.lru_cache(maxsize=4096)
def fee_signer(data: bytes, fee_address: str, fee_token: str, amount: int, valid_until: int,
               v: int, r: bytes, s: bytes) -> str:
    """Address that signed a ProviderFee event's fields (remembered: every download of an order
    checks the same event again, and a recovery is a fifth of what a warm download costs)."""
    signature = "0x" + (bytes(r).rjust(32, b"\0") + bytes(s).rjust(32, b"\0") + bytes([v])).hex()
    return recover_digest_signer(fee_digest(data, fee_address, fee_token, amount, valid_until), signature)
