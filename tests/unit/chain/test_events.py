"""The event decoder against web3's own `process_receipt` on the same logs, in both receipt forms."""
import eth_abi
import pytest
from hexbytes import HexBytes
from web3 import Web3
from web3.logs import DISCARD

from provider.chain.contracts import abi
from provider.chain.events import decode_own_logs, event_shape

TOKEN = "0x" + "ab" * 20
OTHER = "0x" + "cd" * 20
CONSUMER = "0x" + "12" * 20
PAYER = "0x" + "34" * 20
MARKET = "0x" + "56" * 20


def _topic_address(address: str) -> bytes:
    return eth_abi.encode(["address"], [address])


def order_started_log(address: str = TOKEN, service_index: int = 1) -> dict:
    shape = event_shape("ERC20Template", "OrderStarted")
    return {"address": Web3.to_checksum_address(address),
            "topics": [HexBytes(shape.topic), HexBytes(_topic_address(CONSUMER)), HexBytes(_topic_address(MARKET))],
            "data": HexBytes(eth_abi.encode(list(shape.data_types), [PAYER, 10**18, service_index, 1700000000, 42]))}


def provider_fee_log(address: str = TOKEN) -> dict:
    shape = event_shape("ERC20Template", "ProviderFee")
    return {"address": Web3.to_checksum_address(address),
            "topics": [HexBytes(shape.topic), HexBytes(_topic_address(CONSUMER)), HexBytes(_topic_address(OTHER))],
            "data": HexBytes(eth_abi.encode(list(shape.data_types),
                                            [7, b'{"environment": "x"}', 27, b"\x01" * 32, b"\x02" * 32, 1800000000]))}


def raw(log: dict) -> dict:
    """The same log as a node's JSON answer gives it: lower-case 0x-hex strings."""
    return {"address": log["address"].lower(), "topics": ["0x" + bytes(t).hex() for t in log["topics"]],
            "data": "0x" + bytes(log["data"]).hex(), "logIndex": "0x0"}


def web3_decoded(logs: list[dict], event_name: str, address: str) -> list[dict]:
    contract = Web3().eth.contract(address=Web3.to_checksum_address(address), abi=abi("ERC20Template"))
    web3_logs = [dict(log, logIndex=i, transactionIndex=0, transactionHash=HexBytes(b"\x00" * 32),
                      blockHash=HexBytes(b"\x00" * 32), blockNumber=1) for i, log in enumerate(logs)]
    own = [log for log in web3_logs if log["address"].lower() == address.lower()]
    return [dict(d["args"]) for d in getattr(contract.events, event_name)().process_receipt({"logs": own}, errors=DISCARD)]


@pytest.mark.parametrize("event_name, make", [("OrderStarted", order_started_log), ("ProviderFee", provider_fee_log)])
@pytest.mark.parametrize("form", ["web3", "raw"])
def test_decodes_as_web3_does(event_name, make, form):
    logs = [make(), make(OTHER), order_started_log(service_index=3)]
    given = [raw(log) for log in logs] if form == "raw" else logs
    ours = decode_own_logs(given, event_shape("ERC20Template", event_name), TOKEN)
    assert ours == web3_decoded(logs, event_name, TOKEN)
    assert ours  # the comparison is not between two empty lists


def test_only_the_named_address_counts():
    logs = [raw(order_started_log(OTHER)), raw(order_started_log(OTHER))]
    assert decode_own_logs(logs, event_shape("ERC20Template", "OrderStarted"), TOKEN) == []


def test_addresses_come_back_checksummed():
    (args,) = decode_own_logs([raw(order_started_log())], event_shape("ERC20Template", "OrderStarted"), TOKEN)
    assert args["consumer"] == Web3.to_checksum_address(CONSUMER)
    assert args["payer"] == Web3.to_checksum_address(PAYER)
    assert args["serviceIndex"] == 1


@pytest.mark.parametrize("spoil", [
    lambda log: log.update(topics=log["topics"][:2]),                       # an indexed argument missing
    lambda log: log.update(topics=log["topics"] + ["0x" + "00" * 32]),      # one topic too many
    lambda log: log.update(topics=["0x" + "ff" * 32] + log["topics"][1:]),  # another event's topic
    lambda log: log.update(data="0x" + "00" * 10),                          # data too short for the types
    lambda log: log.update(data="0xzz"),                                    # not hex
    lambda log: log.update(topics=None),                                    # not a list
    lambda log: log.pop("data"),
    lambda log: log.update(address=12),
])
def test_malformed_logs_are_skipped(spoil):
    good, bad = raw(order_started_log()), raw(order_started_log())
    spoil(bad)
    decoded = decode_own_logs([bad, good], event_shape("ERC20Template", "OrderStarted"), TOKEN)
    assert len(decoded) == 1 and decoded[0]["consumer"] == Web3.to_checksum_address(CONSUMER)


def test_not_an_address_matches_nothing():
    assert decode_own_logs([raw(order_started_log())], event_shape("ERC20Template", "OrderStarted"), "nope") == []
