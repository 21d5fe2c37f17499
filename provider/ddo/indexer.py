"""The built-in chain indexer: DDOs from metadata events, instead of Aquarius.

It follows `MetadataCreated`, `MetadataUpdated` and `MetadataState` from the address file's
start block, in batches of `eth_getLogs`, and records for each DID its last valid document,
its state and the `nft`/`event` blocks clients read. Progress is stored with the assets in
one transaction per batch, so a restart resumes where it stopped and a crash mid-batch only
repeats idempotent writes. Only NFTs deployed by the Ocean ERC721Factory are indexed, and a
document is accepted only if it decodes, matches its on-chain hash, and names its own DID.

The index follows the chain it is on. The hash of the last indexed block, of every block that
held an event, of recent batch ends and of block 0 are kept; before each sync the last one is
compared with the chain. When the chain no longer has it (a reorganisation, or a node restarted
on a fresh chain), the index rolls back to the newest remembered block the chain still has,
undoing the events above it, or, when block 0 differs or no remembered block matches, starts
again from the start block. A document that cannot be decoded, parsed or validated is a
refused document (recorded with the reason), never a reason to stop indexing.

Several provider processes may share one database: a lease row makes one of them index at a
time; the others read.
"""
from __future__ import annotations

import logging
import os
import threading
import uuid
from decimal import Decimal
from datetime import datetime, timezone

from eth_utils import to_checksum_address
from web3.exceptions import BlockNotFound, Web3Exception

from provider import boundedjson
from provider.boundedjson import JSONRejected
from provider.chain.client import ChainClient
from provider.config import IndexerSettings
from provider.ddo import schema
from provider.ddo.documents import DocumentError, decode_document, hash_matches
from provider.ddo.store import AssetStore
from provider.stores.leases import Leases

log = logging.getLogger(__name__)

_EVENTS = ("MetadataCreated", "MetadataUpdated", "MetadataState")
MAX_SERVICES_PRICED = 16  # services, exchanges and dispensers read per document (a hostile one lists many)


def _hex(value) -> str:
    return "0x" + bytes(value).hex().removeprefix("0x").lower()


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(int(ts), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def check_document(document: bytes, *, did: str, chain_id: int, nft_address: str) -> dict:
    """Parse and cross-check a decoded DDO; raises DocumentError with the reason."""
    try:
        ddo = boundedjson.loads(document, what="document")
    except JSONRejected as exc:
        raise DocumentError(exc.user_message) from None
    except (UnicodeDecodeError, ValueError):
        raise DocumentError("document is not JSON") from None
    if not isinstance(ddo, dict):
        raise DocumentError("document is not a JSON object")
    # `did` is the NFT's did:op:; a v5 document carries the did:ope: of the same hash
    expected = did if schema.generation(ddo) != 5 else schema.PREFIX_V5 + did.rsplit(":", 1)[-1]
    if ddo.get("id") != expected:
        raise DocumentError("document id does not match the NFT's DID")
    parts = schema.fields(ddo)
    if parts.chain_id is not None and str(parts.chain_id) != str(chain_id):
        raise DocumentError("document chainId does not match the chain")
    if parts.nft_address is not None and (
        not isinstance(parts.nft_address, str) or parts.nft_address.lower() != nft_address.lower()
    ):
        raise DocumentError("document nftAddress does not match the NFT")
    errors = schema.validation_errors(ddo)
    if errors:
        field, reason = sorted(errors.items())[0]
        raise DocumentError(f"invalid DDO: {field} {reason}" + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""))
    return ddo


class ChainIndexer:
    def __init__(self, chain: ChainClient, store: AssetStore, leases: Leases, settings: IndexerSettings):
        self.chain = chain
        self.store = store
        self.leases = leases
        self.lease_name = f"indexer:{chain.chain_id}"
        self.settings = settings
        self.holder = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._factory_nfts: dict[str, bool] = {}
        self._lock = threading.Lock()
        template = chain.contract("ERC721Template", "0x" + "00" * 20)
        self._events = {name: getattr(template.events, name)() for name in _EVENTS}
        self._topics = {name: str(getattr(template.events, name).topic).lower() for name in _EVENTS}

    @property
    def start_block(self) -> int:
        if self.settings.start_block is not None:
            return self.settings.start_block
        try:
            return self.chain.start_block
        except Exception:
            return 0

    def last_indexed_block(self) -> int:
        progress = self.store.progress(self.chain.chain_id)
        return self.start_block - 1 if progress is None else progress

    def release(self) -> None:
        """Give up the indexing lease (on shutdown), so another process indexes at once."""
        with self._lock:
            self.leases.release(self.lease_name, self.holder)

    def sync(self, max_batches: int | None = None) -> bool:
        """Index up to the chain head. False if another process holds the lease."""
        with self._lock:
            if not self.leases.take(self.lease_name, self.holder, self.settings.lease_seconds):
                return False
            w3 = self.chain.w3
            head = w3.eth.block_number
            self._follow_chain(head)
            batches = 0
            while self.last_indexed_block() < head:
                first = self.last_indexed_block() + 1
                last = min(head, first + self.settings.batch_blocks - 1)
                self._index_range(first, last)
                batches += 1
                if max_batches is not None and batches >= max_batches:
                    break
                self.leases.take(self.lease_name, self.holder, self.settings.lease_seconds)
            return True

    # ---- following the chain ---------------------------------------------------------------

    MAX_FORK_CHECKS = 256

    def _block_hash(self, number: int) -> str | None:
        try:
            return _hex(self.chain.w3.eth.get_block(number)["hash"])
        except BlockNotFound:
            return None

    def _follow_chain(self, head: int) -> None:
        """Undo what the chain no longer has, before indexing on."""
        chain_id = self.chain.chain_id
        progress = self.store.progress(chain_id)
        if progress is None:
            return
        last_hash, genesis = self.store.progress_hashes(chain_id)
        if progress <= head and (last_hash is None or self._block_hash(progress) == last_hash):
            return  # still on the chain we indexed (an index without hashes predates this check)
        if (genesis is not None and self._block_hash(0) != genesis) or (genesis is None and progress > head):
            self._start_over("the node serves another chain")
            return
        fork = next((number for number, block_hash in self.store.indexed_blocks(chain_id, self.MAX_FORK_CHECKS)
                     if number <= head and self._block_hash(number) == block_hash), None)
        if fork is None:
            self._start_over("no indexed block is on the chain any more")
            return
        with self.store.write() as conn:
            undone = self.store.rollback(conn, chain_id, fork)
            self.store.save_progress(conn, chain_id, fork, self._block_hash(fork))
        log.warning("chain %s reorganised: index rolled back from block %s to %s (%d asset(s) rebuilt)",
                    chain_id, progress, fork, len(undone))

    def _start_over(self, reason: str) -> None:
        with self.store.write() as conn:
            self.store.forget_chain(conn, self.chain.chain_id)
        log.warning("chain %s: %s; indexing again from block %s", self.chain.chain_id, reason, self.start_block)

    # ---- indexing ------------------------------------------------------------------------

    def _index_range(self, first: int, last: int) -> None:
        genesis = self._block_hash(0) if self.store.progress(self.chain.chain_id) is None else None
        last_hash = self._block_hash(last)
        logs = self.chain.w3.eth.get_logs(
            {"fromBlock": first, "toBlock": last, "topics": [list(self._topics.values())]}
        )
        logs = sorted(logs, key=lambda entry: (entry["blockNumber"], entry["logIndex"]))
        by_topic = {topic: name for name, topic in self._topics.items()}
        # Chain reads first, then one short write transaction: the database's write lock
        # (shared with nonce checks) is never held across an RPC call.
        writes = []
        for entry in logs:
            name = by_topic.get(_hex(entry["topics"][0]))
            nft = to_checksum_address(entry["address"])
            if name is None or not self._from_factory(nft):
                continue
            try:
                event = self._events[name].process_log(entry)
            except Exception:  # a non-Ocean contract emitting a same-topic event
                log.warning("undecodable %s log at block %s", name, entry["blockNumber"])
                continue
            did = schema.make_did(nft, self.chain.chain_id)
            if name == "MetadataState":
                payload = int(event["args"]["state"])
            else:
                payload = self._document_record(did, nft, event)
            writes.append((entry, did, "state" if name == "MetadataState" else "document", payload))
        chain_id = self.chain.chain_id
        with self.store.write() as conn:
            for entry, did, kind, payload in writes:
                self.store.record_event(conn, chain_id=chain_id, block_number=int(entry["blockNumber"]),
                                        log_index=int(entry["logIndex"]), did=did, kind=kind, payload=payload)
                self.store.save_block(conn, chain_id, int(entry["blockNumber"]), _hex(entry["blockHash"]), events=True)
            if last_hash is not None:
                self.store.save_block(conn, chain_id, last, last_hash)
            self.store.save_progress(conn, chain_id, last, last_hash, genesis)

    def _from_factory(self, nft: str) -> bool:
        known = self._factory_nfts.get(nft)
        if known is None:
            try:
                listed = self.chain.factory().functions.erc721List(nft).call()
                known = to_checksum_address(listed) == nft
            except (Web3Exception, ValueError):
                known = False
            self._factory_nfts[nft] = known
        return known

    def _document_record(self, did: str, nft: str, event) -> dict:
        args = event["args"]
        flags = args["flags"][0] if args["flags"] else 0
        error = None
        ddo = None
        try:
            document = decode_document(bytes(args["data"]), flags, self.chain.settings.private_key,
                                       self.settings.max_document_bytes)
            if not hash_matches(document, bytes(args["metaDataHash"]), flags):
                raise DocumentError("Checksum doesn't match.")
            ddo = check_document(document, did=did, chain_id=self.chain.chain_id, nft_address=nft)
        except DocumentError as exc:
            error = str(exc)
            log.warning("refused document for %s: %s", did, error)
        except Exception:  # whatever else a hostile document provokes: refused, never a crash
            error = "document could not be processed"
            log.exception("refused document for %s", did)
        return dict(
            did=did, chain_id=self.chain.chain_id, nft_address=nft, ddo=ddo,
            state=int(args["state"]), nft=self._nft_info(nft),
            stats=self._service_stats(ddo) if ddo is not None else None,
            event={
                "tx": _hex(event["transactionHash"]),
                "block": int(event["blockNumber"]),
                "from": args.get("createdBy") or args.get("updatedBy"),
                "contract": nft,
                "datetime": _iso(args["timestamp"]),
            },
            error=error,
        )

    def _service_stats(self, ddo: dict) -> list[dict]:
        """Per service: its datatoken's name and symbol, and the prices it can be bought at when
        the document is indexed (fixed-rate exchanges: rate in the base token; dispensers: 0), as
        Ocean Node's `indexedMetadata.stats` lists them. Read from the datatoken itself, so a
        service naming someone else's exchange shows nothing."""
        stats = []
        for service in schema.fields(ddo).services[:MAX_SERVICES_PRICED]:
            if not isinstance(service, dict) or not isinstance(service.get("datatokenAddress"), str):
                continue
            entry = {"datatokenAddress": service["datatokenAddress"], "serviceId": service.get("id"), "prices": []}
            try:
                token = to_checksum_address(service["datatokenAddress"])
                datatoken = self.chain.contract("ERC20Template", token)
                entry["name"] = datatoken.functions.name().call()
                entry["symbol"] = datatoken.functions.symbol().call()
                for contract, exchange_id in datatoken.functions.getFixedRates().call()[:MAX_SERVICES_PRICED]:
                    exchange = self.chain.contract("FixedRateExchange", contract).functions.getExchange(
                        exchange_id).call()
                    if exchange[1].lower() == token.lower() and exchange[6]:  # this datatoken's, active
                        entry["prices"].append({"type": "fixedrate", "price": str(Decimal(exchange[5]) / 10 ** 18),
                                                "contract": contract, "token": exchange[3],
                                                "exchangeId": "0x" + bytes(exchange_id).hex()})
                for dispenser in datatoken.functions.getDispensers().call()[:MAX_SERVICES_PRICED]:
                    if self.chain.contract("Dispenser", dispenser).functions.status(token).call()[0]:
                        entry["prices"].append({"type": "dispenser", "price": "0", "contract": dispenser,
                                                "token": token})
            except (Web3Exception, ValueError, TypeError):
                pass  # not a datatoken we can read: listed without prices
            stats.append(entry)
        return stats

    def _nft_info(self, nft: str) -> dict:
        contract = self.chain.contract("ERC721Template", nft)
        info = {}
        for key, fn in (("name", "name"), ("symbol", "symbol"), ("tokenURI", None), ("owner", "ownerOf")):
            try:
                if fn == "ownerOf":
                    info[key] = contract.functions.ownerOf(1).call()
                elif fn:
                    info[key] = getattr(contract.functions, fn)().call()
                else:
                    info[key] = contract.functions.tokenURI(1).call()
            except (Web3Exception, ValueError):
                info[key] = None
        return info


class IndexerThread(threading.Thread):
    """Polls every chain's indexer in the background of one provider process."""

    def __init__(self, indexers: list[ChainIndexer], interval: float):
        super().__init__(name="chain-indexer", daemon=True)
        self.indexers = indexers
        self.interval = interval
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            for indexer in self.indexers:
                try:
                    indexer.sync()
                except Exception:
                    log.exception("indexing chain %s failed; will retry", indexer.chain.chain_id)
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
