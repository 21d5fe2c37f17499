"""Ocean v4 contract artifacts and address files.

ABIs and bytecode come only from the `ocean-contracts` wheel (its top-level `artifacts`
package); nothing is pasted by hand. The address file has the shape of ocean-contracts'
`address.json`: network name -> {"chainId", "startBlock", "Ocean", "ERC721Factory", ...}.
"""
from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from provider.errors import ConfigurationError

# Chain 8996 is called "Ganache" in the reference's messages ("Provider Ganache: ...").
_DEVELOPMENT_NAMES = {8996: "Ganache"}


@lru_cache(maxsize=None)
def artifact(name: str) -> dict[str, Any]:
    """The compiled artifact (abi, bytecode) of an ocean-contracts contract."""
    try:
        text = resources.files("artifacts").joinpath(f"{name}.json").read_text()
    except FileNotFoundError:
        raise KeyError(f"no artifact named {name}") from None
    return json.loads(text)


def abi(name: str) -> list[dict[str, Any]]:
    return artifact(name)["abi"]


def abi_entry(contract_name: str, entry_type: str, name: str) -> dict[str, Any]:
    """The one `entry_type` ("function", "event") of a contract named `name`; a missing or
    overloaded name is a configuration error, not something to guess between."""
    entries = [e for e in abi(contract_name) if e.get("type") == entry_type and e.get("name") == name]
    if len(entries) != 1:
        raise ConfigurationError(f"{contract_name} has {len(entries)} {entry_type}s named {name}")
    return entries[0]


def bundled_address_file() -> Path:
    return Path(str(resources.files("addresses").joinpath("address.json")))


def read_address_file(path: Path) -> dict[str, Any]:
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ConfigurationError(f"address file {path} does not exist") from None
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"address file {path} is not JSON: {exc.msg}") from None


def network_entry(addresses: dict[str, Any], chain_id: int) -> tuple[str, dict[str, Any]]:
    """(network name, addresses) of the entry whose chainId matches."""
    for name, entry in addresses.items():
        if isinstance(entry, dict) and int(entry.get("chainId", -1)) == int(chain_id):
            return name, entry
    raise ConfigurationError(f"address file has no network with chainId {chain_id}")


def network_display_name(addresses: dict[str, Any], chain_id: int) -> str:
    """The name used in "Provider <name>: ..." messages."""
    if int(chain_id) in _DEVELOPMENT_NAMES:
        return _DEVELOPMENT_NAMES[int(chain_id)]
    try:
        return network_entry(addresses, chain_id)[0]
    except ConfigurationError:
        return "Unknown"
