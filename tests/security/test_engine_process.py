"""Issue "compute guarantees", 4: no job dies with a web worker. Before, the scheduler and the
sandboxes ran inside gunicorn's request workers: a worker killed by its timeout, a segfault or a
restart took the running algorithms with it. Now the engine is a process of its own, started
and restarted by the gunicorn master."""
import os
import signal
import subprocess

import pytest
import requests

from provider.compute import status as st
from provider.devtools.gunicorn import start_gunicorn
from tests.integration.test_compute import ENVIRONMENTS, Lab, raw_algorithm
from provider.devtools.origin import OriginServer
from tests import helpers


def children(pid: int) -> list[int]:
    return [int(p) for p in subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()]


def cmdline(pid: int) -> str:
    try:
        return open(f"/proc/{pid}/cmdline").read().replace("\0", " ")
    except OSError:
        return ""


def engine_pid(master: int) -> int | None:
    return next((pid for pid in children(master) if "provider.cli engine" in cmdline(pid)), None)


def worker_pids(master: int) -> list[int]:
    return [pid for pid in children(master) if "provider.cli engine" not in cmdline(pid)]


def wait_for(predicate, timeout=40, what="condition"):
    return helpers.wait_for(predicate, timeout, what, interval=0.2)


@pytest.fixture
def provider(dev_chain, publisher, make_app, sandbox_dir, tmp_path):
    origin = OriginServer()
    origin.add("data.csv", b"x,y\n1,2\n", "text/csv")
    envs = sandbox_dir / "envs.ini"
    envs.write_text(ENVIRONMENTS.replace("max_jobs = 1", "max_jobs = 2"))
    settings_env = {"COMPUTE_ENVIRONMENTS_FILE": str(envs), "COMPUTE_JOBS_PATH": str(sandbox_dir / "jobs"),
                    "COMPUTE_SCHEDULER_INTERVAL": "0.1", "INDEXER_ENABLED": "false"}
    api = make_app(**settings_env)  # the test's hands on the API and the store (no engine runs here)
    env = dict(os.environ, PROVIDER_MODE="development", NETWORK_URL=dev_chain.url, LOG_LEVEL="WARNING",
               ADDRESS_FILE=str(dev_chain.address_file), STORAGE_PATH=str(api.extensions["provider"].db.path),
               PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"), **settings_env)
    proc, url = start_gunicorn(env=env, workers=1, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield Lab(dev_chain, publisher, api.test_client(), origin), api, proc, url
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        origin.stop()


def job(api, job_id):
    return api.extensions["provider"].compute.jobs.get(job_id)


def test_killing_a_request_worker_does_not_touch_a_running_job(provider):
    lab, api, master, url = provider
    dataset = lab.publish_dataset(raw=True)
    (tx,), _ = lab.order_all([dataset], None)
    code = "import time\ntime.sleep(4)\nopen('/data/outputs/done','w').write('ok')"
    job_id = lab.start(dataset, tx, raw_algorithm(code)).get_json()[0]["jobId"]
    wait_for(lambda: job(api, job_id).status == st.RUNNING, what="the job running")
    [worker] = worker_pids(master.pid)
    os.kill(worker, signal.SIGKILL)
    wait_for(lambda: worker_pids(master.pid) and worker_pids(master.pid) != [worker], what="a new worker")
    final = wait_for(lambda: (j := job(api, job_id)) and st.is_terminal(j.status) and j, what="the job ending")
    assert final.status == st.FINISHED and final.error is None
    assert [r["filename"] for r in final.results if r["type"] == "output"] == ["done"]
    assert requests.get(url + "/ready", timeout=10).json()["checks"]["engine"] is True


def test_a_killed_engine_is_restarted_and_every_job_ends_defined(provider):
    lab, api, master, url = provider
    first = wait_for(lambda: engine_pid(master.pid), what="the engine process")
    dataset = lab.publish_dataset(raw=True)
    (tx,), _ = lab.order_all([dataset], None)
    job_id = lab.start(dataset, tx, raw_algorithm("import time\ntime.sleep(120)")).get_json()[0]["jobId"]
    wait_for(lambda: job(api, job_id).status == st.RUNNING, what="the job running")
    os.kill(first, signal.SIGKILL)
    second = wait_for(lambda: (pid := engine_pid(master.pid)) and pid != first and pid, what="a new engine")
    final = wait_for(lambda: (j := job(api, job_id)) and st.is_terminal(j.status) and j, timeout=60,
                     what="the job ending")
    assert final.status == st.RUN_FAILED and final.error == "the provider restarted while the algorithm was running"
    # the restarted engine runs new jobs
    (tx2,), _ = lab.order_all([dataset], None)
    again = lab.start(dataset, tx2, raw_algorithm("open('/data/outputs/r','w').write('1')")).get_json()[0]["jobId"]
    assert wait_for(lambda: (j := job(api, again)) and st.is_terminal(j.status) and j).status == st.FINISHED
    assert engine_pid(master.pid) == second
