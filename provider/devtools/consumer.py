"""Ordering the way clients do: take the provider fee from `initialize`, then `startOrder`
(or `reuseOrder`) on the datatoken. Used by the tests and benchmarks."""
from __future__ import annotations

from eth_account.signers.local import LocalAccount
from web3 import Web3

from provider.chain.contracts import abi
from provider.chain.tx import send_transaction

ZERO = "0x0000000000000000000000000000000000000000"


def fee_tuple(fee: dict) -> tuple:
    return (Web3.to_checksum_address(fee["providerFeeAddress"]), Web3.to_checksum_address(fee["providerFeeToken"]),
            int(fee["providerFeeAmount"]), int(fee["v"]), bytes.fromhex(fee["r"][2:]), bytes.fromhex(fee["s"][2:]),
            int(fee["validUntil"]), bytes.fromhex(fee["providerData"][2:]))


def datatoken(w3: Web3, address: str):
    return w3.eth.contract(address=Web3.to_checksum_address(address), abi=abi("ERC20Template"))


def mint(w3: Web3, minter: LocalAccount, token: str, to: str, amount: int = 10 * 10**18) -> None:
    send_transaction(w3, minter, datatoken(w3, token).functions.mint(to, amount))


def approve_fee(w3: Web3, payer: LocalAccount, token: str, fee: dict) -> None:
    if int(fee["providerFeeAmount"]) > 0:
        erc20 = w3.eth.contract(address=Web3.to_checksum_address(fee["providerFeeToken"]), abi=abi("ERC20Template"))
        send_transaction(w3, payer, erc20.functions.approve(Web3.to_checksum_address(token), int(fee["providerFeeAmount"])))


def start_order(w3: Web3, payer: LocalAccount, token: str, service_index: int, fee: dict,
                consumer: str | None = None) -> str:
    approve_fee(w3, payer, token, fee)
    receipt = send_transaction(w3, payer, datatoken(w3, token).functions.startOrder(
        consumer or payer.address, service_index, fee_tuple(fee), (ZERO, ZERO, 0)))
    return receipt["transactionHash"].to_0x_hex()


def reuse_order(w3: Web3, payer: LocalAccount, token: str, order_tx: str, fee: dict) -> str:
    approve_fee(w3, payer, token, fee)
    receipt = send_transaction(w3, payer, datatoken(w3, token).functions.reuseOrder(
        bytes.fromhex(order_tx.removeprefix("0x")), fee_tuple(fee)))
    return receipt["transactionHash"].to_0x_hex()
