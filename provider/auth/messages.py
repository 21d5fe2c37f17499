"""Every signed message of every endpoint, in one table (pure).

A classic client signs `keccak256(message + nonce)` where the message is the concatenation of
a few request fields (`provider.auth.signatures`). Several actions sign strings of the same
shape: ocean.py signs status, stop and delete alike (`consumer + jobId + did`), and a status
listing without a job id (`consumer + did`) reads exactly like a compute start. So the defence
against replaying a signature made for one action as another is the nonce: every action that
accepts a signature consumes its nonce, atomically, before it does anything
(`RequestAuthenticator.authorize`), so each signed message is accepted once, by one action,
whichever it was made for. The code builds every message through `signed_message`, so what
is verified is what this table says; `tests/security/test_signed_messages.py` replays each
one against every other action.

ocean.js 8 speaks Ocean Node's scheme on the same paths (`NODE_COMMANDS`): the message names
its command, `address + nonce + command`, so a node signature is never the message of another
node action, and the nonce (strictly greater, consumed first) makes either kind single-use.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SignedAction:
    endpoint: str               # METHOD path
    fields: tuple[str, ...]     # request fields concatenated, in order, before the nonce
    consumes_nonce: bool = True


SIGNED_ACTIONS: dict[str, SignedAction] = {
    "createAuthToken": SignedAction("GET /api/services/createAuthToken", ("address",)),
    "deleteAuthToken": SignedAction("DELETE /api/services/deleteAuthToken", ("address",)),
    "download": SignedAction("GET /api/services/download", ("documentId",)),
    # transactionId when the document is named by its transaction, else dataNftAddress
    "decrypt": SignedAction("POST /api/services/decrypt", ("transactionId|dataNftAddress", "decrypterAddress",
                                                           "chainId")),
    "computeStart": SignedAction("POST /api/services/compute", ("consumerAddress", "dataset.documentId")),
    "computeStatus": SignedAction("GET /api/services/compute", ("consumerAddress", "jobId", "documentId")),
    "computeStop": SignedAction("PUT /api/services/compute", ("consumerAddress", "jobId", "documentId")),
    "computeDelete": SignedAction("DELETE /api/services/compute", ("consumerAddress", "jobId", "documentId")),
    "computeResult": SignedAction("GET /api/services/computeResult", ("consumerAddress", "jobId", "index")),
    "computeStreamableLogs": SignedAction("GET /api/services/computeStreamableLogs", ("consumerAddress", "jobId")),
    "auditTrail": SignedAction("GET /api/services/auditTrail", ("address", "did")),
    "heldResults": SignedAction("GET /api/services/heldResults", ("address", "did")),
    "heldResult": SignedAction("GET /api/services/heldResult", ("address", "jobId", "index")),
    "reviewResults": SignedAction("POST /api/services/reviewResults", ("address", "jobId", "decision")),
}


@dataclass(frozen=True)
class NodeCommand:
    """An Ocean Node signed command (ocean.js 8.x): the client signs `address + nonce + command`
    (`command` None: `address + nonce`, ocean.js's invalidateAuthToken), over the hash's 32
    bytes or its hex text (`signatures.recover_signers`)."""
    endpoint: str
    command: str | None


NODE_COMMANDS: dict[str, NodeCommand] = {
    "encrypt": NodeCommand("POST /api/services/encrypt", "encrypt"),
    "download": NodeCommand("GET /api/services/download", "download"),
    "createAuthToken": NodeCommand("POST /api/services/auth/token", "createAuthToken"),
    "invalidateAuthToken": NodeCommand("POST /api/services/auth/token/invalidate", None),
    "validateDDO": NodeCommand("POST /api/aquarius/assets/ddo/validate", "validateDDO"),
    "decryptDDO": NodeCommand("POST /api/services/decrypt", "decryptDDO"),
    "startCompute": NodeCommand("POST /api/services/compute", "startCompute"),
    "freeStartCompute": NodeCommand("POST /api/services/freeCompute", "freeStartCompute"),
    "stopCompute": NodeCommand("PUT /api/services/compute", "stopCompute"),
    "getComputeResult": NodeCommand("GET /api/services/computeResult", "getComputeResult"),
    "getComputeStreamableLogs": NodeCommand("GET /api/services/computeStreamableLogs", "getComputeStreamableLogs"),
}


def node_message(action: str, address: str, nonce: str) -> str:
    """What an Ocean Node client signs for `action` (the address exactly as it sent it)."""
    return f"{address}{nonce}{NODE_COMMANDS[action].command or ''}"


def signed_message(action: str, **values: Any) -> str:
    """The message (without the nonce) a client signs for `action`, from its request fields.
    Field names with dots or bars are passed with underscores (`dataset_documentId`,
    `transactionId_dataNftAddress`); a missing or empty field counts as ""."""
    spec = SIGNED_ACTIONS[action]
    keys = [name.replace(".", "_").replace("|", "_") for name in spec.fields]
    unknown = set(values) - set(keys)
    if unknown:
        raise KeyError(f"{action} signs no field {sorted(unknown)}")
    return "".join(str(values.get(key) or "") for key in keys)
