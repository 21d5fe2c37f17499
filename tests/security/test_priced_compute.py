"""Issue "today's Ocean clients", part 2, attacked: resource-priced compute paid through the
Escrow contract, and free compute. Every refusal happens before a transaction is sent; the
provider's own transactions (locks, claims) are sent once whatever crashes in between; no
consumer reads, polls or stops another's job."""
from __future__ import annotations

import json
import sqlite3
import time

import pytest
from eth_account import Account

from provider.chain.contracts import abi
from provider.chain.escrow import Escrow
from provider.chain.tx import send_transaction
from provider.compute import status as st
from provider.compute.pricing import lock_id
from provider.compute.settlement import Settlement, amount_due
from tests.helpers import node_sign, wait_for
from tests.integration.test_compute import CONTAINER
from tests.integration.test_priced_compute import (  # noqa: F401 (fixtures)
    TOKENS, NodeLab, assets_of, node_lab, origin, priced_app, refs,
)


def fresh_account(dev_chain, ocean: int = 100 * TOKENS):
    """An account nobody has authorised or funded anything for: ETH for gas and some OCEAN."""
    account = Account.create()
    owner = dev_chain.accounts[0]
    w3 = dev_chain.w3
    w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(owner.sign_transaction({
        "to": account.address, "value": 10 ** 19, "gas": 21000, "gasPrice": w3.eth.gas_price,
        "nonce": w3.eth.get_transaction_count(owner.address, "pending"), "chainId": 8996}).raw_transaction))
    token = json.loads(dev_chain.address_file.read_text())["development"]["Ocean"]
    send_transaction(w3, owner, w3.eth.contract(address=token, abi=abi("OceanToken")).functions.transfer(
        account.address, ocean))
    return account


@pytest.fixture
def stranger_lab(node_lab, dev_chain):
    node_lab.consumer = fresh_account(dev_chain)
    return node_lab


def ordered(lab, dataset, algo):
    init = lab.initialize([refs(dataset)], refs(algo)).get_json()
    return lab.order(dataset, init["datasets"][0]), lab.order(algo, init["algorithm"])


def start_refusal(lab, dataset, algo, dataset_tx, algo_tx, **extra):
    reply = lab.start([refs(dataset, dataset_tx)], refs(algo, algo_tx), **extra)
    assert reply.status_code == 400, reply.get_json()
    return reply.get_json()["error"]


def no_lock_sent(lab) -> bool:
    """Nothing of the consumer's escrow funds is locked (its own figure, whatever other payers do)."""
    return lab.escrow().funds(lab.consumer.address, lab.token)[1] == 0


def test_escrow_pre_checks_refuse_before_any_lock(stranger_lab):
    lab = stranger_lab
    dataset, algo = assets_of(lab)
    dataset_tx, algo_tx = ordered(lab, dataset, algo)

    assert "No escrow auths" in start_refusal(lab, dataset, algo, dataset_tx, algo_tx)  # never authorised
    # authorised, but deposits less than the lock (1 cpu + 0.25 GB at 1 + 2 per minute, 1 minute)
    lab.fund_escrow(lab.consumer, deposit=TOKENS, max_locked=10 * TOKENS, max_seconds=7200)
    assert "enough funds" in start_refusal(lab, dataset, algo, dataset_tx, algo_tx)
    assert no_lock_sent(lab)


def test_a_lock_longer_or_larger_than_authorised_is_refused(stranger_lab):
    lab = stranger_lab
    dataset, algo = assets_of(lab)
    dataset_tx, algo_tx = ordered(lab, dataset, algo)
    lab.fund_escrow(lab.consumer, deposit=10 * TOKENS, max_locked=TOKENS, max_seconds=7200)
    assert "maxLockedAmount" in start_refusal(lab, dataset, algo, dataset_tx, algo_tx)  # 1.5 needed
    lab.fund_escrow(lab.consumer, deposit=TOKENS, max_locked=10 * TOKENS, max_seconds=600)  # re-authorised
    assert "maxLockSeconds" in start_refusal(lab, dataset, algo, dataset_tx, algo_tx)  # 60 + 3600 s needed
    assert no_lock_sent(lab)


def test_resources_above_the_maximum_are_refused_at_initialize_and_start(node_lab):
    lab = node_lab
    dataset, algo = assets_of(lab)
    for resources in ([{"id": "cpu", "amount": 2}], [{"id": "ram", "amount": 4}], [{"id": "gpu", "amount": 1}],
                      [{"id": "cpu", "amount": -1}], [{"id": "cpu", "amount": "1e400"}], "all of them"):
        reply = lab.initialize([refs(dataset)], refs(algo), resources=resources)
        assert reply.status_code == 400, (resources, reply.get_json())
    dataset_tx, algo_tx = ordered(lab, dataset, algo)
    assert "cpu" in start_refusal(lab, dataset, algo, dataset_tx, algo_tx, resources=[{"id": "cpu", "amount": 5}])


def test_free_jobs_only_where_offered_and_only_for_the_access_list(node_lab, sandbox_dir, make_app, dev_chain, origin):  # noqa: F811
    lab = node_lab
    dataset, algo = assets_of(lab)
    dataset_tx, algo_tx = ordered(lab, dataset, algo)
    free = dict(path="/api/services/freeCompute", command="freeStartCompute")
    reply = lab.start([refs(dataset, dataset_tx)], refs(algo, algo_tx), env="test-paid-only", **free)
    assert reply.status_code == 400 and "no free compute" in reply.get_json()["error"]
    # a signature for the paid command does not start a free job (and the other way round)
    wrong = lab.start([refs(dataset, dataset_tx)], refs(algo, algo_tx), path="/api/services/freeCompute",
                      command="startCompute")
    assert wrong.status_code == 400 and "signature" in json.dumps(wrong.get_json()).lower()
    # without orders: the publisher's price for its data still holds
    unpaid = lab.start([refs(dataset)], refs(algo), **free)
    assert unpaid.status_code == 400 and "transferTxId" in json.dumps(unpaid.get_json())

    # an environment whose free tier admits one address only
    envs = sandbox_dir / "listed.ini"
    allowed = dev_chain.accounts[4].address
    envs.write_text(f"""
[compute.env.listed]
cpu = 1
ram_gb = 0.25
disk_gb = 0.01
max_job_duration = 30
max_jobs = 1
price_per_minute = 0
free_max_job_duration = 10
free_resources = cpu=1, ram=0.25, disk=0.01
free_access = ["{allowed}"]
runtimes = python:3*=python3:/usr/bin/python3
""")
    listed = NodeLab(dev_chain, lab.publisher, make_app(COMPUTE_ENVIRONMENTS_FILE=str(envs),
                                                       COMPUTE_JOBS_PATH=str(sandbox_dir / "listed-jobs"),
                                                       INDEXER_ENABLED="false").test_client(), origin)
    reply = listed.start([refs(dataset, dataset_tx)], refs(algo, algo_tx), env="listed", **free)
    assert reply.status_code == 403 and "not allowed" in reply.get_json()["error"]


def test_free_jobs_are_rate_limited_per_consumer(node_lab):
    lab = node_lab
    dataset, algo = assets_of(lab)
    dataset_tx, algo_tx = ordered(lab, dataset, algo)
    free = dict(path="/api/services/freeCompute", command="freeStartCompute")
    started = []
    for _ in range(3):  # the env's free_jobs_per_hour
        reply = lab.start([refs(dataset, dataset_tx)], refs(algo, algo_tx), **free)
        if reply.status_code == 429:
            break  # earlier tests of this session already used some of this hour's jobs
        started.append(reply.get_json()[0]["jobId"])
    limited = lab.start([refs(dataset, dataset_tx)], refs(algo, algo_tx), **free)
    assert limited.status_code == 429 and limited.headers["Retry-After"]
    for job_id in started:
        lab.wait_node(job_id)


def test_another_consumer_cannot_poll_stop_or_read_a_job(node_lab, dev_chain):
    lab = node_lab
    dataset, algo = assets_of(lab, raw=True)
    dataset_tx, _ = ordered(lab, dataset, algo)
    lab.fund_escrow(lab.consumer, deposit=20 * TOKENS, max_locked=10 * TOKENS, max_seconds=7200)
    viewer, stranger = dev_chain.accounts[4], dev_chain.accounts[5]
    reply = lab.start([refs(dataset, dataset_tx)], {"meta": {"rawcode": "import time\nopen('/data/outputs/x', 'w')"
                                                             ".write('secret')\ntime.sleep(3)", "container": CONTAINER}},
                      additionalViewers=[viewer.address], metadata={"name": "private"})
    assert reply.status_code == 200, reply.get_json()
    job_id = reply.get_json()[0]["jobId"]

    # the stranger, asking as itself: no such job; asking with the owner's address, unsigned: no details
    assert lab.client.get("/api/services/compute", query_string={
        "consumerAddress": stranger.address, "jobId": job_id}).status_code == 404
    peek = lab.node_status(job_id)[0]
    assert set(peek) >= {"jobId", "status"} and not {"results", "metadata", "payment", "additionalViewers"} & set(peek)
    # a stranger's signature cannot stop it, whatever address it names
    for named in (stranger, lab.consumer):
        nonce = lab.next_nonce()
        stop = lab.client.put("/api/services/compute", query_string={
            "consumerAddress": named.address, "nonce": nonce, "jobId": job_id,
            "signature": node_sign(stranger, f"{named.address}{nonce}stopCompute")})
        assert stop.status_code in (400, 404), stop.get_json()
    # a viewer may not stop it either (viewing is all it was given)
    nonce = lab.next_nonce()
    assert lab.client.put("/api/services/compute", query_string={
        "consumerAddress": viewer.address, "nonce": nonce, "jobId": job_id,
        "signature": node_sign(viewer, f"{viewer.address}{nonce}stopCompute")}).status_code == 404
    final = lab.wait_node(job_id)
    assert final["status"] == 70 and final["stopRequested"] is False

    index = 2  # outputs.tar
    assert lab.node_result(job_id, index, account=stranger).status_code == 404
    assert lab.node_result(job_id, index, account=viewer).status_code == 200
    assert b"secret" in lab.node_result(job_id, index).data
    assert lab.token_status(job_id, account=viewer)[0]["metadata"] == {"name": "private"}


def test_a_restart_between_finish_and_claim_claims_once_the_right_amount(node_lab, priced_app):
    """The provider dies after its claim was mined and before the job recorded it: the next
    settlement finds the claim in the outbox and records it; nothing is claimed twice."""
    lab = node_lab
    services = priced_app.extensions["provider"]
    engine = services.engine
    settlement, engine.settlement = engine.settlement, None  # the job ends, nobody settles it
    try:
        dataset, algo = assets_of(lab)
        dataset_tx, algo_tx = ordered(lab, dataset, algo)
        lab.fund_escrow(lab.consumer, deposit=20 * TOKENS, max_locked=10 * TOKENS, max_seconds=7200)
        escrow = lab.escrow()
        job_id = lab.start([refs(dataset, dataset_tx)], refs(algo, algo_tx)).get_json()[0]["jobId"]
        wait_for(lambda: services.compute.jobs.get(job_id).status == st.FINISHED, 60, "job finished")
        assert lab.node_status(job_id)[0]["status"] == st.SETTLING
        job = services.compute.jobs.get(job_id)
        due = amount_due(job, 60, 18)
        assert due == int(1.5 * TOKENS)  # 1 cpu + 0.25 GB ram at 1 + 2 per minute, the 60 s minimum
        available, locked = escrow.funds(lab.consumer.address, lab.token)
        payment = job.spec["payment"]
        chain = services.chains.get(8996)
        first = Escrow(chain, settlement.outbox).claim(int(payment["lockId"]), lab.token, lab.consumer.address, due,
                                                       b"{}", purpose=f"claim:{job_id}")  # ...and the process dies
        sent = chain.w3.eth.get_transaction_count(chain.provider_address)
        restarted = Settlement(services.settings.compute, services.compute.jobs, services.chains,
                               type(settlement.outbox)(services.db), engine.paths)
        restarted.run(time.time())
        restarted.run(time.time() + 10)
        settled = lab.token_status(job_id)[0]
        assert settled["status"] == 70 and settled["payment"]["claimTx"] == first
        assert settled["payment"]["cost"] == str(due)
        assert chain.w3.eth.get_transaction_count(chain.provider_address) == sent  # no second transaction
        assert escrow.funds(lab.consumer.address, lab.token) == (available + payment_back(payment, due),
                                                                  locked - int(payment["amount"]))
    finally:
        engine.settlement = settlement


def payment_back(payment: dict, due: int) -> int:
    return int(payment["amount"]) - due


def provider_escrow(lab, app):
    """The consumer's escrow funded and this provider authorised; the provider's side of it:
    (services, chain, the engine's outbox, an Escrow sending through it)."""
    services = app.extensions["provider"]
    lab.fund_escrow(lab.consumer, deposit=20 * TOKENS, max_locked=10 * TOKENS, max_seconds=7200)
    chain = services.chains.get(8996)
    outbox = services.engine.settlement.outbox
    return services, chain, outbox, Escrow(chain, outbox)


def test_a_restart_between_lock_and_job_record_releases_the_lock(node_lab, priced_app):
    lab = node_lab
    services, chain, outbox, escrow = provider_escrow(lab, priced_app)
    available, locked = escrow.funds(lab.consumer.address, lab.token)
    ghost = "f" * 63 + str(int(time.time()) % 10)
    escrow.create_lock(lock_id(ghost), lab.token, lab.consumer.address, TOKENS, 3700, purpose=f"lock:{ghost}")
    assert escrow.funds(lab.consumer.address, lab.token) == (available - TOKENS, locked + TOKENS)
    services.engine.settlement.release_orphans(time.time() + 1, grace=0)  # ...the job was never written
    assert escrow.funds(lab.consumer.address, lab.token) == (available, locked)
    assert not escrow.holds(lock_id(ghost), lab.token, lab.consumer.address)
    services.engine.settlement.release_orphans(time.time() + 1, grace=0)  # once only
    assert outbox.find(f"claim:{ghost}").state == "mined"


def test_the_outbox_never_sends_one_purpose_twice(node_lab, priced_app):
    lab = node_lab
    services, chain, _, escrow = provider_escrow(lab, priced_app)
    job = "e" * 60 + str(time.time_ns())[-4:]
    first = escrow.create_lock(lock_id(job), lab.token, lab.consumer.address, TOKENS, 3700, purpose=f"lock:{job}")
    count = chain.w3.eth.get_transaction_count(chain.provider_address)
    again = Escrow(chain, type(services.engine.settlement.outbox)(services.db)).create_lock(
        lock_id(job), lab.token, lab.consumer.address, TOKENS, 3700, purpose=f"lock:{job}")
    assert again == first and chain.w3.eth.get_transaction_count(chain.provider_address) == count
    escrow.claim(lock_id(job), lab.token, lab.consumer.address, 0, b"{}", purpose=f"claim:{job}")


def test_concurrent_provider_transactions_never_share_a_nonce(stranger_lab, priced_app):
    """Locks for several jobs sent at once from the provider's one key (request workers and the
    engine do this): every one is mined, each with its own nonce."""
    import threading

    lab = stranger_lab
    services, chain, _, _ = provider_escrow(lab, priced_app)
    jobs = [f"{i:x}" * 8 + str(time.time_ns()) for i in range(6)]
    outboxes = [type(services.engine.settlement.outbox)(services.db) for _ in jobs]  # as separate processes
    results, errors = {}, []

    def lock(job, outbox):
        try:
            results[job] = Escrow(chain, outbox).create_lock(lock_id(job), lab.token, lab.consumer.address,
                                                             TOKENS // 10, 3700, purpose=f"lock:{job}")
        except Exception as exc:  # noqa: BLE001 (the assertion below shows it)
            errors.append(repr(exc))

    threads = [threading.Thread(target=lock, args=pair) for pair in zip(jobs, outboxes)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == [] and len(set(results.values())) == len(jobs)
    nonces = {chain.w3.eth.get_transaction(tx)["nonce"] for tx in results.values()}
    assert len(nonces) == len(jobs)
    escrow = Escrow(chain, outboxes[0])
    for job in jobs:
        escrow.claim(lock_id(job), lab.token, lab.consumer.address, 0, b"{}", purpose=f"claim:{job}")


def test_a_lock_sent_by_a_process_that_died_before_confirming_it_is_found_and_released(node_lab, priced_app):
    """The request worker signed, wrote and broadcast a lock, then died before its receipt: the
    engine's next pass finds it mined, and (no job was recorded) releases it."""
    lab = node_lab
    services, chain, outbox, escrow = provider_escrow(lab, priced_app)
    available, locked = escrow.funds(lab.consumer.address, lab.token)
    ghost = "d" * 60 + str(time.time_ns())[-4:]
    call = escrow.contract.functions.createLock(lock_id(ghost), lab.token, lab.consumer.address, TOKENS, 3700)
    raw, tx_hash = outbox._record(chain, f"lock:{ghost}", call, {
        "chainId": 8996, "lockId": str(lock_id(ghost)), "token": lab.token, "payer": lab.consumer.address})
    chain.w3.eth.send_raw_transaction(raw)  # ...and the process is gone before it reads the receipt
    chain.w3.eth.wait_for_transaction_receipt(tx_hash)
    assert outbox.find(f"lock:{ghost}").state == "sent"
    assert escrow.funds(lab.consumer.address, lab.token) == (available - TOKENS, locked + TOKENS)
    settlement = services.engine.settlement
    settlement._last = 0
    with sqlite3.connect(services.db.path) as raw_db:  # old enough to be re-checked
        raw_db.execute("UPDATE provider_tx SET created = created - 600 WHERE purpose = ?", (f"lock:{ghost}",))
    settlement.run(time.time() + 600)
    assert outbox.find(f"lock:{ghost}").state == "mined"
    assert escrow.funds(lab.consumer.address, lab.token) == (available, locked)
