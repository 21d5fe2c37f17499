"""The Escrow contract (ocean-contracts), as the provider uses it for resource-priced compute.

The consumer deposits a fee token and authorises this provider (payee) up to an amount, a lock
length and a number of concurrent locks. At job start the provider locks the job's maximum
cost (`createLock`, sent from its own key: msg.sender is the payee); at the end it claims the
measured cost (`claimLockAndWithdraw`, the rest returns to the consumer's available funds) or
cancels a lock whose job never ran once it expired. Reads answer the pre-checks of
`compute.pricing.lock_refusal` before any transaction is sent.

With a `TransactionOutbox`, each transaction has a purpose (`lock:<jobId>`, `claim:<jobId>`)
and is sent at most once across processes and restarts (nonces assigned under one lock for
every process on the host). Without one (tests of the contract itself), transactions from one
key go out one at a time in this process. A reverted transaction is an EscrowRefused with the
contract's reason where the node gives one.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

from eth_utils import to_checksum_address
from web3.exceptions import ContractLogicError, Web3Exception

from provider.chain.client import ChainClient
from provider.chain.outbox import TransactionOutbox, TransactionRejected
from provider.chain.tx import TransactionFailed, send_transaction
from provider.compute.pricing import Authorization
from provider.errors import InvalidRequest

_SENDERS: dict[str, threading.Lock] = {}
_SENDERS_GUARD = threading.Lock()


class EscrowRefused(InvalidRequest):
    """The Escrow contract refused a transaction (or has no address on this chain)."""


@dataclass(frozen=True)
class EscrowLock:
    job_id: int
    payer: str
    amount: int
    expiry: int
    token: str
    start_time: int


def _sender_lock(address: str) -> threading.Lock:
    with _SENDERS_GUARD:
        return _SENDERS.setdefault(address, threading.Lock())


class Escrow:
    def __init__(self, chain: ChainClient, outbox: TransactionOutbox | None = None):
        self.chain = chain
        self.outbox = outbox
        addresses = chain.contract_addresses
        if "Escrow" not in addresses:
            raise EscrowRefused(f"no Escrow contract is known on chain {chain.chain_id}")
        self.address = to_checksum_address(addresses["Escrow"])
        self.contract = chain.contract("Escrow", self.address)

    @property
    def payee(self) -> str:
        return self.chain.provider_address

    # ---- reads ---------------------------------------------------------------------------

    def authorizations(self, token: str, payer: str) -> list[Authorization]:
        rows = self.chain.call(self.contract.functions.getAuthorizations(
            to_checksum_address(token), to_checksum_address(payer), self.payee).call)
        return [Authorization(to_checksum_address(r[0]), int(r[1]), int(r[2]), int(r[3]), int(r[4]), int(r[5]))
                for r in rows]

    def funds(self, payer: str, token: str) -> tuple[int, int]:
        """(available, locked) of `payer` in `token`."""
        available, locked = self.chain.call(self.contract.functions.getUserFunds(
            to_checksum_address(payer), to_checksum_address(token)).call)
        return int(available), int(locked)

    def locks(self, token: str, payer: str) -> list[EscrowLock]:
        rows = self.chain.call(self.contract.functions.getLocks(
            to_checksum_address(token), to_checksum_address(payer), self.payee).call)
        return [EscrowLock(int(r[0]), to_checksum_address(r[1]), int(r[2]), int(r[3]), to_checksum_address(r[4]),
                           int(r[5])) for r in rows]

    # ---- transactions (from the provider's key) --------------------------------------------

    def create_lock(self, lock_id: int, token: str, payer: str, amount: int, expiry: int,
                    purpose: str | None = None) -> str:
        return self._send(self.contract.functions.createLock(
            lock_id, to_checksum_address(token), to_checksum_address(payer), amount, expiry), purpose,
            {"chainId": self.chain.chain_id, "lockId": str(lock_id), "token": to_checksum_address(token),
             "payer": to_checksum_address(payer), "amount": str(amount)})

    def claim(self, lock_id: int, token: str, payer: str, amount: int, proof: bytes, purpose: str | None = None) -> str:
        """Claim `amount` (at most what is locked) and withdraw it to the provider."""
        return self._send(self.contract.functions.claimLockAndWithdraw(
            lock_id, to_checksum_address(token), to_checksum_address(payer), amount, proof, 0, []), purpose)

    def cancel_expired(self, lock_id: int, token: str, payer: str, purpose: str | None = None) -> str:
        """Release the lock of a job that never ran. The contract skips, without reverting, a
        lock that has not expired yet: that is reported as EscrowRefused, the lock still held."""
        lock = self.lock_of(lock_id, token, payer)
        if lock is not None and not self.expired(lock):
            raise EscrowRefused("the escrow lock has not expired yet")
        tx = self._send(self.contract.functions.cancelExpiredLock(
            lock_id, to_checksum_address(token), to_checksum_address(payer), self.payee), purpose)
        if self.holds(lock_id, token, payer):
            raise EscrowRefused("the escrow lock has not expired yet")
        return tx

    def lock_of(self, lock_id: int, token: str, payer: str) -> EscrowLock | None:
        return next((lock for lock in self.locks(token, payer) if lock.job_id == lock_id), None)

    def holds(self, lock_id: int, token: str, payer: str) -> bool:
        return self.lock_of(lock_id, token, payer) is not None

    def expired(self, lock: EscrowLock) -> bool:
        """Past its expiry by the chain's clock (only then may it be cancelled)."""
        return lock.expiry <= self.now()

    def now(self) -> int:
        """The chain's time (lock expiries are block timestamps)."""
        return int(self.chain.call(self.chain.w3.eth.get_block, "latest")["timestamp"])

    def _send(self, call, purpose: str | None = None, details: dict | None = None) -> str:
        if self.outbox is not None and purpose is not None:
            try:
                sent = self.outbox.send(self.chain, purpose, call, details)
            except TransactionRejected as exc:
                raise EscrowRefused(f"Escrow refused the transaction: {exc.user_message}") from None
            if sent.state != "mined":
                raise EscrowRefused(f"Escrow transaction {sent.tx_hash} {sent.state}")
            return sent.tx_hash
        with _sender_lock(self.payee):
            try:
                receipt = self.chain.call(send_transaction, self.chain.w3, self.chain.account, call)
            except ContractLogicError as exc:
                raise EscrowRefused(f"Escrow refused the transaction: {exc.message or 'reverted'}") from None
            except (TransactionFailed, Web3Exception, ValueError):
                raise EscrowRefused("Escrow refused the transaction") from None
        return receipt["transactionHash"].to_0x_hex()
