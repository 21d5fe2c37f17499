"""Deploy the real Ocean v4 contracts to a development chain, in barge's order.

With this order on a fresh chain 8996 the addresses equal barge's, so ocean.py and ocean.js
development defaults work. The result is written as the `development` entry of an
ocean-contracts style address file.
"""
from __future__ import annotations

import json
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from provider.chain.contracts import artifact
from provider.chain.tx import send_transaction

DEAD = "0x000000000000000000000000000000000000dEaD"
OCEAN_MINT_OWNER = 1_000_000 * 10**18
OCEAN_MINT_OTHERS = 100_000 * 10**18


def dev_accounts(mnemonic: str, count: int = 10) -> list[LocalAccount]:
    Account.enable_unaudited_hdwallet_features()
    return [Account.from_mnemonic(mnemonic, account_path=f"m/44'/60'/0'/0/{i}") for i in range(count)]


def _deploy(w3: Web3, owner: LocalAccount, name: str, *args) -> str:
    art = artifact(name)
    factory = w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"])
    receipt = send_transaction(w3, owner, factory.constructor(*args))
    return receipt["contractAddress"]


def _contract(w3: Web3, name: str, address: str):
    return w3.eth.contract(address=address, abi=artifact(name)["abi"])


def deploy_ocean_contracts(w3: Web3, accounts: list[LocalAccount]) -> dict:
    """Deploy and wire the contracts; returns the address-file entry."""
    owner = accounts[0]
    start_block = w3.eth.block_number
    ocean = _deploy(w3, owner, "OceanToken", owner.address)
    ocean_c = _contract(w3, "OceanToken", ocean)
    send_transaction(w3, owner, ocean_c.functions.mint(owner.address, OCEAN_MINT_OWNER))
    for other in accounts[1:]:
        send_transaction(w3, owner, ocean_c.functions.mint(other.address, OCEAN_MINT_OTHERS))
    dai = _deploy(w3, owner, "MockERC20Decimals", "DAI", "DAI", 18)
    usdc = _deploy(w3, owner, "MockERC20Decimals", "USDC", "USDC", 6)
    collector = _deploy(w3, owner, "OPFCommunityFeeCollector", owner.address, owner.address)
    router = _deploy(w3, owner, "FactoryRouter", owner.address, ocean, DEAD, collector, [])
    fixed_rate = _deploy(w3, owner, "FixedRateExchange", router)
    erc20 = {str(i + 1): _deploy(w3, owner, name) for i, name in enumerate(
        ["ERC20Template", "ERC20TemplateEnterprise", "ERC20Template3", "ERC20Template4"])}
    erc721 = _deploy(w3, owner, "ERC721Template")
    dispenser = _deploy(w3, owner, "Dispenser", router)
    factory = _deploy(w3, owner, "ERC721Factory", erc721, erc20["1"], router)
    factory_c = _contract(w3, "ERC721Factory", factory)
    for index in ("2", "3", "4"):
        send_transaction(w3, owner, factory_c.functions.addTokenTemplate(erc20[index]))
    router_c = _contract(w3, "FactoryRouter", router)
    send_transaction(w3, owner, router_c.functions.addFactory(factory))
    send_transaction(w3, owner, router_c.functions.addFixedRateContract(fixed_rate))
    send_transaction(w3, owner, router_c.functions.addDispenserContract(dispenser))
    # deployed last, so every address above stays where barge has it
    access_list = _deploy(w3, owner, "AccessList")
    access_list_factory = _deploy(w3, owner, "AccessListFactory", access_list)
    escrow = _deploy(w3, owner, "Escrow", router, collector)
    return {
        "chainId": w3.eth.chain_id,
        "startBlock": start_block,
        "Ocean": ocean,
        "MockDAI": dai,
        "MockUSDC": usdc,
        "OPFCommunityFeeCollector": collector,
        "Router": router,
        "FixedPrice": fixed_rate,
        "Dispenser": dispenser,
        "ERC721Factory": factory,
        "ERC721Template": {"1": erc721},
        "ERC20Template": erc20,
        "AccessListFactory": access_list_factory,
        "AccessList": {"1": access_list},
        "Escrow": escrow,
    }


def existing_deployment(w3: Web3, address_file: Path) -> dict | None:
    """The address file's development entry, if its contracts are live on this chain."""
    if not address_file.exists():
        return None
    try:
        entry = json.loads(address_file.read_text()).get("development")
    except json.JSONDecodeError:
        return None
    if not entry or int(entry.get("chainId", -1)) != w3.eth.chain_id:
        return None
    if len(w3.eth.get_code(Web3.to_checksum_address(entry["ERC721Factory"]))) == 0:
        return None
    if any(name not in entry for name in ("AccessListFactory", "Escrow")):
        return None  # written before those were deployed: deploy a complete set
    return entry


def ensure_deployed(w3: Web3, mnemonic: str, address_file: Path) -> dict:
    """Deploy unless the chain already has the contracts the address file names."""
    entry = existing_deployment(w3, address_file)
    if entry is None:
        entry = deploy_ocean_contracts(w3, dev_accounts(mnemonic))
        write_address_entry(address_file, "development", entry)
    return entry


def write_address_entry(address_file: Path, network: str, entry: dict) -> None:
    address_file.parent.mkdir(parents=True, exist_ok=True)
    data = {}
    if address_file.exists():
        try:
            data = json.loads(address_file.read_text())
        except json.JSONDecodeError:
            data = {}
    data[network] = entry
    tmp = address_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2))
    tmp.replace(address_file)
