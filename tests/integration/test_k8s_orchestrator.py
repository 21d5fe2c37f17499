"""The Kubernetes engine against an in-process API server (kmock) over real HTTP.

The test plays the Job controller and the pods: it patches Job and Pod status as a cluster
would, and runs the real `ocean-provider pod fetch|publish` code against the provider's
internal endpoints (a real HTTP server). Staging is a small double that writes the inputs
(provisioning itself is tested end to end with the local engine).
"""
from __future__ import annotations

import json
import threading
import time
import uuid

import kmock
import pytest
import requests
from kubernetes import client
from werkzeug.serving import make_server

from provider.compute.k8s.pods import pod_fetch, pod_publish
from provider.compute import status as st
from provider.compute.jobs import AgreementInUse, Job, JobStore, SqliteJobStore
from provider.compute.k8s.cluster import ClusterApi
from provider.compute.k8s.jobstore import ClusterJobStore
from provider.compute.k8s.manifests import LABEL_JOB, label_value, object_name
from provider.config import ClusterSettings
from provider.compute.k8s.orchestrator import KubernetesJobEngine
from provider.devtools.anvil import free_port
from tests.integration.test_compute import ENVIRONMENTS



LEASE = 4  # seconds; longer than one tick on the emulator, whose calls slow down as objects pile up


class StagingDouble:
    def provision(self, spec, paths, disk_bytes, check):
        folder = paths.data / "inputs" / "abc"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "0").write_text("1,2,3\n")
        (paths.data / "transformations" / "algorithm").write_text("print('hi')\n")


class Cluster:
    """The test's hands on the cluster: the Job controller and the pods."""

    def __init__(self, api: ClusterApi, emu):
        self.api, self.emu, self.ns = api, emu, api.namespace

    def job(self, job_id, phase):
        return self.api.job(object_name(job_id, phase))

    def complete(self, job_id, phase, failed=False, reason=None):
        condition = {"type": "Failed" if failed else "Complete", "status": "True"}
        if reason:
            condition["reason"] = reason
        status = {"conditions": [condition], ("failed" if failed else "succeeded"): 1}
        self.api.batch.patch_namespaced_job_status(object_name(job_id, phase), self.ns, {"status": status})

    def algorithm_pod(self, job_id, exit_code=0, reason="Completed", log=b"algorithm says hi\n"):
        job_name = object_name(job_id, "algorithm")
        pod_name = f"{job_name}-x1"
        self.api.core.create_namespaced_pod(self.ns, {"apiVersion": "v1", "kind": "Pod", "metadata": {
            "name": pod_name, "labels": {"job-name": job_name}}, "spec": {"containers": [{"name": "algorithm",
                                                                                          "image": "i"}]}})
        self.api.core.patch_namespaced_pod_status(pod_name, self.ns, {"status": {"phase": "Failed" if exit_code else "Succeeded",
            "containerStatuses": [{"name": "algorithm", "ready": False, "restartCount": 0, "image": "i", "imageID": "",
                                   "state": {"terminated": {"exitCode": exit_code, "reason": reason}}}]}})
        self.emu[f"get /api/v1/namespaces/{self.ns}/pods/{pod_name}/log"] << kmock.Response(
            payload=log, headers={"Content-Type": "text/plain"})

    def token(self, job_id, phase):
        secret = self.api.core.read_namespaced_secret(object_name(job_id, f"{phase}-token"), self.ns)
        return (secret.string_data or {}).get("token") or ""

    def objects(self, job_id):
        return self.api.objects_of({LABEL_JOB: label_value(job_id)})


@pytest.fixture(params=["sqlite-store", "cluster-store"])
def rig(request, emulator, make_app, sandbox_dir):
    envs = sandbox_dir / "envs.ini"
    envs.write_text(ENVIRONMENTS)
    app = make_app(COMPUTE_ENVIRONMENTS_FILE=str(envs), COMPUTE_JOBS_PATH=str(sandbox_dir / "jobs"),
                   INDEXER_ENABLED="false")  # its local engine is replaced below
    services = app.extensions["provider"]
    namespace = f"c2d-{uuid.uuid4().hex[:8]}"  # leases and objects of other tests stay out of the way
    api = ClusterApi(client.ApiClient(client.Configuration(host=emulator["url"])), namespace)
    store = SqliteJobStore(services.db) if request.param == "sqlite-store" else ClusterJobStore(api)

    def engine():
        return KubernetesJobEngine(services.settings.compute, ClusterSettings(namespace=namespace), store, api,
                                StagingDouble(), lease_seconds=LEASE)

    services.engine = engine()
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield {"app": app, "engine": services.engine, "new_engine": engine, "store": store,
           "cluster": Cluster(api, emulator["emu"]), "url": f"http://127.0.0.1:{port}", "volume": sandbox_dir / "pvc"}
    server.shutdown()


def queue_job(store: JobStore, job_id: str) -> Job:
    job = Job(job_id=job_id, owner="0x" + "11" * 20, did="did:op:abc", algo_did="raw", agreement_id="0x" + job_id,
              environment="test-free", chain_id=8996, status=st.QUEUED, date_created=time.time(), date_started=None,
              date_finished=None, phase_deadline=None, max_duration=20, stop_requested=0, runner=None,
              spec={"inputs": [{"documentId": "did:op:abc", "serviceId": "1"}], "algorithm": {"meta": {"rawcode": "x"}},
                    "container": {"entrypoint": "python3 $ALGO", "image": "python", "tag": "3.11",
                                  "checksum": "sha256:" + "ab" * 32}, "runtime": {}, "network": False},
              results=None, termination=None, error=None)
    store.create(job)
    return job


def tick_until(engine, predicate, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        engine.tick()
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached")


def run_to_algorithm(rig, job_id):
    engine, cluster, store = rig["engine"], rig["cluster"], rig["store"]
    queue_job(store, job_id)
    tick_until(engine, lambda: cluster.job(job_id, "fetch") is not None)
    token = cluster.token(job_id, "fetch")
    assert pod_fetch(rig["url"], job_id, rig["volume"], token) == 0
    cluster.complete(job_id, "fetch")
    tick_until(engine, lambda: store.get(job_id).status == st.RUNNING)
    return token


def test_happy_path_to_status_70_with_results(rig):
    engine, cluster, store = rig["engine"], rig["cluster"], rig["store"]
    job_id = "a" * 32
    fetch_token = run_to_algorithm(rig, job_id)
    assert (rig["volume"] / "inputs" / "abc" / "0").read_text() == "1,2,3\n"  # the pod got the staged inputs
    kinds = sorted(kind for kind, _ in cluster.objects(job_id))
    # the fetch token, and the mark that it was used (made in one step, when it was)
    assert kinds == ["Job", "Job", "NetworkPolicy", "NetworkPolicy", "PersistentVolumeClaim", "Secret", "Secret"]
    algorithm = cluster.job(job_id, "algorithm")
    assert algorithm.spec.template.spec.containers[0].image == "python@sha256:" + "ab" * 32
    # the algorithm "runs": writes its output to the volume; the pod ends; the Job completes
    (rig["volume"] / "outputs" / "result.txt").write_text("42")
    cluster.algorithm_pod(job_id)
    cluster.complete(job_id, "algorithm")
    tick_until(engine, lambda: store.get(job_id).status == st.PUBLISHING)
    assert pod_publish(rig["url"], job_id, rig["volume"], cluster.token(job_id, "publish")) == 0
    cluster.complete(job_id, "publish")
    tick_until(engine, lambda: store.get(job_id).status == st.FINISHED)
    job = store.get(job_id)
    assert job.termination == {"exitCode": 0, "OOMKilled": False, "timedOut": False, "stopped": False}
    assert [(r["type"], r["filename"]) for r in job.results] == [
        ("algorithmLog", "algorithm.log"), ("output", "result.txt"), ("publishLog", "publish.log")]
    assert (engine.paths(job_id).provider_logs / "algorithm.log").read_text() == "algorithm says hi\n"
    assert cluster.objects(job_id) == []  # everything cleaned up
    # tokens are single-use and phase-bound
    again = requests.get(f"{rig['url']}/api/internal/compute/{job_id}/inputs",
                         headers={"Authorization": f"Bearer {fetch_token}"}, timeout=10)
    assert again.status_code == 403


def test_tokens_are_bound_to_job_and_phase(rig):
    cluster, store, engine = rig["cluster"], rig["store"], rig["engine"]
    job_id = "b" * 32
    queue_job(store, job_id)
    tick_until(engine, lambda: cluster.job(job_id, "fetch") is not None)
    token = cluster.token(job_id, "fetch")
    url = rig["url"] + "/api/internal/compute"
    assert requests.get(f"{url}/{job_id}/inputs", headers={"Authorization": "Bearer nope"}, timeout=10).status_code == 403
    assert requests.put(f"{url}/{job_id}/outputs", data=b"x", headers={"Authorization": f"Bearer {token}"},
                        timeout=10).status_code == 403
    assert requests.get(f"{url}/{'c' * 32}/inputs", headers={"Authorization": f"Bearer {token}"},
                        timeout=10).status_code == 403
    assert "inputs" not in json.dumps(rig["app"].test_client().get("/").get_json()["serviceEndpoints"])
    assert requests.get(f"{url}/{job_id}/inputs", headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code == 200


@pytest.mark.parametrize("exit_code,reason,failed_reason,expect", [
    (137, "OOMKilled", None, {"exitCode": 137, "OOMKilled": True, "timedOut": False}),
    (1, "Error", None, {"exitCode": 1, "OOMKilled": False, "timedOut": False}),
    (137, "Error", "DeadlineExceeded", {"exitCode": 137, "OOMKilled": False, "timedOut": True}),
])
def test_algorithm_failures_are_reported(rig, exit_code, reason, failed_reason, expect):
    engine, cluster, store = rig["engine"], rig["cluster"], rig["store"]
    job_id = f"{exit_code}{reason}{failed_reason}".lower().replace("none", "n")[:20].ljust(32, "0")
    run_to_algorithm(rig, job_id)
    cluster.algorithm_pod(job_id, exit_code=exit_code, reason=reason)
    cluster.complete(job_id, "algorithm", failed=True, reason=failed_reason)
    tick_until(engine, lambda: store.get(job_id).status == st.PUBLISHING)
    job = store.get(job_id)
    assert {k: job.termination[k] for k in expect} == expect
    assert job.error


def test_fetch_phase_deadline_fails_the_job(rig):
    engine, cluster, store = rig["engine"], rig["cluster"], rig["store"]
    job_id = "d" * 32
    queue_job(store, job_id)
    tick_until(engine, lambda: cluster.job(job_id, "fetch") is not None)
    cluster.complete(job_id, "fetch", failed=True, reason="DeadlineExceeded")
    tick_until(engine, lambda: store.get(job_id).status == st.DATA_PROVISIONING_FAILED)
    assert "deadline" in store.get(job_id).error and cluster.objects(job_id) == []
    # a phase that never progresses ends at the recorded deadline too
    job_id = "e" * 32
    queue_job(store, job_id)
    tick_until(engine, lambda: cluster.job(job_id, "fetch") is not None)
    store.update(job_id, phase_deadline=time.time() - 3600)
    tick_until(engine, lambda: store.get(job_id).status == st.DATA_PROVISIONING_FAILED)


def test_stop_in_each_phase(rig):
    engine, cluster, store = rig["engine"], rig["cluster"], rig["store"]
    queued = "f" * 32
    queue_job(store, queued)
    store.update(queued, stop_requested=1)
    tick_until(engine, lambda: store.get(queued).status == st.FINISHED)
    assert cluster.objects(queued) == []

    fetching = "1" * 32
    queue_job(store, fetching)
    tick_until(engine, lambda: cluster.job(fetching, "fetch") is not None)
    store.update(fetching, stop_requested=1)
    tick_until(engine, lambda: store.get(fetching).status == st.FINISHED)
    assert store.get(fetching).error == "stopped by its owner" and cluster.objects(fetching) == []

    running = "2" * 32
    run_to_algorithm(rig, running)
    store.update(running, stop_requested=1)
    cluster.algorithm_pod(running, exit_code=137, reason="Error")
    tick_until(engine, lambda: store.get(running).status == st.PUBLISHING)
    assert store.get(running).termination["stopped"] is True
    assert cluster.job(running, "algorithm") is None  # deleted


def test_restarted_orchestrator_picks_the_job_up(rig):
    cluster, store = rig["cluster"], rig["store"]
    job_id = "3" * 32
    run_to_algorithm(rig, job_id)
    # the first replica dies; a new one (another holder) takes over once the lease expires
    successor = rig["new_engine"]()
    assert successor.tick() is False
    time.sleep(LEASE + 0.2)
    cluster.algorithm_pod(job_id)
    cluster.complete(job_id, "algorithm")
    tick_until(successor, lambda: store.get(job_id).status == st.PUBLISHING)


def test_only_the_lease_holder_acts(rig):
    engine, cluster, store = rig["engine"], rig["cluster"], rig["store"]
    other = rig["new_engine"]()
    assert engine.tick() is True
    job_id = "4" * 32
    queue_job(store, job_id)
    assert other.tick() is False
    assert store.get(job_id).status == st.QUEUED and cluster.job(job_id, "fetch") is None
    engine.tick()
    assert store.get(job_id).status == st.CONFIGURING


def test_conflicts_and_missing_objects_are_tolerated(rig):
    engine, cluster, store = rig["engine"], rig["cluster"], rig["store"]
    job_id = "5" * 32
    run_to_algorithm(rig, job_id)
    job = store.get(job_id)
    engine._create_phase(job, "algorithm", container=job.spec["container"], entrypoint="x", environment={})  # 409s
    cluster.api.delete("Job", "does-not-exist")  # 404
    engine.cleanup(job_id)
    engine.cleanup(job_id)
    assert cluster.objects(job_id) == []


def test_a_second_replica_sees_and_advances_jobs_through_the_cluster_alone(emulator, make_app, sandbox_dir):
    """Two provider replicas share nothing but the cluster: records, phases and the lease."""
    envs = sandbox_dir / "envs.ini"
    envs.write_text(ENVIRONMENTS)
    namespace = f"c2d-{uuid.uuid4().hex[:8]}"
    replicas = []
    for index in range(2):
        app = make_app(COMPUTE_ENVIRONMENTS_FILE=str(envs), COMPUTE_JOBS_PATH=str(sandbox_dir / f"jobs{index}"),
                       INDEXER_ENABLED="false", STORAGE_PATH=str(sandbox_dir / f"db{index}.sqlite"))
        api = ClusterApi(client.ApiClient(client.Configuration(host=emulator["url"])), namespace)
        store = ClusterJobStore(api)
        replicas.append((store, KubernetesJobEngine(app.extensions["provider"].settings.compute,
                                                 ClusterSettings(namespace=namespace), store, api, StagingDouble(),
                                                 lease_seconds=LEASE)))
    (store_a, engine_a), (store_b, engine_b) = replicas
    job_id = "6" * 32
    queue_job(store_a, job_id)
    assert store_b.get(job_id).status == st.QUEUED  # B answers status for A's job
    assert [j.job_id for j in store_b.of_owner("0x" + "11" * 20)] == [job_id]
    tick_until(engine_a, lambda: store_b.get(job_id).status == st.CONFIGURING)
    with pytest.raises(AgreementInUse):
        queue_job(store_b, job_id)  # the same agreement cannot start a second job
    assert engine_b.tick() is False  # A holds the lease
    time.sleep(LEASE + 0.2)  # A dies; B takes over from the cluster state alone
    tick_until(engine_b, lambda: store_a.get(job_id).runner is not None and store_b.get(job_id).status in
               (st.CONFIGURING, st.PROVISIONED, st.RUNNING))


def test_a_job_change_wakes_the_orchestrator_before_its_interval(rig):
    """The watch (list, then watch from its resourceVersion) triggers a tick at once."""
    engine, cluster, store = rig["engine"], rig["cluster"], rig["store"]
    job_id = "7" * 32
    queue_job(store, job_id)
    tick_until(engine, lambda: cluster.job(job_id, "fetch") is not None)
    object.__setattr__(engine.settings, "scheduler_interval", 60.0)  # polling alone would wait a minute
    engine.start()
    try:
        wait = time.monotonic() + 30  # a loaded machine can take a while to open the watch
        while "RELIST" not in getattr(engine, "watch_events", []) and time.monotonic() < wait:
            time.sleep(0.05)
        assert "RELIST" in engine.watch_events
        started = time.monotonic()
        cluster.complete(job_id, "fetch")
        while store.get(job_id).status != st.RUNNING and time.monotonic() - started < 20:
            time.sleep(0.05)
        assert store.get(job_id).status == st.RUNNING
        assert time.monotonic() - started < 20 and "MODIFIED" in engine.watch_events
    finally:
        engine.shutdown()


def test_an_expired_watch_version_is_answered_with_a_new_list(emulator):
    """410 Gone on the watch: list again for a fresh resourceVersion, and do not spin."""
    api = ClusterApi(client.ApiClient(client.Configuration(host=emulator["url"])), "watch-ns")
    api.create({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j1", "labels": {"a": "b"}},
                "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "i"}]}}}})
    emulator["emu"]["get /apis/batch/v1/namespaces/watch-ns/jobs", kmock.params(watch="true")] << kmock.Response(
        status=410, payload={"kind": "Status", "code": 410, "reason": "Expired"})
    events, stop = [], threading.Event()
    thread = threading.Thread(target=api.watch_jobs, args=({"a": "b"}, events.append, stop, 2), daemon=True)
    thread.start()
    time.sleep(2)
    stop.set()
    thread.join(timeout=5)
    relists = events.count("RELIST")
    assert relists >= 3  # listed, watched, got 410, listed again ...
    assert relists <= 15  # ... with a pause in between


def test_a_resource_priced_job_on_the_cluster_is_settled_like_on_the_host(rig, dev_chain):
    """ocean.js 8's job on the Kubernetes engine: the same settlement as the local engine's
    (outputs.tar from the published outputs, the escrow lock claimed for the algorithm's run as
    the pod's container status times it)."""
    from provider.chain.contracts import abi
    from provider.chain.escrow import Escrow
    from provider.chain.outbox import TransactionOutbox
    from provider.chain.tx import send_transaction
    from provider.compute.node_view import job_view
    from provider.compute.pricing import lock_id
    from provider.compute.receipts import ReceiptStore, verify
    from provider.compute.settlement import Settlement

    engine, cluster, store, app = rig["engine"], rig["cluster"], rig["store"], rig["app"]
    services = app.extensions["provider"]
    outbox = TransactionOutbox(services.db)
    engine.settlement = Settlement(services.settings.compute, store, services.chains, outbox, engine.paths,
                                   receipts=ReceiptStore(services.db))
    chain = services.chains.get(8996)
    payer = dev_chain.accounts[3]
    contracts = json.loads(dev_chain.address_file.read_text())["development"]
    w3, ocean = dev_chain.w3, contracts["Ocean"]
    send_transaction(w3, payer, w3.eth.contract(address=ocean, abi=abi("OceanToken")).functions.approve(
        contracts["Escrow"], 10 ** 19))
    escrow_contract = w3.eth.contract(address=contracts["Escrow"], abi=abi("Escrow"))
    send_transaction(w3, payer, escrow_contract.functions.deposit(ocean, 10 ** 19))
    send_transaction(w3, payer, escrow_contract.functions.authorize(ocean, chain.provider_address, 10 ** 19, 7200, 10))
    escrow = Escrow(chain, outbox)
    job_id = uuid.uuid4().hex * 2
    amount = 3 * 10 ** 18
    lock_tx = escrow.create_lock(lock_id(job_id), ocean, payer.address, amount, 3700, purpose=f"lock:{job_id}")
    available, locked = escrow.funds(payer.address, ocean)

    job = Job(job_id=job_id, owner=payer.address, did="did:op:abc", algo_did="raw", agreement_id=f"node:{job_id}",
              environment="test-free", chain_id=8996, status=st.QUEUED, date_created=time.time(), date_started=None,
              date_finished=None, phase_deadline=None, max_duration=120, stop_requested=0, runner=None,
              spec={"inputs": [{"documentId": "did:op:abc", "serviceId": "1"}], "algorithm": {"meta": {"rawcode": "x"}},
                    "container": {"entrypoint": "python3 $ALGO", "image": "python", "tag": "3.11",
                                  "checksum": "sha256:" + "ab" * 32}, "runtime": {}, "network": False,
                    "dialect": "node", "free": False, "resources": {"cpu": 1, "ram": 0.25, "disk": 0.01},
                    "prices": {"cpu": "1"}, "payment": {"chainId": 8996, "token": ocean, "amount": str(amount),
                                                        "lockId": str(lock_id(job_id)), "expiry": 3700,
                                                        "lockTx": lock_tx, "claimTx": None, "cancelTx": None,
                                                        "cost": "0"}},
              results=None, termination=None, error=None)
    store.create(job)
    tick_until(engine, lambda: cluster.job(job_id, "fetch") is not None)
    assert pod_fetch(rig["url"], job_id, rig["volume"], cluster.token(job_id, "fetch")) == 0
    cluster.complete(job_id, "fetch")
    tick_until(engine, lambda: store.get(job_id).status == st.RUNNING)
    (rig["volume"] / "outputs" / "result.txt").write_text("42")
    pod_name = object_name(job_id, "algorithm") + "-x1"
    cluster.algorithm_pod(job_id)
    cluster.api.core.patch_namespaced_pod_status(pod_name, cluster.ns, {"status": {"containerStatuses": [{
        "name": "algorithm", "ready": False, "restartCount": 0, "image": "i", "imageID": "",
        "state": {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": "2026-12-02T10:00:00Z",
                                 "finishedAt": "2026-12-02T10:01:30Z"}}}]}})
    cluster.complete(job_id, "algorithm")
    tick_until(engine, lambda: store.get(job_id).status == st.PUBLISHING)
    assert pod_publish(rig["url"], job_id, rig["volume"], cluster.token(job_id, "publish")) == 0
    cluster.complete(job_id, "publish")
    tick_until(engine, lambda: store.get(job_id).spec.get("settled"), timeout=20)
    view = job_view(store.get(job_id), full=True)
    assert view["status"] == 70 and "outputs.tar" in [r["filename"] for r in view["results"]]
    assert view["algoDuration"] == 90.0
    # 90 s of 1 cpu at 1 per minute: two minutes billed
    assert view["payment"]["cost"] == str(2 * 10 ** 18) and view["payment"]["claimTx"].startswith("0x")
    assert escrow.funds(payer.address, ocean) == (available + amount - 2 * 10 ** 18, locked - amount)
    receipt = json.loads((engine.paths(job_id).root / next(
        r for r in store.get(job_id).results if r["type"] == "receipt")["path"]).read_text())
    assert verify(receipt) == [] and receipt["receipt"]["payment"]["claimTx"] == view["payment"]["claimTx"]
    assert receipt["receipt"]["outputs"][0]["name"] == "result.txt" and receipt["receipt"]["usage"]["wallSeconds"] == "90.0"
