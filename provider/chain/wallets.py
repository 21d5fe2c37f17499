"""Contract wallets (ERC-1271): a smart account signs by answering `isValidSignature`.

Ocean Node accepts a command signed by a contract wallet when the wallet's code says the
signature is its own: `isValidSignature(keccak256(message), sig)`, then
`isValidSignature(hashMessage(message), sig)` (the EIP-191 personal hash of the text), each
returning the magic value 0x1626ba7e. Asked on the first configured chain, as the node does.
Anything that goes wrong (no code, a revert, an unreachable node) is "not accepted".
"""
from __future__ import annotations

from eth_utils import keccak, to_checksum_address

from provider.chain.client import Chains

MAGIC_VALUE = bytes.fromhex("1626ba7e")
_IS_VALID_SIGNATURE = keccak(text="isValidSignature(bytes32,bytes)")[:4]


def personal_message_hash(message: str) -> bytes:
    data = message.encode("utf-8")
    return keccak(b"\x19Ethereum Signed Message:\n" + str(len(data)).encode() + data)


def encode_is_valid_signature(digest: bytes, signature: bytes) -> bytes:
    """Calldata for isValidSignature(bytes32, bytes) (pure ABI encoding)."""
    padded = signature + b"\0" * (-len(signature) % 32)
    return (_IS_VALID_SIGNATURE + digest + (64).to_bytes(32, "big") + len(signature).to_bytes(32, "big")
            + padded)


class ContractWallets:
    def __init__(self, chains: Chains):
        self.chains = chains

    def accepts(self, address: str, message: str, signature: str) -> bool:
        chain = next(iter(self.chains), None)
        if chain is None:
            return False
        try:
            raw = bytes.fromhex(signature.removeprefix("0x"))
            wallet = to_checksum_address(address)
            if not chain.w3.eth.get_code(wallet):
                return False
            for digest in (keccak(message.encode("utf-8")), personal_message_hash(message)):
                answer = chain.w3.eth.call({"to": wallet, "data": encode_is_valid_signature(digest, raw)})
                if bytes(answer)[:4] == MAGIC_VALUE:
                    return True
        except Exception:  # a revert, garbage, an unreachable node: not a valid signature
            return False
        return False
