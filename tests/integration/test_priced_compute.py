"""Resource-priced compute (ocean.js 8's protocol) end to end on anvil and the real sandbox: the
flat environment listing, initializeCompute's payment block, an escrow lock at start and a
claim of the measured cost at the end, free jobs, node status codes and results."""
from __future__ import annotations

import hashlib
import io
import json
import tarfile

import pytest

from provider.chain.contracts import abi
from provider.chain.escrow import Escrow
from provider.chain.tx import send_transaction
from provider.compute import status as st
from provider.compute.receipts import verify
from provider.devtools.consumer import reuse_order, start_order
from tests.helpers import node_sign, wait_for
from tests.integration.test_compute import CONTAINER, Lab, origin, running_compute_app  # noqa: F401 (origin: fixture)

ENVIRONMENTS = """
[compute.env.test-priced]
cpu = 1
ram_gb = 0.25
disk_gb = 0.01
max_job_duration = 60
max_jobs = 2
max_jobs_per_consumer = 2
price_per_minute = 1
resources = cpu:total=2,min=1,max=1; ram:total=1,min=0.25,max=0.5; disk:total=0.1,min=0.01,max=0.05
prices = cpu=1, ram=2
min_job_duration = 60
free_max_job_duration = 20
free_max_jobs = 1
free_resources = cpu=1, ram=0.25, disk=0.01
free_jobs_per_hour = 3
runtimes = python:3*=python:/usr/bin/python3,python3:/usr/bin/python3

[compute.env.test-paid-only]
cpu = 1
ram_gb = 0.25
disk_gb = 0.01
max_job_duration = 60
max_jobs = 1
price_per_minute = 1
runtimes = python:3*=python3:/usr/bin/python3
"""
TOKENS = 10 ** 18


@pytest.fixture
def priced_app(make_app, sandbox_dir, origin):  # noqa: F811
    with running_compute_app(make_app, sandbox_dir, ENVIRONMENTS) as app:
        yield app


class NodeLab(Lab):
    """What ocean.js 8 sends (node spec §3.5-3.12), with the Lab's publishing and orders."""

    @property
    def token(self) -> str:
        return self.contracts["Ocean"]

    @property
    def contracts(self) -> dict:
        return json.loads(self.chain.address_file.read_text())["development"]

    def fund_escrow(self, account, *, deposit: int, max_locked: int, max_seconds: int, max_locks: int = 10):
        w3 = self.chain.w3
        ocean = w3.eth.contract(address=self.token, abi=abi("OceanToken"))
        escrow = w3.eth.contract(address=self.contracts["Escrow"], abi=abi("Escrow"))
        send_transaction(w3, account, ocean.functions.approve(self.contracts["Escrow"], deposit))
        send_transaction(w3, account, escrow.functions.deposit(self.token, deposit))
        send_transaction(w3, account, escrow.functions.authorize(self.token, self.env_address, max_locked,
                                                                 max_seconds, max_locks))

    def escrow(self) -> Escrow:
        return Escrow(self.app.extensions["provider"].chains.get(8996))

    def initialize(self, datasets, algorithm, env="test-priced", resources=None, duration=60, account=None,
                   token=None, **extra):
        return self.client.post("/api/services/initializeCompute", json={
            "datasets": datasets, "algorithm": algorithm, "environment": env,
            "payment": {"chainId": 8996, "token": token or self.token, "resources": resources or []},
            "maxJobDuration": duration, "consumerAddress": (account or self.consumer).address, **extra})

    def order(self, ddo, offer, account=None) -> str:
        """ocean.js's handleComputeOrder: reuse a valid order, reuseOrder with a fresh fee, or a new order
        whose consumer is the environment's address."""
        account = account or self.consumer
        datatoken = ddo["services"][0]["datatokenAddress"]
        if offer.get("validOrder") and "providerFee" not in offer:
            return offer["validOrder"]
        if offer.get("validOrder"):
            return reuse_order(self.chain.w3, account, datatoken, offer["validOrder"], offer["providerFee"])
        return start_order(self.chain.w3, account, datatoken, 0, offer["providerFee"], consumer=self.env_address)

    def start(self, datasets, algorithm, env="test-priced", resources=None, duration=60, account=None,
              path="/api/services/compute", command="startCompute", **extra):
        account = account or self.consumer
        nonce = self.next_nonce()
        body = {"consumerAddress": account.address, "nonce": str(nonce),
                "signature": node_sign(account, f"{account.address}{nonce}{command}"),
                "environment": env, "datasets": datasets, "algorithm": algorithm, "resources": resources or [],
                **extra}
        if command == "startCompute":
            body |= {"maxJobDuration": duration, "chainId": 8996,
                     "payment": {"chainId": 8996, "token": self.token, "resources": resources or []}}
        return self.client.post(path, json=body)

    def node_status(self, job_id, account=None, **params):
        account = account or self.consumer
        reply = self.client.get("/api/services/compute",
                                query_string={"consumerAddress": account.address, "jobId": job_id, **params})
        assert reply.status_code == 200, reply.get_json()
        return reply.get_json()

    def wait_node(self, job_id, until=lambda s: s["status"] in (st.FINISHED, *st.TERMINAL) and s["status"] != 71,
                  timeout=60):
        return wait_for(lambda: next((s for s in self.node_status(job_id) if until(s)), None), timeout,
                        f"job {job_id} settled")

    def node_result(self, job_id, index, account=None, headers=None):
        account = account or self.consumer
        nonce = self.next_nonce()
        return self.client.get("/api/services/computeResult", headers=headers or {}, query_string={
            "consumerAddress": account.address, "jobId": job_id, "index": index, "nonce": nonce,
            "signature": node_sign(account, f"{account.address}{nonce}getComputeResult")})

    def token_status(self, job_id, account=None):
        account = account or self.consumer
        nonce = self.next_nonce()
        token = self.client.post("/api/services/auth/token", json={
            "address": account.address, "nonce": str(nonce),
            "signature": node_sign(account, f"{account.address}{nonce}createAuthToken")}).get_json()["token"]
        return self.client.get("/api/services/compute", headers={"Authorization": token},
                               query_string={"consumerAddress": account.address, "jobId": job_id}).get_json()


@pytest.fixture
def node_lab(dev_chain, publisher, priced_app, origin):  # noqa: F811
    lab = NodeLab(dev_chain, publisher, priced_app.test_client(), origin)
    lab.app = priced_app
    return lab


def assets_of(lab, *, raw=False):
    algo = lab.publish_algorithm()
    dataset = lab.publish_dataset(trusted=[lab.trust(algo)], raw=raw)
    return dataset, algo


def refs(ddo, tx=None):
    return {"documentId": ddo["id"], "serviceId": ddo["services"][0]["id"], **({"transferTxId": tx} if tx else {})}


def outputs_of(tar_bytes: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def test_ocean_js_8_reads_the_flat_listing_and_classic_clients_keep_theirs(node_lab):
    node_root = node_lab.client.get("/", headers={"Authorization": "undefined"}).get_json()
    classic_root = node_lab.client.get("/").get_json()
    node_path = node_root["serviceEndpoints"]["computeEnvironments"][1]
    assert classic_root["serviceEndpoints"]["computeEnvironments"][1] == "/api/services/computeEnvironments"
    assert node_path != "/api/services/computeEnvironments"
    classic = node_lab.client.get(classic_root["serviceEndpoints"]["computeEnvironments"][1]).get_json()
    assert isinstance(classic, dict) and "8996" in classic
    listing = node_lab.client.get(node_path).get_json()
    env = next(e for e in listing if e["id"] == "test-priced")
    assert env["consumerAddress"] == node_lab.env_address
    assert env["fees"]["8996"][0]["feeToken"] == node_lab.token
    assert {p["id"]: p["price"] for p in env["fees"]["8996"][0]["prices"]} == {"cpu": 1, "ram": 2}
    assert [(r["id"], r["total"], r["min"], r["max"]) for r in env["resources"]] == [
        ("cpu", 2, 1, 1), ("ram", 1, 0.25, 0.5), ("disk", 0.1, 0.01, 0.05)]
    assert env["free"]["maxJobDuration"] == 20 and env["minJobDuration"] == 60
    assert "free" not in next(e for e in listing if e["id"] == "test-paid-only")


def test_a_paid_job_locks_its_maximum_and_the_claim_is_what_it_ran(node_lab, dev_chain):
    lab = node_lab
    dataset, algo = assets_of(lab)
    lab.fund_escrow(lab.consumer, deposit=20 * TOKENS, max_locked=10 * TOKENS, max_seconds=7200)
    escrow = lab.escrow()
    available_before, locked_before = escrow.funds(lab.consumer.address, lab.token)

    too_much = lab.initialize([refs(dataset)], refs(algo), resources=[{"id": "cpu", "amount": 2}])
    assert too_much.status_code == 400 and "cpu" in too_much.get_json()["error"]

    reply = lab.initialize([refs(dataset)], refs(algo), resources=[{"id": "ram", "amount": 0.5}], duration=120)
    assert reply.status_code == 200, reply.get_json()
    init = reply.get_json()
    # cpu 1 x 1 + ram 0.5 x 2 = 2 per minute; 120 s asked for, clamped to the env's 60 s maximum
    assert init["payment"] == {"escrowAddress": lab.contracts["Escrow"], "payee": lab.env_address, "chainId": 8996,
                               "minLockSeconds": 60 + 0 + 3600, "token": lab.token, "amount": str(2 * TOKENS)}
    assert init["datasets"][0]["validOrder"] is False and init["datasets"][0]["providerFee"]["providerFeeAmount"] == "0"
    dataset_tx, algo_tx = lab.order(dataset, init["datasets"][0]), lab.order(algo, init["algorithm"])

    started = lab.start([refs(dataset, dataset_tx)], refs(algo, algo_tx), resources=[{"id": "ram", "amount": 0.5}],
                        metadata={"name": "sum"})
    assert started.status_code == 200, started.get_json()
    job = started.get_json()[0]
    assert len(job["jobId"]) == 64 and job["payment"]["lockTx"].startswith("0x") and job["isFree"] is False
    assert job["resources"] == [{"id": "cpu", "amount": 1, "price": "1"}, {"id": "ram", "amount": 0.5, "price": "2"},
                                {"id": "disk", "amount": 0.01}]
    assert escrow.funds(lab.consumer.address, lab.token) == (available_before - 2 * TOKENS, locked_before + 2 * TOKENS)

    final = lab.wait_node(job["jobId"])
    full = lab.token_status(job["jobId"])[0]
    assert final["status"] == 70 and final["statusText"] == "Job finished" and "payment" not in final  # unsigned
    assert full["payment"]["claimTx"].startswith("0x") and full["metadata"] == {"name": "sum"}
    # the algorithm ran well under a minute: billed the environment's minimum, 60 s at 2 per minute
    assert full["payment"]["cost"] == str(2 * TOKENS)
    assert escrow.funds(lab.consumer.address, lab.token) == (available_before - 2 * TOKENS, locked_before)
    assert not escrow.holds(int(lab.app.extensions["provider"].compute.jobs.get(job["jobId"]).spec["payment"]["lockId"]),
                            lab.token, lab.consumer.address)

    assert [r["filename"] for r in full["results"]] == ["configuration.log", "algorithm.log", "outputs.tar",
                                                        "publish.log", "receipt.json"]
    archive = lab.node_result(job["jobId"], 2)
    assert archive.status_code == 200
    outputs = outputs_of(archive.data)
    assert json.loads(outputs["outputs/result.json"])["sum_y"] == 14
    # the receipt names the claim, and the output the consumer fetched hashes to its value
    receipt = json.loads(lab.node_result(job["jobId"], 4).data)
    assert receipt["receipt"]["payment"]["claimTx"] == full["payment"]["claimTx"]
    assert receipt["receipt"]["outputs"] == [{"name": "result.json", "size": str(len(outputs["outputs/result.json"])),
                                              "sha256": hashlib.sha256(outputs["outputs/result.json"]).hexdigest()}]
    assert receipt["signer"] == lab.env_address and verify(receipt) == []
    tail = lab.node_result(job["jobId"], 2, headers={"Range": "bytes=512-"})
    assert tail.status_code == 206 and tail.data == archive.data[512:]
    assert tail.headers["Content-Range"] == f"bytes 512-{len(archive.data) - 1}/{len(archive.data)}"

    # the same orders start another job (ocean.js's "restart"): offered as valid, no new fee
    again = lab.initialize([refs(dataset, dataset_tx)], refs(algo, algo_tx)).get_json()
    assert again["datasets"][0]["validOrder"] == dataset_tx and "providerFee" not in again["datasets"][0]
    assert again["algorithm"]["validOrder"] == algo_tx and "providerFee" not in again["algorithm"]
    second = lab.start([refs(dataset, dataset_tx)], refs(algo, algo_tx))
    assert second.status_code == 200, second.get_json()
    assert lab.wait_node(second.get_json()[0]["jobId"])["status"] == 70


def test_a_free_job_needs_no_escrow_and_stays_within_the_free_tier(node_lab):
    lab = node_lab
    dataset, algo = assets_of(lab)
    init = lab.initialize([refs(dataset)], refs(algo)).get_json()
    dataset_tx = lab.order(dataset, init["datasets"][0])
    too_big = lab.start([refs(dataset, dataset_tx)], refs(algo), path="/api/services/freeCompute",
                        command="freeStartCompute", resources=[{"id": "ram", "amount": 0.5}])
    assert too_big.status_code == 400 and "ram" in too_big.get_json()["error"]
    # the algorithm is a published one: its own order is needed as for any asset with a DID
    algo_tx = lab.order(algo, init["algorithm"])
    reply = lab.start([refs(dataset, dataset_tx)], refs(algo, algo_tx), path="/api/services/freeCompute",
                      command="freeStartCompute")
    assert reply.status_code == 200, reply.get_json()
    job = reply.get_json()[0]
    assert job["isFree"] is True and "payment" not in job and job["maxJobDuration"] == 20
    final = lab.wait_node(job["jobId"])
    assert final["status"] == 70
    assert outputs_of(lab.node_result(job["jobId"], 2).data)["outputs/result.json"]

    # the paid-only environment has no free tier
    refused = lab.start([refs(dataset, dataset_tx)], refs(algo, algo_tx), env="test-paid-only",
                        path="/api/services/freeCompute", command="freeStartCompute")
    assert refused.status_code == 400 and "free" in refused.get_json()["error"]


def test_a_job_that_expires_in_the_queue_pays_nothing(node_lab):
    lab = node_lab
    dataset, algo = assets_of(lab, raw=True)
    lab.fund_escrow(lab.consumer, deposit=20 * TOKENS, max_locked=10 * TOKENS, max_seconds=7200)
    escrow = lab.escrow()
    init = lab.initialize([refs(dataset)], refs(algo)).get_json()
    dataset_tx, algo_tx = lab.order(dataset, init["datasets"][0]), lab.order(algo, init["algorithm"])
    # a long job holds the environment's one cpu-sized slot... two of them (max 2 jobs, 2 cpus)
    long_running = []
    for _ in range(2):
        reply = lab.start([refs(dataset, dataset_tx)], {"meta": {"rawcode": "import time\ntime.sleep(30)",
                                                                  "container": CONTAINER}})
        long_running.append(reply.get_json())
    assert all(isinstance(r, list) for r in long_running), long_running
    available = escrow.funds(lab.consumer.address, lab.token)[0]
    waiting = lab.start([refs(dataset, dataset_tx)], refs(algo, algo_tx), queueMaxWaitTime=1).get_json()[0]
    final = lab.wait_node(waiting["jobId"], timeout=30)
    assert final["status"] == st.EXPIRED_IN_QUEUE and final["statusText"] == "Job expired in queue"
    assert lab.token_status(waiting["jobId"])[0]["payment"]["cost"] == "0"
    for reply in long_running:
        nonce = lab.next_nonce()
        stop = lab.client.put("/api/services/compute", query_string={
            "consumerAddress": lab.consumer.address, "nonce": nonce, "jobId": reply[0]["jobId"],
            "signature": node_sign(lab.consumer, f"{lab.consumer.address}{nonce}stopCompute")})
        assert stop.status_code == 200 and stop.get_json()[0]["stopRequested"] is True
    for reply in long_running:
        lab.wait_node(reply[0]["jobId"])
    jobs = lab.app.extensions["provider"].compute.jobs
    for job_id in [waiting["jobId"]] + [reply[0]["jobId"] for reply in long_running]:
        assert not escrow.holds(int(jobs.get(job_id).spec["payment"]["lockId"]), lab.token, lab.consumer.address)
    assert escrow.funds(lab.consumer.address, lab.token)[0] >= available - 2 * 2 * TOKENS


class Storage:
    """The consumer's own storage: takes PUTs and keeps what it was sent."""

    def __init__(self, status: int = 201):
        import http.server
        import threading

        received = self.received = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_PUT(self):
                received.append((self.path, dict(self.headers), self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self):
        self.server.shutdown()


def encrypted_output(lab, target: dict) -> str:
    from provider.crypto.ecies import encrypt
    node_key = lab.client.get("/").get_json()["nodePublicKey"]
    return encrypt(node_key, json.dumps(target).encode()).hex()


def test_results_sent_to_the_consumers_storage_never_rest_in_clear(node_lab):
    lab = node_lab
    dataset, algo = assets_of(lab)
    init = lab.initialize([refs(dataset)], refs(algo)).get_json()
    dataset_tx, algo_tx = lab.order(dataset, init["datasets"][0]), lab.order(algo, init["algorithm"])
    storage = Storage()
    try:
        target = {"remoteStorage": {"type": "url", "url": storage.url + "/bucket/result.tar", "method": "PUT",
                                    "headers": {"X-Upload-Key": "s3cr3t"}}}
        free = dict(path="/api/services/freeCompute", command="freeStartCompute")
        for bad in ("zz", encrypted_output(lab, {"remoteStorage": {"type": "ipfs"}}), "00" * 80):
            refused = lab.start([refs(dataset, dataset_tx)], refs(algo, algo_tx), output=bad, **free)
            assert refused.status_code == 400, refused.get_json()
        reply = lab.start([refs(dataset, dataset_tx)], refs(algo, algo_tx), output=encrypted_output(lab, target),
                          **free)
        assert reply.status_code == 200, reply.get_json()
        job_id = reply.get_json()[0]["jobId"]
        record = lab.app.extensions["provider"].compute.jobs.get(job_id)
        assert "s3cr3t" not in json.dumps(record.spec) and storage.url not in json.dumps(record.spec)
        final = lab.wait_node(job_id)
        assert final["status"] == 70, lab.token_status(job_id)
        [(path, headers, body)] = storage.received
        assert path == "/bucket/result.tar" and headers["X-Upload-Key"] == "s3cr3t"
        assert json.loads(outputs_of(body)["outputs/result.json"])["sum_y"] == 14
        # delivered there, so not offered here (as Ocean Node does)
        assert "outputs.tar" not in [r["filename"] for r in lab.token_status(job_id)[0]["results"]]
    finally:
        storage.stop()


def test_a_storage_that_refuses_the_results_fails_the_job_and_keeps_them(node_lab):
    lab = node_lab
    dataset, algo = assets_of(lab)
    init = lab.initialize([refs(dataset)], refs(algo)).get_json()
    dataset_tx, algo_tx = lab.order(dataset, init["datasets"][0]), lab.order(algo, init["algorithm"])
    storage = Storage(status=403)
    try:
        target = {"remoteStorage": {"type": "url", "url": storage.url + "/x", "method": "PUT"}}
        reply = lab.start([refs(dataset, dataset_tx)], refs(algo, algo_tx), output=encrypted_output(lab, target),
                          path="/api/services/freeCompute", command="freeStartCompute")
        job_id = reply.get_json()[0]["jobId"]
        final = lab.wait_node(job_id)
        full = lab.token_status(job_id)[0]
        assert final["status"] == st.PUBLISH_FAILED and "HTTP 403" in full["error"]
        assert "outputs.tar" in [r["filename"] for r in full["results"]]  # not lost: still served here
    finally:
        storage.stop()
