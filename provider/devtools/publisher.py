"""Publishing assets the way ocean.py and ocean.js do, with real transactions.

Used by `make run` (the demo dataset) and by the tests: create a data NFT with a datatoken
through the ERC721Factory, encrypt the service files to the provider key, and publish the
DDO with `setMetaData` using any flag combination.
"""
from __future__ import annotations

import hashlib
import json
import lzma
from dataclasses import dataclass

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from web3 import Web3
from web3.logs import DISCARD

from provider.chain.contracts import abi
from provider.chain.tx import send_transaction
from provider.crypto.ecies import encrypt, public_key_hex
from provider.ddo.documents import FLAG_COMPRESSED, FLAG_ENCRYPTED
from provider.ddo.schema import make_did

ZERO = "0x0000000000000000000000000000000000000000"


def compact(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


@dataclass
class PublishedAsset:
    did: str
    nft_address: str
    datatoken_address: str
    ddo: dict
    tx_hash: str


class Publisher:
    def __init__(self, w3: Web3, factory_address: str, provider_key: str, provider_url: str):
        self.w3 = w3
        self.factory = w3.eth.contract(address=to_checksum_address(factory_address), abi=abi("ERC721Factory"))
        self.provider_public_key = public_key_hex(provider_key)
        self.provider_url = provider_url
        self.chain_id = w3.eth.chain_id

    def create_nft_with_datatoken(self, owner: LocalAccount, name: str = "Data NFT", template_index: int = 1):
        receipt = send_transaction(self.w3, owner, self.factory.functions.createNftWithErc20(
            (name, "DN", 1, "https://example.com/nft", True, owner.address),
            (template_index, ["Datatoken", "DT"], [owner.address, owner.address, owner.address, ZERO],
             [10**27, 0], []),
        ))
        nft = self.factory.events.NFTCreated().process_receipt(receipt, errors=DISCARD)
        token = self.factory.events.TokenCreated().process_receipt(receipt, errors=DISCARD)
        nft = [e for e in nft if e["address"] == self.factory.address][0]["args"]["newTokenAddress"]
        dt = [e for e in token if e["address"] == self.factory.address][0]["args"]["newTokenAddress"]
        return to_checksum_address(nft), to_checksum_address(dt)

    def encrypt_files(self, nft: str, datatoken: str, files: list[dict]) -> str:
        plain = compact({"datatokenAddress": datatoken, "nftAddress": nft, "files": files})
        return "0x" + encrypt(self.provider_public_key, plain).hex()

    def make_ddo(self, nft: str, datatoken: str, files: list[dict], *, service_type: str = "access",
                 timeout: int = 3600, metadata: dict | None = None, compute: dict | None = None,
                 credentials: dict | None = None, extra_services: list[dict] | None = None) -> dict:
        service = {
            "id": "0" if service_type == "access" else "1",
            "type": service_type,
            "files": self.encrypt_files(nft, datatoken, files),
            "datatokenAddress": datatoken,
            "serviceEndpoint": self.provider_url,
            "timeout": timeout,
        }
        if compute is not None:
            # what ocean.py's publishing fills in; the DDO schema requires both flags
            service["compute"] = {"allowRawAlgorithm": False, "allowNetworkAccess": False,
                                  "publisherTrustedAlgorithms": [], "publisherTrustedAlgorithmPublishers": [],
                                  **compute}
        ddo = {
            "@context": ["https://w3id.org/did/v1"],
            "id": make_did(nft, self.chain_id),
            "version": "4.1.0",
            "chainId": self.chain_id,
            "nftAddress": nft,
            "metadata": metadata or {
                "created": "2026-11-25T00:00:00Z", "updated": "2026-11-25T00:00:00Z",
                "type": "dataset", "name": "Demo dataset", "description": "A demo dataset",
                "author": "Ocean", "license": "CC0",
            },
            "services": [service] + list(extra_services or []),
            "credentials": credentials or {"allow": [], "deny": []},
        }
        return ddo

    def encode(self, ddo: dict | bytes, flags: int) -> tuple[bytes, bytes]:
        """(on-chain data, documentHash) for a DDO and a flag combination."""
        plain = ddo if isinstance(ddo, bytes) else compact(ddo)
        data = plain
        if flags & FLAG_COMPRESSED:
            data = lzma.compress(data)
        if flags & FLAG_ENCRYPTED:
            data = encrypt(self.provider_public_key, data)
        return data, hashlib.sha256(plain).digest()

    def set_metadata(self, owner: LocalAccount, nft: str, ddo: dict | bytes, flags: int = 2, state: int = 0,
                     data: bytes | None = None, document_hash: bytes | None = None) -> str:
        encoded, digest = self.encode(ddo, flags)
        contract = self.w3.eth.contract(address=nft, abi=abi("ERC721Template"))
        receipt = send_transaction(self.w3, owner, contract.functions.setMetaData(
            state, self.provider_url, owner.address, bytes([flags]),
            encoded if data is None else data, digest if document_hash is None else document_hash, [],
        ))
        return receipt["transactionHash"].to_0x_hex()

    def set_state(self, owner: LocalAccount, nft: str, state: int) -> str:
        contract = self.w3.eth.contract(address=nft, abi=abi("ERC721Template"))
        return send_transaction(self.w3, owner, contract.functions.setMetaDataState(state))["transactionHash"].to_0x_hex()

    def publish(self, owner: LocalAccount, files: list[dict], flags: int = 2, **ddo_options) -> PublishedAsset:
        nft, datatoken = self.create_nft_with_datatoken(owner)
        ddo = self.make_ddo(nft, datatoken, files, **ddo_options)
        tx = self.set_metadata(owner, nft, ddo, flags)
        return PublishedAsset(ddo["id"], nft, datatoken, ddo, tx)
