"""The provider's own transactions, sent at most once per purpose, across processes and restarts.

Escrow locks and claims move consumers' money: a claim sent twice, or a lock sent again by a
restarted provider, must be impossible. Each transaction has a purpose ("claim:<jobId>"). It
is built, signed and written (nonce, hash, raw bytes) in one SQLite write transaction before
it is broadcast, so:
- a second `send` for a purpose returns the first one's outcome (waiting for it if needed);
- after a crash, a written but unconfirmed transaction is re-broadcast as the same bytes (same
  nonce: the chain takes it at most once), or found mined;
- if its nonce was taken by another transaction (it was dropped), the purpose is sent afresh;
- nonces of one key are assigned under SQLite's write lock, so the request workers (locks) and
  the engine process (claims) never pick the same one.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass

from eth_utils import to_checksum_address
from web3.exceptions import ContractLogicError, TimeExhausted, TransactionNotFound, Web3Exception

from provider.chain.client import ChainClient
from provider.errors import ProviderError
from provider.stores.sqlite import Database


class TransactionRejected(ProviderError):
    """The node refused the transaction, or it reverted (the reason, where there is one)."""


@dataclass(frozen=True)
class SentTransaction:
    purpose: str
    tx_hash: str
    state: str            # mined | reverted | sent (not confirmed within the wait)


class TransactionOutbox:
    def __init__(self, db: Database, receipt_timeout: float = 60.0):
        self.db = db
        self.receipt_timeout = receipt_timeout

    def find(self, purpose: str) -> SentTransaction | None:
        row = self.db.read().execute("SELECT purpose, tx_hash, state FROM provider_tx WHERE purpose = ?",
                                     (purpose,)).fetchone()
        return SentTransaction(row["purpose"], row["tx_hash"], row["state"]) if row else None

    def send(self, chain: ChainClient, purpose: str, call, details: dict | None = None) -> SentTransaction:
        """Send `call` from the chain's provider key for `purpose`, once; wait for its receipt.
        `details` are kept with it (what a later process needs to undo it)."""
        row = self.db.read().execute("SELECT * FROM provider_tx WHERE purpose = ?", (purpose,)).fetchone()
        if row is not None and row["state"] in ("mined", "reverted"):
            return SentTransaction(purpose, row["tx_hash"], row["state"])
        if row is not None and row["state"] == "sent":
            outcome = self._resume(chain, row)
            if outcome is not None:
                return outcome
        raw, tx_hash = self._record(chain, purpose, call, details)
        return self._broadcast(chain, purpose, raw, tx_hash)

    def pending(self) -> list[str]:
        """Purposes written but not confirmed (a restart re-checks them)."""
        return [r["purpose"] for r in self.db.read().execute("SELECT purpose FROM provider_tx WHERE state = 'sent'")]

    def recheck(self, chains, older_than: float) -> list[SentTransaction]:
        """Settle what a crashed process left written but unconfirmed: found mined (or reverted),
        re-broadcast as the same bytes (a later nonce of this key waits for it), or marked
        dropped when its nonce went to another transaction."""
        rows = self.db.read().execute("SELECT * FROM provider_tx WHERE state = 'sent' AND created < ? ORDER BY nonce",
                                      (older_than,)).fetchall()
        outcomes = []
        for row in rows:
            chain = chains.find(row["chain_id"])
            if chain is None:
                continue
            try:
                outcome = self._resume(chain, row)
            except (TransactionRejected, Web3Exception, ValueError):
                continue
            if outcome is not None:
                outcomes.append(outcome)
        return outcomes

    # ---- steps ---------------------------------------------------------------------------

    def unanswered(self, prefix: str, answers: tuple[str, ...], older_than: float) -> list[tuple[str, dict]]:
        """(purpose, details) of mined `prefix:<id>` transactions with no `<answer>:<id>` one, sent
        before `older_than` (e.g. escrow locks never claimed nor cancelled)."""
        rows = self.db.read().execute(
            "SELECT purpose, details FROM provider_tx WHERE purpose LIKE ? AND state = 'mined' AND created < ?",
            (prefix + ":%", older_than)).fetchall()
        found = []
        for row in rows:
            key = row["purpose"][len(prefix) + 1:]
            if not any(self.find(f"{answer}:{key}") for answer in answers):
                found.append((row["purpose"], json.loads(row["details"] or "{}")))
        return found

    def _record(self, chain: ChainClient, purpose: str, call, details: dict | None) -> tuple[str, str]:
        account = chain.account
        sender = account.address.lower()
        try:
            tx = chain.call(call.build_transaction, {"from": account.address, "chainId": chain.chain_id, "nonce": 0})
        except ContractLogicError as exc:
            raise TransactionRejected(f"the contract refused: {exc.message or 'reverted'}") from None
        except (Web3Exception, ValueError) as exc:
            raise TransactionRejected(f"the transaction could not be built: {type(exc).__name__}") from None
        # The estimate is made against the chain as it is now; transactions of other jobs sent
        # meanwhile can make this one cost more (the Escrow contract walks a payer's locks), and
        # unused gas is not paid for: a margin keeps a queued lock from running out of gas.
        tx["gas"] = int(tx.get("gas", 200_000) * 3 // 2) + 50_000
        with self.db.write() as conn:
            on_chain = int(chain.call(chain.w3.eth.get_transaction_count, account.address, "pending"))
            last = conn.execute("SELECT MAX(nonce) FROM provider_tx WHERE chain_id = ? AND sender = ? AND state = 'sent'",
                                (chain.chain_id, sender)).fetchone()[0]
            tx["nonce"] = max(on_chain, (last + 1) if last is not None else 0)
            signed = account.sign_transaction(tx)
            raw = "0x" + bytes(signed.raw_transaction).hex()
            tx_hash = "0x" + bytes(signed.hash).hex()
            conn.execute("INSERT OR REPLACE INTO provider_tx(purpose, chain_id, sender, nonce, tx_hash, raw, state,"
                         " created, details) VALUES (?, ?, ?, ?, ?, ?, 'sent', ?, ?)",
                         (purpose, chain.chain_id, sender, tx["nonce"], tx_hash, raw, time.time(),
                          json.dumps(details) if details else None))
        return raw, tx_hash

    def _broadcast(self, chain: ChainClient, purpose: str, raw: str, tx_hash: str) -> SentTransaction:
        try:
            chain.call(chain.w3.eth.send_raw_transaction, raw)
        except (Web3Exception, ValueError) as exc:
            if "already known" not in str(exc).lower() and "nonce too low" not in str(exc).lower():
                self._mark(purpose, "dropped")
                raise TransactionRejected("the chain node refused the transaction") from None
        return self._await(chain, purpose, tx_hash)

    def _await(self, chain: ChainClient, purpose: str, tx_hash: str) -> SentTransaction:
        try:
            receipt = chain.call(chain.w3.eth.wait_for_transaction_receipt, tx_hash, timeout=self.receipt_timeout,
                                 poll_latency=0.05)
        except (TimeExhausted, TransactionNotFound):
            return SentTransaction(purpose, tx_hash, "sent")
        state = "mined" if receipt["status"] == 1 else "reverted"
        self._mark(purpose, state)
        return SentTransaction(purpose, tx_hash, state)

    def _resume(self, chain: ChainClient, row) -> SentTransaction | None:
        """A transaction written before a crash: mined, still pending, or dropped (None: send anew)."""
        try:
            receipt = chain.call(chain.w3.eth.get_transaction_receipt, row["tx_hash"])
        except TransactionNotFound:
            receipt = None
        if receipt is not None:
            state = "mined" if receipt["status"] == 1 else "reverted"
            self._mark(row["purpose"], state)
            return SentTransaction(row["purpose"], row["tx_hash"], state)
        used = int(chain.call(chain.w3.eth.get_transaction_count, to_checksum_address(row["sender"]), "latest"))
        if used > row["nonce"]:  # its nonce went to another transaction: this one can never be mined
            self._mark(row["purpose"], "dropped")
            return None
        return self._broadcast(chain, row["purpose"], row["raw"], row["tx_hash"])

    def _mark(self, purpose: str, state: str) -> None:
        with self.db.write() as conn:
            conn.execute("UPDATE provider_tx SET state = ? WHERE purpose = ?", (state, purpose))
