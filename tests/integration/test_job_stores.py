"""The one contract every job store satisfies: the SQLite store (local engine) and the cluster
store (ConfigMaps, Kubernetes engine, against the in-process API server)."""
import time
import uuid

import pytest
from kubernetes import client

from provider.compute import status as st
from provider.compute.jobs import AgreementInUse, JobStore, SqliteJobStore
from provider.compute.k8s.cluster import ClusterApi
from provider.compute.k8s.jobstore import ClusterJobStore
from provider.stores.sqlite import Database
from tests.integration.test_k8s_orchestrator import queue_job


@pytest.fixture(params=["sqlite", "cluster"])
def store(request, tmp_path, emulator) -> JobStore:
    if request.param == "sqlite":
        return SqliteJobStore(Database(tmp_path / "jobs.db"))
    api = ClusterApi(client.ApiClient(client.Configuration(host=emulator["url"])), f"c2d-{uuid.uuid4().hex[:8]}")
    return ClusterJobStore(api)


def test_it_is_a_job_store(store):
    assert isinstance(store, JobStore)


def test_create_get_and_list(store):
    first = queue_job(store, "a" * 32)
    time.sleep(0.01)
    queue_job(store, "b" * 32)
    assert store.get(first.job_id) == first
    assert store.get("missing") is None
    assert [j.job_id for j in store.of_owner(first.owner)] == ["a" * 32, "b" * 32]
    assert [j.job_id for j in store.of_owner(first.owner, "did:op:other")] == []
    assert {j.job_id for j in store.with_status([st.QUEUED])} == {"a" * 32, "b" * 32}
    assert store.count_active("test-free") == 2


def test_newest_gives_the_latest_jobs_first_whatever_their_status(store):
    ids = [f"{i:x}" * 32 for i in range(1, 5)]
    for job_id in ids:
        queue_job(store, job_id)
        time.sleep(0.01)
    store.update(ids[1], status=st.FINISHED)
    assert [j.job_id for j in store.newest(3)] == [ids[3], ids[2], ids[1]]
    assert [j.job_id for j in store.newest(10)] == ids[::-1]


def test_one_agreement_starts_one_job(store):
    job = queue_job(store, "c" * 32)
    twin = type(job)(**{**job.__dict__, "job_id": "d" * 32})
    with pytest.raises(AgreementInUse):
        store.create(twin)


def test_update_is_a_compare_and_set_and_terminal_statuses_are_dated(store):
    job = queue_job(store, "e" * 32)
    assert store.update(job.job_id, expect_status=st.QUEUED, status=st.CONFIGURING) is True
    assert store.update(job.job_id, expect_status=st.QUEUED, status=st.CONFIGURING) is False
    assert store.get(job.job_id).date_finished is None
    assert store.update(job.job_id, status=st.FINISHED, error="done") is True
    finished = store.get(job.job_id)
    assert finished.status == st.FINISHED and finished.error == "done" and finished.date_finished is not None
    assert store.count_active("test-free") == 0


def test_expired_and_delete(store):
    job = queue_job(store, "f" * 32)
    store.update(job.job_id, status=st.FINISHED, date_finished=time.time() - 100)
    assert [j.job_id for j in store.expired(time.time(), lambda env: 50)] == [job.job_id]
    assert store.expired(time.time(), lambda env: 500) == []
    store.delete(job.job_id)
    assert store.get(job.job_id) is None


def test_concurrent_starts_on_one_order_make_one_job(store):
    """Checked then created, four concurrent starts on one order made four jobs on the cluster
    store; the create itself is now unique (an object named after the agreement)."""
    import threading

    template = queue_job(store, "1" * 32)
    store.delete(template.job_id)  # the agreement stays used: a fresh one for this test
    outcomes = []

    def start(index):
        job = type(template)(**{**template.__dict__, "job_id": f"{index:032x}", "agreement_id": "0x" + "77" * 32})
        try:
            store.create(job)
            outcomes.append("created")
        except AgreementInUse:
            outcomes.append("refused")

    threads = [threading.Thread(target=start, args=(index,)) for index in range(2, 6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["created", "refused", "refused", "refused"]
    assert store.agreement_used("0x" + "77" * 32) and store.agreement_used(template.agreement_id)
