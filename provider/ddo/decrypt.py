"""The decrypt endpoint's rules: who may read a published document, and its integrity.

Checks run in the reference's order (provider-api.md §2.4): signature and nonce (consumed
first), authorised decrypters, NFT from the Ocean factory, the document (from the
transaction or the arguments), the on-chain metadata state, decryption and decompression,
then the hash. Two fixes: decrypter addresses match regardless of case, and a transaction's
metadata logs are taken only from the NFT named in the request, so a transaction that
touches several NFTs cannot make us decrypt another one's document under this NFT's checks.
"""
from __future__ import annotations

from dataclasses import dataclass

from eth_utils import is_address, to_checksum_address
from web3.exceptions import TransactionNotFound, Web3Exception

from provider.auth.messages import signed_message
from provider.auth.service import RequestAuthenticator
from provider.auth.signatures import same_address
from provider.chain.client import Chains
from provider.ddo.documents import (
    DECRYPTABLE_STATES, REFUSED_STATE_MESSAGES, decode_document, hash_matches,
)
from provider.stores.audit import AuditTrail
from provider.errors import InvalidRequest, NotAuthorized, ValidationError


@dataclass(frozen=True)
class DecryptRequest:
    decrypter_address: str
    chain_id: object
    nft_address: str
    nonce: object
    signature: str | None
    auth_token: str | None
    transaction_id: str | None
    encrypted_document: str | None
    flags: object
    document_hash: str | None


def _hex_bytes(value) -> bytes:
    if not isinstance(value, str):
        raise ValueError("not a hex string")
    return bytes.fromhex(value.removeprefix("0x"))


class DecryptService:
    audit = AuditTrail.disabled()  # the provider's trail is set by `services.build_services`

    def __init__(self, chains: Chains, authenticator: RequestAuthenticator, authorized_decrypters: tuple[str, ...],
                 max_document_bytes: int):
        self.chains = chains
        self.max_document_bytes = max_document_bytes
        self.authenticator = authenticator
        self.authorized = authorized_decrypters

    def decrypt(self, req: DecryptRequest) -> bytes:
        with self.audit.action("decrypt", did=None, address=req.decrypter_address, chainId=req.chain_id,
                               nftAddress=req.nft_address, transactionId=req.transaction_id):
            return self._decrypt(req)

    def _decrypt(self, req: DecryptRequest) -> bytes:
        for name, value in (("decrypterAddress", req.decrypter_address), ("dataNftAddress", req.nft_address)):
            if not is_address(value):
                raise ValidationError.field(name, f"The {name} field must be an address.")
        message = signed_message("decrypt", transactionId_dataNftAddress=req.transaction_id or req.nft_address,
                                 decrypterAddress=req.decrypter_address, chainId=req.chain_id)
        # An Ocean Node indexing our asset signs `decrypterAddress + nonce + "decryptDDO"`.
        self.authenticator.authorize(
            signer=req.decrypter_address, message=message, nonce=req.nonce,
            signature=req.signature, auth_token=req.auth_token, node_action="decryptDDO",
            address_as_sent=req.decrypter_address,
        )
        chain = self.chains.find(req.chain_id)
        if chain is None:
            raise InvalidRequest("Unsupported chain ID")
        if self.authorized and not any(same_address(a, req.decrypter_address) for a in self.authorized):
            raise NotAuthorized("Decrypter not authorized")

        nft = to_checksum_address(req.nft_address)
        listed = chain.call(lambda: chain.factory().functions.erc721List(nft).call())
        if to_checksum_address(listed) != nft:
            raise InvalidRequest("Asset not deployed by the data NFT factory.")

        if req.transaction_id:
            data, flags, document_hash = self._from_transaction(chain, nft, req.transaction_id)
        else:
            try:
                data = _hex_bytes(req.encrypted_document)
                flags = int(req.flags)
                if not 0 <= flags <= 255:
                    raise ValueError("flags is one byte")
                document_hash = _hex_bytes(req.document_hash)
                if len(document_hash) != 32:
                    raise ValueError("hash is 32 bytes")
            except (TypeError, ValueError):
                raise InvalidRequest("Failed to convert input args to bytes.") from None

        state = chain.call(lambda: chain.contract("ERC721Template", nft).functions.getMetaData().call()[2])
        if state in REFUSED_STATE_MESSAGES:
            raise NotAuthorized(REFUSED_STATE_MESSAGES[state])
        if state not in DECRYPTABLE_STATES:
            raise InvalidRequest("Invalid MetadataState")

        document = decode_document(data, flags, chain.settings.private_key, self.max_document_bytes)
        if not hash_matches(document, document_hash, flags):
            raise InvalidRequest("Checksum doesn't match.")
        return document

    @staticmethod
    def _from_transaction(chain, nft: str, tx_id: str) -> tuple[bytes, int, bytes]:
        try:
            receipt = chain.call(chain.w3.eth.get_transaction_receipt, "0x" + tx_id.removeprefix("0x"))
            events = (chain.events_in(receipt, "ERC721Template", nft, "MetadataCreated")
                      or chain.events_in(receipt, "ERC721Template", nft, "MetadataUpdated"))
            args = events[0]
            return bytes(args["data"]), (args["flags"][0] if args["flags"] else 0), bytes(args["metaDataHash"])
        except (TransactionNotFound, Web3Exception, ValueError, IndexError, KeyError, TypeError):
            raise InvalidRequest("Failed to process transaction id.") from None
