"""Signing and sending transactions with a local key (no unlocked node accounts)."""
from __future__ import annotations

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.types import TxReceipt

from provider.errors import ProviderError


class TransactionFailed(ProviderError):
    """A transaction the provider sent reverted."""


def send_transaction(w3: Web3, account: LocalAccount, call, *, value: int = 0, timeout: float = 60) -> TxReceipt:
    """Build, sign and send a contract call or constructor; wait for a successful receipt."""
    tx = call.build_transaction(
        {
            "from": account.address,
            "nonce": w3.eth.get_transaction_count(account.address, "pending"),
            "chainId": w3.eth.chain_id,
            "value": value,
        }
    )
    signed = account.sign_transaction(tx)
    tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=timeout, poll_latency=0.05)
    if receipt["status"] != 1:
        raise TransactionFailed(f"transaction {tx_hash.to_0x_hex()} reverted")
    return receipt
