"""Compute-to-Data end to end: real orders on anvil, real sandbox runs."""
from __future__ import annotations

import hashlib
import json
import time
from contextlib import contextmanager

import pytest
from eth_account import Account

from provider.access.fees import provider_data, sign_provider_fee
from provider.compute import status as st
from provider.compute.validation import container_section_checksum
from provider.devtools.consumer import mint, start_order
from provider.stores.nonces import format_nonce
from provider.devtools.origin import OriginServer
from tests.helpers import sign

DATA = b"x,y\n1,1\n2,4\n3,9\n"
ALGORITHM = b"""
import json, os
dids = json.loads(os.environ["DIDS"])
folder = "/data/inputs/" + dids[0].removeprefix("did:op:")
rows = open(folder + "/0").read().strip().splitlines()[1:]
total = sum(int(r.split(",")[1]) for r in rows)
custom = json.load(open("/data/inputs/algoCustomData.json"))
json.dump({"sum_y": total, "custom": custom, "ddo_present": os.path.exists("/data/ddos/" + dids[0])},
          open("/data/outputs/result.json", "w"))
print("done", total)
"""
CONTAINER = {"entrypoint": "python3 $ALGO", "image": "python", "tag": "3.11", "checksum": "sha256:" + "ab" * 32}
ENVIRONMENTS = """
[compute.env.test-free]
cpu = 1
ram_gb = 0.25
disk_gb = 0.01
max_job_duration = 20
max_jobs = 1
price_per_minute = 0
max_pids = 64
runtimes = python:3*=python:/usr/bin/python3,python3:/usr/bin/python3

[compute.env.test-expiring]
cpu = 1
ram_gb = 0.25
disk_gb = 0.01
max_job_duration = 20
max_jobs = 1
price_per_minute = 0
storage_expiry = 1
runtimes = python:3*=python3:/usr/bin/python3

[compute.env.test-paid]
cpu = 1
ram_gb = 0.25
disk_gb = 0.01
max_job_duration = 60
max_jobs = 1
price_per_minute = 1
runtimes = python:3*=python3:/usr/bin/python3
"""


@pytest.fixture(scope="module")
def origin():
    server = OriginServer()
    server.add("data.csv", DATA, "text/csv")
    server.add("algo.py", ALGORITHM, "text/x-python")
    yield server
    server.stop()


@contextmanager
def running_compute_app(make_app, sandbox_dir, environments: str):
    """A provider app with these compute environments and its engine running."""
    envs = sandbox_dir / "envs.ini"
    envs.write_text(environments)
    app = make_app(COMPUTE_ENVIRONMENTS_FILE=str(envs), COMPUTE_JOBS_PATH=str(sandbox_dir / "jobs"),
                   COMPUTE_SCHEDULER_INTERVAL="0.1", INDEXER_ENABLED="false")
    app.extensions["provider"].engine.start()
    try:
        yield app
    finally:
        app.extensions["provider"].engine.shutdown()


@pytest.fixture
def compute_app(make_app, sandbox_dir, origin):
    with running_compute_app(make_app, sandbox_dir, ENVIRONMENTS) as app:
        yield app


class Lab:
    def __init__(self, dev_chain, publisher, client, origin):
        self.chain, self.publisher, self.client, self.origin = dev_chain, publisher, client, origin
        self.consumer = dev_chain.consumer
        self.env_address = dev_chain.provider_account.address
        self._nonce = int(time.time() * 1000)

    def next_nonce(self) -> int:
        self._nonce = max(self._nonce + 1, int(time.time() * 1000))
        return self._nonce

    def publish_algorithm(self, path="/files/algo.py", container=None):
        nft, dt = self.publisher.create_nft_with_datatoken(self.chain.publisher_account)
        metadata = {"type": "algorithm", "name": "sum", "created": "2026-01-01T00:00:00Z", "description": "sums columns",
                    "author": "Ocean", "license": "CC0",
                    "algorithm": {"language": "python", "version": "0.1", "container": container or CONTAINER}}
        ddo = self.publisher.make_ddo(nft, dt, [{"type": "url", "url": self.origin.url + path, "method": "GET"}],
                                      metadata=metadata)
        self.publisher.set_metadata(self.chain.publisher_account, nft, ddo, 2)
        mint(self.chain.w3, self.chain.publisher_account, dt, self.consumer.address)
        return ddo

    def trust(self, algo_ddo, files=ALGORITHM, container=None):
        return {"did": algo_ddo["id"], "filesChecksum": hashlib.sha256(files).hexdigest(),
                "containerSectionChecksum": container_section_checksum(container or CONTAINER)}

    def publish_dataset(self, trusted=(), publishers=(), raw=False, network=False, path="/files/data.csv",
                        credentials=None, output_policy=None):
        nft, dt = self.publisher.create_nft_with_datatoken(self.chain.publisher_account)
        ddo = self.publisher.make_ddo(
            nft, dt, [{"type": "url", "url": self.origin.url + path, "method": "GET"}], credentials=credentials,
            service_type="compute", compute={"allowRawAlgorithm": raw, "allowNetworkAccess": network,
                                             "publisherTrustedAlgorithms": list(trusted),
                                             "publisherTrustedAlgorithmPublishers": list(publishers),
                                             **({"outputPolicy": output_policy} if output_policy else {})})
        self.publisher.set_metadata(self.chain.publisher_account, nft, ddo, 2)
        mint(self.chain.w3, self.chain.publisher_account, dt, self.consumer.address)
        return ddo

    def initialize(self, datasets, algorithm, env="test-free", valid_until=None):
        return self.client.post("/api/services/initializeCompute", json={
            "datasets": [{"documentId": d["id"], "serviceId": d["services"][0]["id"]} for d in datasets],
            "algorithm": algorithm, "compute": {"env": env, "validUntil": valid_until or int(time.time()) + 600},
            "consumerAddress": self.consumer.address})

    def order_all(self, datasets, algorithm_ddo, env="test-free", valid_until=None):
        algorithm = {"documentId": algorithm_ddo["id"], "serviceId": "0"} if algorithm_ddo else None
        reply = self.initialize(datasets, algorithm or {"meta": {"rawcode": "x", "container": CONTAINER}}, env,
                                valid_until)
        assert reply.status_code == 200, reply.get_json()
        body = reply.get_json()
        txs = [start_order(self.chain.w3, self.consumer, d["services"][0]["datatokenAddress"], 0, e["providerFee"],
                           consumer=self.env_address) for d, e in zip(datasets, body["datasets"])]
        algo_tx = None
        if algorithm_ddo:
            algo_tx = start_order(self.chain.w3, self.consumer, algorithm_ddo["services"][0]["datatokenAddress"], 0,
                                  body["algorithm"]["providerFee"], consumer=self.env_address)
        return txs, algo_tx

    def start(self, dataset, tx, algorithm, env="test-free", signer=None, extra=None):
        nonce = self.next_nonce()
        body = {"dataset": {"documentId": dataset["id"], "serviceId": dataset["services"][0]["id"],
                            "transferTxId": tx},
                "algorithm": algorithm, "environment": env, "consumerAddress": self.consumer.address,
                "nonce": nonce, "signature": sign(signer or self.consumer, f"{self.consumer.address}{dataset['id']}{nonce}")}
        body.update(extra or {})
        return self.client.post("/api/services/compute", json=body)

    def status(self, job_id, account=None, did=""):
        account = account or self.consumer
        nonce = self.next_nonce()
        return self.client.get("/api/services/compute", query_string={
            "consumerAddress": account.address, "jobId": job_id, "documentId": did, "nonce": nonce,
            "signature": sign(account, f"{account.address}{job_id}{did}{nonce}", v01=True)})

    def wait(self, job_id, until=lambda s: s["status"] >= 70 or s["status"] in st.TERMINAL, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            current = self.status(job_id).get_json()[0]
            if until(current):
                return current
            time.sleep(0.2)
        raise AssertionError(f"job {job_id} still {current}")

    def result(self, job_id, index, account=None):
        account = account or self.consumer
        nonce = self.next_nonce()
        return self.client.get("/api/services/computeResult", query_string={
            "consumerAddress": account.address, "jobId": job_id, "index": index, "nonce": nonce,
            "signature": sign(account, f"{account.address}{job_id}{index}{nonce}")})

    def signed(self, method, job_id, account=None, did=""):
        account = account or self.consumer
        nonce = self.next_nonce()
        return self.client.open("/api/services/compute", method=method, json={
            "consumerAddress": account.address, "jobId": job_id, "documentId": did, "nonce": nonce,
            "signature": sign(account, f"{account.address}{job_id}{did}{nonce}")})


@pytest.fixture
def lab(dev_chain, publisher, compute_app, origin):
    return Lab(dev_chain, publisher, compute_app.test_client(), origin)


def raw_algorithm(code: str, **container):
    return {"meta": {"rawcode": code, "container": {**CONTAINER, **container}}}


def test_environments_in_the_reference_shape(lab):
    body = lab.client.get("/api/services/computeEnvironments?chainId=8996").get_json()
    envs = {e["id"]: e for e in body["8996"]}
    free = envs["test-free"]
    assert free["priceMin"] == 0 and free["maxJobs"] == 1 and free["consumerAddress"] == lab.env_address
    for key in ("cpuNumber", "ramGB", "diskGB", "currentJobs", "maxJobDuration", "storageExpiry", "lastSeen",
                "feeToken", "desc", "resources"):
        assert key in free
    assert envs["test-paid"]["priceMin"] == 1


def test_published_algorithm_end_to_end(lab):
    algo = lab.publish_algorithm()
    dataset = lab.publish_dataset(trusted=[lab.trust(algo)])
    (tx,), algo_tx = lab.order_all([dataset], algo)
    r = lab.start(dataset, tx, {"documentId": algo["id"], "serviceId": "0", "transferTxId": algo_tx,
                                "algocustomdata": {"scale": 2}})
    assert r.status_code == 200, r.get_json()
    job = r.get_json()[0]
    assert job["status"] == 1 and job["statusText"] == "Warming up"
    final = lab.wait(job["jobId"])
    assert final["status"] == 70 and final["statusText"] == "Job finished", final
    assert final["terminationDetails"]["exitCode"] == 0 and final["terminationDetails"]["OOMKilled"] is False
    types = [r["type"] for r in final["results"]]
    assert types == ["configurationLog", "algorithmLog", "output", "publishLog", "receipt"]
    bodies = [lab.result(job["jobId"], entry["index"]) for entry in final["results"]]
    assert all(b.status_code == 200 for b in bodies)
    output = json.loads(bodies[2].data)
    assert output == {"sum_y": 14, "custom": {"scale": 2}, "ddo_present": True}
    assert b"done 14" in bodies[1].data
    assert lab.origin.url.encode() not in b"".join(b.data for b in bodies)  # URLs never reach the consumer
    # the same order cannot start a second job
    again = lab.start(dataset, tx, {"documentId": algo["id"], "serviceId": "0", "transferTxId": algo_tx})
    assert again.status_code == 400 and again.get_json() == {"error": {"order": "agreement_already_used"}}


def order_dataset_only(lab, dataset, env="test-free"):
    """Order the dataset with a fee from an allowed request, to try a refused one at start."""
    trusted_raw = lab.publish_dataset(raw=True)
    fee = lab.initialize([trusted_raw], raw_algorithm("print(1)"), env).get_json()["datasets"][0]["providerFee"]
    data = provider_data(env, time.time(), dataset["services"][0]["datatokenAddress"], dataset["services"][0]["id"])
    key = "0x" + bytes(lab.chain.provider_account.key).hex()
    signed = sign_provider_fee(key, fee["providerFeeAddress"], fee["providerFeeToken"], 0, data, int(time.time()) + 600)
    return start_order(lab.chain.w3, lab.consumer, dataset["services"][0]["datatokenAddress"], 0, signed.as_json(),
                       consumer=lab.env_address)


def test_algorithm_not_in_the_trusted_list(lab):
    algo = lab.publish_algorithm()
    other = lab.publish_algorithm()
    dataset = lab.publish_dataset(trusted=[lab.trust(other)])
    refused = lab.initialize([dataset], {"documentId": algo["id"], "serviceId": "0"})
    assert refused.status_code == 400 and refused.get_json() == {"error": {"dataset": "not_trusted_algo"}}
    tx = order_dataset_only(lab, dataset)
    r = lab.start(dataset, tx, {"documentId": algo["id"], "serviceId": "0", "transferTxId": tx})
    assert r.status_code == 400 and r.get_json() == {"error": {"dataset": "not_trusted_algo"}}


def test_empty_trust_lists_admit_no_published_algorithm(lab):
    algo = lab.publish_algorithm()
    dataset = lab.publish_dataset()
    assert lab.initialize([dataset], {"documentId": algo["id"], "serviceId": "0"}).get_json() == {
        "error": {"dataset": "not_trusted_algo"}}


def test_trusted_publisher_list(lab, dev_chain):
    algo = lab.publish_algorithm()
    by_other = lab.publish_dataset(publishers=[dev_chain.accounts[6].address])
    assert lab.initialize([by_other], {"documentId": algo["id"], "serviceId": "0"}).get_json() == {
        "error": {"dataset": "not_trusted_algo_publisher"}}
    by_publisher = lab.publish_dataset(publishers=[dev_chain.publisher_account.address.lower()])
    assert lab.initialize([by_publisher], {"documentId": algo["id"], "serviceId": "0"}).status_code == 200


def test_raw_algorithm_only_where_allowed(lab):
    closed = lab.publish_dataset()
    refused = lab.initialize([closed], raw_algorithm("print(1)"))
    assert refused.status_code == 400 and refused.get_json() == {"error": {"dataset": "no_raw_algo_allowed"}}
    tx = order_dataset_only(lab, closed)
    r = lab.start(closed, tx, raw_algorithm("print(1)"))
    assert r.status_code == 400 and r.get_json() == {"error": {"dataset": "no_raw_algo_allowed"}}
    open_ = lab.publish_dataset(raw=True)
    (tx,), _ = lab.order_all([open_], None)
    r = lab.start(open_, tx, raw_algorithm("open('/data/outputs/o.txt','w').write('raw ok')"))
    final = lab.wait(r.get_json()[0]["jobId"])
    assert final["status"] == 70 and lab.result(final["jobId"], 2).data == b"raw ok"


def test_changed_algorithm_file_is_refused(lab, origin):
    origin.add("algo-v1.py", ALGORITHM, "text/x-python")
    algo = lab.publish_algorithm(path="/files/algo-v1.py")
    dataset = lab.publish_dataset(trusted=[lab.trust(algo)])
    (tx,), algo_tx = lab.order_all([dataset], algo)
    origin.add("algo-v1.py", ALGORITHM + b"\nimport os; os.system('steal')\n", "text/x-python")
    assert lab.initialize([dataset], {"documentId": algo["id"], "serviceId": "0"}).get_json() == {
        "error": {"dataset": "algorithm_file_checksum_mismatch"}}
    r = lab.start(dataset, tx, {"documentId": algo["id"], "serviceId": "0", "transferTxId": algo_tx})
    assert r.get_json() == {"error": {"dataset": "algorithm_file_checksum_mismatch"}}


def test_image_the_environment_cannot_serve_is_refused_at_initialize(lab):
    dataset = lab.publish_dataset(raw=True)
    r = lab.initialize([dataset], raw_algorithm("print(1)", image="oceanprotocol/algo_dockers", tag="latest"))
    assert r.status_code == 400
    assert r.get_json() == {"error": {"algorithm.container": "image_not_supported_by_environment"}}
    assert lab.client.post("/api/services/validateContainer", json={"image": "node"}).get_json() == {
        "error": "missing_entrypoint_image_checksum"}


def test_order_for_another_environment_and_unpaid_or_expired_fees(lab, dev_chain):
    dataset = lab.publish_dataset(raw=True)
    (tx,), _ = lab.order_all([dataset], None, env="test-free")
    r = lab.start(dataset, tx, raw_algorithm("print(1)"), env="test-paid")
    assert r.get_json() == {"error": {"dataset.serviceId": "order_invalid"}}
    # paid environment: initialize quotes price x minutes; a fee that expires before the job is refused
    paid = lab.initialize([dataset], raw_algorithm("print(1)"), env="test-paid", valid_until=int(time.time()) + 3600)
    amount = int(paid.get_json()["datasets"][0]["providerFee"]["providerFeeAmount"])
    assert amount == 60 * 10**18  # 60 minutes at 1 OCEAN per minute, no wrap
    day = lab.initialize([dataset], raw_algorithm("print(1)"), env="test-paid", valid_until=int(time.time()) + 3 * 86400)
    assert day.status_code == 400  # far longer than the environment offers
    soon = int(time.time()) + 3
    (tx,), _ = lab.order_all([dataset], None, env="test-paid", valid_until=soon)
    time.sleep(max(0, soon - time.time()) + 1)
    r = lab.start(dataset, tx, raw_algorithm("print(1)"), env="test-paid")
    assert r.status_code == 400 and r.get_json()["error"] in ({"order": "fees_not_paid"},
                                                               {"dataset.serviceId": "order_invalid"})


def test_someone_else_cannot_see_stop_delete_or_fetch_a_job(lab, dev_chain):
    dataset = lab.publish_dataset(raw=True)
    (tx,), _ = lab.order_all([dataset], None)
    job_id = lab.start(dataset, tx, raw_algorithm("open('/data/outputs/s','w').write('secret')")).get_json()[0]["jobId"]
    final = lab.wait(job_id)
    stranger = dev_chain.accounts[3]
    assert lab.status(job_id, account=stranger).status_code == 404
    forged = lab.client.get("/api/services/compute", query_string={
        "consumerAddress": lab.consumer.address, "jobId": job_id, "nonce": 5,
        "signature": sign(stranger, f"{lab.consumer.address}{job_id}5")})
    assert forged.status_code == 400
    unsigned = lab.client.get("/api/services/compute", query_string={"consumerAddress": lab.consumer.address,
                                                                     "jobId": job_id}).get_json()[0]
    assert "results" not in unsigned and unsigned["status"] == 70  # coarse status only
    assert lab.result(job_id, 2, account=stranger).status_code == 404
    assert lab.signed("PUT", job_id, account=stranger).status_code == 404
    assert lab.signed("DELETE", job_id, account=stranger).status_code == 404
    n = lab.next_nonce()
    logs = lab.client.get("/api/services/computeStreamableLogs", query_string={
        "consumerAddress": stranger.address, "jobId": job_id, "nonce": n,
        "signature": sign(stranger, f"{stranger.address}{job_id}{n}")})
    assert logs.status_code in (400, 404)
    # the owner still can, and delete removes everything
    assert lab.result(job_id, 2).data == b"secret"
    assert lab.result(job_id, len(final["results"])).status_code == 404
    not_a_number = lab.client.get("/api/services/computeResult", query_string={
        "consumerAddress": lab.consumer.address, "jobId": job_id, "index": "two", "nonce": 1, "signature": "0x00"})
    assert not_a_number.status_code == 400
    assert lab.signed("DELETE", job_id).status_code == 200
    assert lab.status(job_id).status_code == 404


@pytest.mark.parametrize("code,check", [
    ("import socket\nsocket.create_connection(('1.1.1.1', 53), timeout=2)",
     lambda s: s["terminationDetails"]["exitCode"] != 0),
    ("blocks = [bytearray(32 * 1024 * 1024) for _ in range(64)]",
     lambda s: s["terminationDetails"]["OOMKilled"] is True and "memory" in s["error"]),
    ("import time\ntime.sleep(120)", lambda s: s["terminationDetails"]["timedOut"] is True),
    ("f = open('/data/outputs/fill', 'wb')\nwhile True: f.write(b'x' * 1048576)",
     lambda s: s["status"] == 42 and s["statusText"] == "Error: disk quota exceeded"),
    ("open('/data/inputs/algoCustomData.json', 'w').write('pwned')", lambda s: s["terminationDetails"]["exitCode"] != 0),
])
def test_misbehaving_algorithms_are_contained_and_reported(lab, code, check):
    dataset = lab.publish_dataset(raw=True)
    (tx,), _ = lab.order_all([dataset], None)
    job_id = lab.start(dataset, tx, raw_algorithm(code)).get_json()[0]["jobId"]
    final = lab.wait(job_id, timeout=90)
    assert st.is_terminal(final["status"]) and check(final), final
    assert final["results"][0]["type"] == "configurationLog"


def test_stop_while_queued_and_while_running(lab):
    dataset = lab.publish_dataset(raw=True)
    (tx1,), _ = lab.order_all([dataset], None)
    (tx2,), _ = lab.order_all([dataset], None)
    running = lab.start(dataset, tx1, raw_algorithm("import time\ntime.sleep(60)")).get_json()[0]["jobId"]
    lab.wait(running, until=lambda s: s["status"] == 40)
    queued = lab.start(dataset, tx2, raw_algorithm("print(1)")).get_json()[0]["jobId"]
    time.sleep(0.5)
    assert lab.status(queued).get_json()[0]["status"] == 1  # the environment has one slot
    assert lab.signed("PUT", queued).status_code == 200
    assert lab.wait(queued)["error"] == "stopped before it started"
    assert lab.signed("PUT", running).status_code == 200
    stopped = lab.wait(running, timeout=20)
    assert stopped["status"] == 70 and stopped["terminationDetails"]["stopped"] is True


def test_live_logs_stream_while_running(lab):
    dataset = lab.publish_dataset(raw=True)
    (tx,), _ = lab.order_all([dataset], None)
    code = "import time\nfor i in range(3):\n    print('tick', i, flush=True)\n    time.sleep(0.3)"
    job_id = lab.start(dataset, tx, raw_algorithm(code)).get_json()[0]["jobId"]
    nonce = lab.next_nonce()
    r = lab.client.get("/api/services/computeStreamableLogs", query_string={
        "consumerAddress": lab.consumer.address, "jobId": job_id, "nonce": nonce,
        "signature": sign(lab.consumer, f"{lab.consumer.address}{job_id}{nonce}")})
    assert r.status_code == 200 and b"tick 2" in r.data


def test_stop_while_provisioning(lab):
    ddo = lab.publish_dataset(raw=True, path="/slow/30")
    (tx,), _ = lab.order_all([ddo], None)
    job_id = lab.start(ddo, tx, raw_algorithm("print('never runs')")).get_json()[0]["jobId"]
    lab.wait(job_id, until=lambda s: s["status"] == 20)
    assert lab.signed("PUT", job_id).status_code == 200
    final = lab.wait(job_id, timeout=20)
    assert final["status"] == 70 and final["error"] == "stopped by its owner"
    assert "algorithmLog" not in [r["type"] for r in final["results"]]


def test_finished_jobs_are_removed_after_the_storage_expiry(lab, compute_app):
    dataset = lab.publish_dataset(raw=True)
    (tx,), _ = lab.order_all([dataset], None, env="test-expiring")
    job_id = lab.start(dataset, tx, raw_algorithm("print(1)"), env="test-expiring").get_json()[0]["jobId"]
    lab.wait(job_id)
    engine = compute_app.extensions["provider"].engine
    assert engine.paths(job_id).root.exists()
    deadline = time.monotonic() + 10
    while lab.status(job_id).status_code != 404 and time.monotonic() < deadline:
        time.sleep(0.3)
    assert lab.status(job_id).status_code == 404
    assert not engine.paths(job_id).root.exists()


def test_delete_as_ocean_js_sends_it_without_the_nonce_works_once(lab):
    """ocean.js 3.x signs delete with the next nonce but leaves the nonce out of the body."""
    dataset = lab.publish_dataset(raw=True)
    (tx,), _ = lab.order_all([dataset], None)
    job_id = lab.start(dataset, tx, raw_algorithm("print('x')")).get_json()[0]["jobId"]
    lab.wait(job_id)
    nonces = lab.client.application.extensions["provider"].nonces
    implied = format_nonce(nonces.current(lab.consumer.address) + 1)
    body = {"consumerAddress": lab.consumer.address, "jobId": job_id, "documentId": dataset["id"],
            "signature": sign(lab.consumer, f"{lab.consumer.address}{job_id}{dataset['id']}{implied}")}
    assert lab.client.delete("/api/services/compute", json=body).status_code == 200
    assert lab.status(job_id).status_code == 404
    replay = lab.client.delete("/api/services/compute", json=body)
    assert replay.status_code == 400 and "signature" in replay.get_json()["errors"]
    unsigned = lab.client.delete("/api/services/compute", json={k: v for k, v in body.items() if k != "signature"})
    assert unsigned.status_code == 400


def test_delete_without_a_nonce_from_an_address_with_no_nonce_yet_is_a_clean_400(lab):
    stranger = Account.create()  # no stored nonce: the implied one is 1
    body = {"consumerAddress": stranger.address, "jobId": "nope", "signature": sign(stranger, f"{stranger.address}nope1")}
    r = lab.client.delete("/api/services/compute", json=body)
    assert r.status_code == 404  # signature over the implied nonce 1 verified; no such job
