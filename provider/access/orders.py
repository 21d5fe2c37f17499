"""Is this transaction a valid order of this service by this consumer?

`read_order_evidence` (adapter) gathers the events; `check_order` (pure) decides. Hardened
against the reference (provider-api.md §4.6):
- logs are taken only from the service's datatoken address (web3 decodes by topic alone, so
  another contract's same-topic event in the same transaction would otherwise count);
- `OrderStarted` must be for this service index; the signer must be its consumer or payer;
- a `reuseOrder` is followed to the original order, whose consumer or payer must be the signer
  (reusing someone else's order buys nothing);
- the provider fee must come from a `ProviderFee` event of this datatoken, name this datatoken
  and service, be addressed to this provider and carry this provider's signature;
- an unknown transaction fails at once instead of waiting for a receipt that never comes.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from web3.exceptions import TimeExhausted, TransactionNotFound, Web3Exception

from provider import boundedjson
from provider.access.fees import fee_signer
from provider.boundedjson import JSONRejected
from provider.auth.signatures import SignatureError, same_address
from provider.chain.client import ChainClient
from provider.crypto.addresses import checksum as to_checksum_address  # (cached EIP-55)
from provider.errors import InvalidRequest

ONE_DATATOKEN = 10**18
FEE_GRACE_SECONDS = 90


class OrderInvalid(InvalidRequest):
    """The order does not authorise the request; the message is safe to show."""


class OrderPending(OrderInvalid):
    """The named transaction is known to the node but was not mined within the wait."""


@dataclass
class OrderEvidence:
    tx_hash: str                  # the transaction that was named
    status: int
    order_tx_hash: str            # the transaction holding OrderStarted (the original for a reuse)
    order_started: list[dict[str, Any]] = field(default_factory=list)
    provider_fees: list[dict[str, Any]] = field(default_factory=list)
    reuse_timestamp: int | None = None
    block_timestamp: int = 0


@dataclass(frozen=True)
class ValidOrder:
    tx_hash: str                  # the order (for a reuse: the original order it reuses)
    order: dict[str, Any]
    fee: dict[str, Any]
    fee_data: dict[str, Any]
    agreement_tx: str = ""        # the transaction the client named: a reuse is a new agreement


def normalise_tx_id(tx_id: str) -> str:
    text = str(tx_id).strip().lower().removeprefix("0x")
    if len(text) != 64 or any(c not in "0123456789abcdef" for c in text):
        raise OrderInvalid("invalid transaction id")
    return "0x" + text


def _fee_data(fee: dict[str, Any]) -> dict[str, Any] | None:
    try:
        data = boundedjson.loads(bytes(fee["providerData"]), what="providerData")
    except (ValueError, TypeError, UnicodeDecodeError, JSONRejected):
        return None
    return data if isinstance(data, dict) else None


def check_order(
    evidence: OrderEvidence, *, sender: str, datatoken: str, service_index: int, service_id: str,
    service_timeout: int, provider_address: str, now: float, environment: str | None = None,
    allow_expired_fees: bool = False,
) -> ValidOrder:
    if evidence.status != 1:
        raise OrderInvalid("order transaction failed.")

    matching = []
    for fee in evidence.provider_fees:
        data = _fee_data(fee)
        if data and str(data.get("dt", "")).lower() == datatoken.lower() and str(data.get("id")) == str(service_id):
            matching.append((fee, data))
    if not matching:
        raise OrderInvalid(f"Cannot find the event for the provider fee in tx id {evidence.tx_hash}.")
    fee, data = matching[-1]
    if environment is not None and data.get("environment") != environment:
        raise OrderInvalid("Mismatch between ordered c2d environment and selected one.")
    if not same_address(fee["providerFeeAddress"], provider_address):
        raise OrderInvalid("The provider fee was not issued by this provider.")
    try:
        signer = fee_signer(bytes(fee["providerData"]), fee["providerFeeAddress"], fee["providerFeeToken"],
                            fee["providerFeeAmount"], fee["validUntil"], fee["v"], fee["r"], fee["s"])
    except SignatureError:
        signer = None
    if signer is None or not same_address(signer, provider_address):
        raise OrderInvalid("Provider was not able to check the signed message in ProviderFees event")

    valid_until = int(fee["validUntil"])
    if valid_until > 0 and not allow_expired_fees and now >= valid_until:
        issued = float(data.get("timestamp") or 0)
        grace = (evidence.block_timestamp - issued + FEE_GRACE_SECONDS) if issued > 0 else 0
        if issued <= 0 or now >= valid_until + grace:
            raise OrderInvalid("Ordered c2d time was exceeded, check validUntil.")

    orders = [o for o in evidence.order_started if int(o["serviceIndex"]) == int(service_index)]
    if not orders:
        raise OrderInvalid(f"Cannot find the event for the order transaction with tx id {evidence.tx_hash}.")
    order = orders[-1]
    if int(order["amount"]) < ONE_DATATOKEN:
        raise OrderInvalid("The order amount is less than one datatoken.")
    started = evidence.reuse_timestamp if evidence.reuse_timestamp is not None else int(order["timestamp"])
    if service_timeout and now - started > service_timeout:
        raise OrderInvalid("The order has expired.")
    if not (same_address(order["consumer"], sender) or same_address(order["payer"], sender)):
        raise OrderInvalid("sender of order transaction is not the consumer or the payer of the order.")
    return ValidOrder(evidence.order_tx_hash, dict(order), dict(fee), data, evidence.tx_hash)


def _quantity(value: Any) -> int:
    """A receipt field as an int: raw receipts carry 0x-hex, web3's carry ints."""
    return int(value, 16) if isinstance(value, str) else int(value)


def _receipt(chain: ChainClient, tx_hash: str, wait: float | None = None):
    """The transaction's receipt, raw from the node (one RPC, no web3 formatting); for a known
    but unmined transaction, web3's receipt once it is mined."""
    receipt = chain.rpc("eth_getTransactionReceipt", [tx_hash])
    if receipt is not None:
        return receipt
    w3 = chain.w3
    try:
        w3.eth.get_transaction(tx_hash)  # known but not mined yet: wait for it
    except TransactionNotFound:
        raise OrderInvalid(f"transaction {tx_hash} not found") from None
    try:
        return w3.eth.wait_for_transaction_receipt(tx_hash, timeout=chain.receipt_timeout if wait is None else wait,
                                                   poll_latency=0.2)
    except TimeExhausted:
        raise OrderPending(f"transaction {tx_hash} is not mined yet") from None


def _block_timestamp(chain: ChainClient, receipt) -> int:
    """The timestamp of the receipt's block. Nodes that follow the current execution API (geth
    1.16 and later, anvil, reth) put it on every log, which saves a block read on a fresh
    order; from older nodes, or logs that disagree, the block is read."""
    stamps = {log.get("blockTimestamp") for log in receipt["logs"]} if receipt["logs"] else {None}
    if len(stamps) == 1:
        stamp = stamps.pop()
        if isinstance(stamp, int) or (isinstance(stamp, str) and stamp.startswith("0x") and 2 < len(stamp) <= 18):
            return _quantity(stamp)
    block = chain.rpc("eth_getBlockByNumber", [hex(_quantity(receipt["blockNumber"])), False])
    if not isinstance(block, dict):
        raise OrderInvalid("the order's block is no longer on the chain.")
    return _quantity(block["timestamp"])


def read_order_evidence(chain: ChainClient, tx_id: str, datatoken: str, wait: float | None = None) -> OrderEvidence:
    """Everything `check_order` needs, from the chain; only this datatoken's logs count.
    `wait`: seconds to wait for a known but unmined transaction (default: the chain's receipt timeout)."""
    tx_hash = normalise_tx_id(tx_id)
    datatoken = to_checksum_address(datatoken)
    try:
        receipt = chain.call(_receipt, chain, tx_hash, wait)
        evidence = OrderEvidence(tx_hash=tx_hash, status=_quantity(receipt["status"]), order_tx_hash=tx_hash)
        if evidence.status != 1:
            return evidence
        evidence.provider_fees = chain.events_in(receipt, "ERC20Template", datatoken, "ProviderFee")
        evidence.block_timestamp = _block_timestamp(chain, receipt)
        order_receipt = receipt
        reused = [r for r in chain.events_in(receipt, "ERC20Template", datatoken, "OrderReused") if int.from_bytes(r["orderTxId"], "big")]
        if reused:
            original = "0x" + bytes(reused[-1]["orderTxId"]).hex().removeprefix("0x")
            order_receipt = chain.call(_receipt, chain, original)
            if _quantity(order_receipt["status"]) != 1:
                raise OrderInvalid("the reused order transaction failed.")
            evidence.order_tx_hash = original
            evidence.reuse_timestamp = int(reused[-1]["timestamp"])
        evidence.order_started = chain.events_in(order_receipt, "ERC20Template", datatoken, "OrderStarted")
        return evidence
    except (Web3Exception, ValueError, KeyError, TypeError) as exc:
        raise OrderInvalid(f"transaction {tx_hash} could not be read") from exc


class FinalEvidenceCache:
    """Order evidence of transactions old enough to be final, kept per process.

    A mined transaction's receipt and logs never change once no reorganisation can remove its
    block, so reading them again for every download of the same order only costs RPC calls
    (about 60% of a download's time). Evidence is kept only when its block is at least
    `finality_seconds` old (a younger order is read again each time, so a reorganised-away
    order stops working at once), and the decision (`check_order`: expiry, signer, fees) is
    made afresh on every request. A negative `finality_seconds` turns the cache off.
    """

    def __init__(self, finality_seconds: float, max_entries: int = 20000, clock=time.time):
        self.finality_seconds = finality_seconds
        self.max_entries = max_entries
        self.clock = clock
        self._entries: dict[tuple, OrderEvidence] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple) -> OrderEvidence | None:
        with self._lock:
            evidence = self._entries.pop(key, None)
            if evidence is not None:
                self._entries[key] = evidence  # most recently used last
            return evidence

    def peek(self, key: tuple) -> bool:
        """Whether evidence is kept for `key` (without counting as a use)."""
        with self._lock:
            return key in self._entries

    def offer(self, key: tuple, evidence: OrderEvidence) -> None:
        if self.finality_seconds < 0 or evidence.status != 1 or not evidence.block_timestamp:
            return
        if self.clock() - evidence.block_timestamp < self.finality_seconds:
            return
        with self._lock:
            self._entries[key] = evidence
            while len(self._entries) > self.max_entries:
                self._entries.pop(next(iter(self._entries)))


def evidence_key(chain: ChainClient, tx_id: str, datatoken: str) -> tuple:
    """What order evidence is kept and looked up under: (chain id, transaction, datatoken).
    Raises OrderInvalid for a malformed id, ValueError for a datatoken that is not an address."""
    return chain.chain_id, normalise_tx_id(tx_id), to_checksum_address(datatoken)


def order_evidence_read(chain: ChainClient, tx_id: str, datatoken: str,
                        cache: FinalEvidenceCache | None = None) -> tuple[str, list] | None:
    """The first chain call `validate_order` will make (the receipt), for `ChainClient.read_ahead`;
    None when it will make none (evidence kept in the cache) or the id is malformed (its error
    is left to `validate_order`, in the order the request's checks run)."""
    try:
        key = evidence_key(chain, tx_id, datatoken)
    except Exception:  # anything wrong with the id or the document: validate_order says what
        return None
    if cache is not None and cache.peek(key):
        return None
    return "eth_getTransactionReceipt", [key[1]]


def validate_order(chain: ChainClient, *, tx_id: str, sender: str, datatoken: str, service_index: int,
                   service_id: str, service_timeout: int, environment: str | None = None,
                   allow_expired_fees: bool = False, now: float | None = None,
                   cache: FinalEvidenceCache | None = None, wait: float | None = None) -> ValidOrder:
    key = evidence_key(chain, tx_id, datatoken)
    evidence = cache.get(key) if cache is not None else None
    if evidence is None:
        evidence = read_order_evidence(chain, tx_id, datatoken, wait)
        if cache is not None:
            cache.offer(key, evidence)
    return check_order(
        evidence, sender=sender, datatoken=datatoken, service_index=service_index, service_id=service_id,
        service_timeout=service_timeout, provider_address=chain.provider_address,
        now=time.time() if now is None else now, environment=environment, allow_expired_fees=allow_expired_fees,
    )
