"""Contract event logs decoded straight from a receipt's logs (pure: no RPC, no web3 contract).

web3's `contract.events.X().process_receipt` builds the event's ABI machinery and runs every
log through several formatter layers; for a download on a fresh order that was about 40% of
reading the order (three decodes of a two-log receipt: 7 ms against 2 ms for the RPC calls).
An event's topic and argument types are worked out once per (contract, event) here and each
log is one `eth_abi.decode`. Logs come either from web3 (HexBytes topics and data, checksummed
address) or raw from the node (0x-hex strings); both decode alike.

The rules match web3's with `errors=DISCARD`: only logs the given address itself emitted
count (web3 decodes by topic alone), a log whose first topic is not the event's, whose topic
count is wrong or whose data does not fit the types is skipped. Address arguments come back
checksummed and indexed dynamic values (a string or bytes in a topic) as their 32-byte hash,
as web3 gives them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

import eth_abi
from eth_abi.exceptions import DecodingError
from eth_utils import event_abi_to_log_topic
from eth_utils.abi import collapse_if_tuple

from provider.chain.contracts import abi_entry
from provider.crypto.addresses import checksum_of_lower, is_valid_address

_DYNAMIC = ("string", "bytes")


@dataclass(frozen=True)
class EventShape:
    topic: bytes
    indexed: tuple[tuple[str, str], ...]   # (name, type) of the arguments carried in topics 1..n
    data_names: tuple[str, ...]            # the rest, ABI-encoded in the log's data
    data_types: tuple[str, ...]


_SHAPES: dict[tuple[str, str], EventShape] = {}


def event_shape(contract_name: str, event_name: str) -> EventShape:
    """The topic and argument layout of a contract's event, worked out once."""
    key = (contract_name, event_name)
    if key not in _SHAPES:
        entry = abi_entry(contract_name, "event", event_name)
        inputs = entry["inputs"]
        _SHAPES[key] = EventShape(
            topic=bytes(event_abi_to_log_topic(entry)),
            indexed=tuple((i["name"], collapse_if_tuple(i)) for i in inputs if i.get("indexed")),
            data_names=tuple(i["name"] for i in inputs if not i.get("indexed")),
            data_types=tuple(collapse_if_tuple(i) for i in inputs if not i.get("indexed")),
        )
    return _SHAPES[key]


def _as_bytes(value: Any) -> bytes:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, str):
        return bytes.fromhex(value[2:] if value[:2] in ("0x", "0X") else value)
    raise ValueError("not bytes")


def _normalised(value: Any, abi_type: str) -> Any:
    if abi_type == "address":
        return checksum_of_lower(value.lower())
    if abi_type == "address[]":
        return [checksum_of_lower(v.lower()) for v in value]
    return value


def _decode(log: Any, shape: EventShape) -> dict[str, Any] | None:
    try:
        topics = [_as_bytes(t) for t in log["topics"]]
        if not topics or topics[0] != shape.topic or len(topics) != len(shape.indexed) + 1:
            return None
        args: dict[str, Any] = {}
        for (name, abi_type), topic in zip(shape.indexed, topics[1:]):
            if abi_type in _DYNAMIC or abi_type.endswith("]") or abi_type.startswith("("):
                args[name] = topic  # only the hash of a dynamic value is in the topic
            else:
                args[name] = _normalised(eth_abi.decode([abi_type], topic)[0], abi_type)
        values = eth_abi.decode(list(shape.data_types), _as_bytes(log["data"]))
        for name, abi_type, value in zip(shape.data_names, shape.data_types, values):
            args[name] = _normalised(value, abi_type)
        return args
    except (DecodingError, ValueError, TypeError, KeyError, OverflowError):
        return None


def decode_own_logs(logs: Iterable[Any], shape: EventShape, address: str) -> list[dict[str, Any]]:
    """Args of the `shape` events that `address` emitted among `logs`, in log order."""
    if not is_valid_address(address):
        return []
    own = address.lower()
    decoded = []
    for log in logs:
        emitter = log.get("address") if hasattr(log, "get") else None
        if not isinstance(emitter, str) or emitter.lower() != own:
            continue
        args = _decode(log, shape)
        if args is not None:
            decoded.append(args)
    return decoded
