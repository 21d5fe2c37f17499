"""Ocean Node commands that are not Provider operations (`POST /directCommand`), no Flask here.

ocean.js 8 asks `{"command": "status"}` (`ProviderInstance.getNodeStatus`) and reads `id`,
`address`, `version` and `provider[]`; the rest mirrors Ocean Node's status object with what
this provider really is (HTTP only, no libp2p; the chains it serves and how far its indexer
got). Other commands are refused by name: an Ocean Node's P2P and admin commands do not exist
here.
"""
from __future__ import annotations

import platform
import time
from typing import Any

from provider import VERSION
from provider.errors import InvalidRequest
from provider.services import ProviderServices

STARTED = time.time()
SUPPORTED_COMMANDS = ("status",)


def direct_command(services: ProviderServices, body: Any) -> dict[str, Any]:
    command = body.get("command") if isinstance(body, dict) else None
    if command == "status":
        return node_status(services)
    if not isinstance(command, str) or not command:
        raise InvalidRequest("Missing or invalid command: send {\"command\": \"status\"}.")
    raise InvalidRequest(f"Command {command[:64]!r} is not supported here; supported: "
                         + ", ".join(SUPPORTED_COMMANDS) + ".")


def node_status(services: ProviderServices) -> dict[str, Any]:
    chains = list(services.chains)
    first = chains[0] if chains else None
    address = first.provider_address if first else None
    access = services.settings.access
    indexed = {indexer.chain.chain_id: max(0, indexer.last_indexed_block()) for indexer in services.indexers}
    return {
        "id": address,
        "publicKey": first.node_public_key if first else None,
        "friendlyName": "Ocean Provider",
        "address": address,
        "version": VERSION,
        "http": True,
        "p2p": False,
        "provider": [{"chainId": str(c.chain_id), "network": c.network_name} for c in chains],
        "indexer": [{"chainId": str(c.chain_id), "network": c.network_name, "block": str(indexed.get(c.chain_id, 0))}
                    for c in chains],
        "escrowAddress": {},
        "supportedStorage": {"url": True, "arwave": bool(access.arweave_gateway), "ipfs": bool(access.ipfs_gateway)},
        "platform": {"os": platform.system().lower(), "arch": platform.machine(),
                     "python": platform.python_version()},
        "codeHash": None,
        "allowedAdmins": {"addresses": [], "accessLists": None},
        "uptime": round(time.time() - STARTED, 3),
    }
