"""The Escrow adapter against the real Escrow contract on anvil: what a consumer funded and
authorised is read back, locks are made from the provider's key, the measured cost is claimed
once and the rest returns to the consumer; a lock whose job never ran is cancelled after expiry."""
import json
import time

import pytest

from provider.chain.contracts import abi
from provider.chain.escrow import Escrow, EscrowRefused
from provider.chain.tx import send_transaction
from provider.compute.pricing import lock_id, lock_refusal

TEN = 10 * 10 ** 18


@pytest.fixture
def escrow(make_app):
    return Escrow(make_app().extensions["provider"].chains.get(8996))


def fund(dev_chain, payer, payee, *, deposit, max_locked, max_seconds, max_locks):
    w3 = dev_chain.w3
    contracts = json.loads(dev_chain.address_file.read_text())["development"]
    ocean = w3.eth.contract(address=contracts["Ocean"], abi=abi("OceanToken"))
    contract = w3.eth.contract(address=contracts["Escrow"], abi=abi("Escrow"))
    send_transaction(w3, payer, ocean.functions.approve(contracts["Escrow"], deposit))
    send_transaction(w3, payer, contract.functions.deposit(contracts["Ocean"], deposit))
    send_transaction(w3, payer, contract.functions.authorize(contracts["Ocean"], payee, max_locked, max_seconds,
                                                             max_locks))
    return contracts["Ocean"]


def test_lock_claim_once_and_the_rest_goes_back(escrow, dev_chain):
    payer = dev_chain.accounts[9]
    before, _ = escrow.funds(payer.address, escrow.chain.fee_token)
    token = fund(dev_chain, payer, escrow.payee, deposit=TEN, max_locked=5 * 10 ** 18, max_seconds=10_000,
                 max_locks=2)
    available, locked = escrow.funds(payer.address, token)
    assert available == before + TEN
    auths = escrow.authorizations(token, payer.address)
    assert len(auths) == 1 and auths[0].max_locked_amount == 5 * 10 ** 18 and auths[0].max_lock_seconds == 10_000
    assert "maxLockedAmount" in lock_refusal(auths, available, 6 * 10 ** 18, 100)
    assert "maxLockSeconds" in lock_refusal(auths, available, 10 ** 18, 20_000)
    assert lock_refusal(auths, available, 2 * 10 ** 18, 5000) is None

    job = lock_id("job-escrow-1")
    lock_tx = escrow.create_lock(job, token, payer.address, 2 * 10 ** 18, 5000)
    assert lock_tx.startswith("0x")
    assert [lock.job_id for lock in escrow.locks(token, payer.address)] == [job]
    assert escrow.funds(payer.address, token) == (available - 2 * 10 ** 18, locked + 2 * 10 ** 18)
    assert escrow.authorizations(token, payer.address)[0].current_locks == 1

    escrow.claim(job, token, payer.address, 7 * 10 ** 17, b'{"jobId": "job-escrow-1"}')
    assert escrow.funds(payer.address, token) == (available - 7 * 10 ** 17, locked)  # 1.3 came back
    assert escrow.locks(token, payer.address) == []
    with pytest.raises(EscrowRefused):  # a claim attempted twice
        escrow.claim(job, token, payer.address, 7 * 10 ** 17, b"again")
    assert escrow.funds(payer.address, token) == (available - 7 * 10 ** 17, locked)


def test_a_lock_whose_job_never_ran_is_cancelled_after_it_expires(escrow, dev_chain):
    payer = dev_chain.accounts[7]
    token = fund(dev_chain, payer, escrow.payee, deposit=TEN, max_locked=TEN, max_seconds=10_000, max_locks=5)
    available, _ = escrow.funds(payer.address, token)
    running, never_ran = lock_id("job-escrow-still-running"), lock_id("job-escrow-never-ran")
    escrow.create_lock(running, token, payer.address, 10 ** 18, 3600)
    escrow.create_lock(never_ran, token, payer.address, 10 ** 18, 1)
    with pytest.raises(EscrowRefused, match="not expired"):  # the contract skips it silently: we say so
        escrow.cancel_expired(running, token, payer.address)
    time.sleep(2.1)  # real time, not evm_increaseTime: the chain is shared by the whole session
    dev_chain.w3.provider.make_request("evm_mine", [])
    escrow.cancel_expired(never_ran, token, payer.address)
    assert escrow.funds(payer.address, token)[0] == available - 10 ** 18  # only the running job's lock held
    assert [lock.job_id for lock in escrow.locks(token, payer.address)] == [running]
    escrow.claim(running, token, payer.address, 0, b"{}")  # (released: other tests share this payee)


def test_a_zero_claim_releases_the_lock_at_once(escrow, dev_chain):
    """What the settlement does for a job whose algorithm never ran: nothing is paid, and the
    consumer's funds are free again without waiting for the lock to expire."""
    payer = dev_chain.accounts[6]
    token = fund(dev_chain, payer, escrow.payee, deposit=TEN, max_locked=TEN, max_seconds=10_000, max_locks=5)
    available, locked = escrow.funds(payer.address, token)
    job = lock_id("job-escrow-zero-claim")
    escrow.create_lock(job, token, payer.address, 10 ** 18, 3600)
    escrow.claim(job, token, payer.address, 0, b'{"jobId": "job-escrow-zero-claim"}')
    assert escrow.funds(payer.address, token) == (available, locked)
    assert not escrow.holds(job, token, payer.address)
