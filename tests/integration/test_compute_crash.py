"""SIGKILL the provider process that runs a job, start another: every job ends defined."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from provider.compute import status as st
from provider.compute.engine import LocalSandboxEngine
from provider.config import PROJECT_ROOT
from tests.helpers import wait_for
from tests.integration.test_compute import ENVIRONMENTS, Lab, raw_algorithm

LEASE = 1.5


@pytest.fixture
def setup(make_app, make_settings, sandbox_dir, dev_chain, publisher):
    from provider.devtools.origin import OriginServer
    origin = OriginServer()
    origin.add("data.csv", b"x,y\n1,2\n", "text/csv")
    envs = sandbox_dir / "envs.ini"
    envs.write_text(ENVIRONMENTS)
    env = {"COMPUTE_ENVIRONMENTS_FILE": str(envs), "COMPUTE_JOBS_PATH": str(sandbox_dir / "jobs"),
           "COMPUTE_SCHEDULER_INTERVAL": "0.1", "INDEXER_ENABLED": "false"}
    app = make_app(**env)  # the API only: its engine is not started in this process
    settings = make_settings(**env)
    child_env = dict(os.environ, PROVIDER_MODE="development", NETWORK_URL=dev_chain.url,
                     ADDRESS_FILE=str(dev_chain.address_file), STORAGE_PATH=str(settings.storage.sqlite_path),
                     LOG_LEVEL="WARNING", **env)
    lab = Lab(dev_chain, publisher, app.test_client(), origin)
    yield lab, app, child_env
    origin.stop()


def start_engine_process(child_env):
    proc = subprocess.Popen([sys.executable, "-m", "tests.integration.engine_process", str(LEASE)],
                            cwd=PROJECT_ROOT, env=child_env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "engine up"
    return proc


def job_status(app, job_id):
    return app.extensions["provider"].compute.jobs.get(job_id)


def new_engine(app):
    services = app.extensions["provider"]
    return LocalSandboxEngine(services.settings.compute, services.engine.store, services.engine.leases,
                       services.engine.provisioner, lease_seconds=LEASE)


def processes(pattern):
    return subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True).stdout.split()


def test_sigkill_while_running_fails_the_job_with_a_reason_and_leaves_no_process(setup):
    lab, app, child_env = setup
    dataset = lab.publish_dataset(raw=True)
    (tx,), _ = lab.order_all([dataset], None)
    code = "import subprocess\nsubprocess.run(['sleep', '3171'])"
    job_id = lab.start(dataset, tx, raw_algorithm(code)).get_json()[0]["jobId"]
    engine_proc = start_engine_process(child_env)
    wait_for(lambda: job_status(app, job_id).status == st.RUNNING and processes("sleep 3171"))
    os.kill(engine_proc.pid, signal.SIGKILL)
    engine_proc.wait()
    wait_for(lambda: not processes("sleep 3171"), timeout=10)  # the sandbox died with its provider

    engine = new_engine(app)
    wait_for(lambda: engine.tick(), timeout=10)  # takes the lease once the dead holder's expires
    job = job_status(app, job_id)
    assert job.status == st.RUN_FAILED and job.error == "the provider restarted while the algorithm was running"
    assert job.date_finished is not None and job.runner is None
    # the quota volume the dead supervisor left mounted is released, keeping what was written
    assert not os.path.ismount(engine.paths(job_id).root / "volume")


def test_sigkill_while_provisioning_resumes_the_job(setup):
    lab, app, child_env = setup
    ddo = lab.publish_dataset(raw=True, path="/slow/4")
    (tx,), _ = lab.order_all([ddo], None)
    job_id = lab.start(ddo, tx, raw_algorithm("open('/data/outputs/done', 'w').write('ok')")).get_json()[0]["jobId"]
    engine_proc = start_engine_process(child_env)
    wait_for(lambda: job_status(app, job_id).status in (st.CONFIGURING, st.PROVISIONED))
    time.sleep(0.5)
    os.kill(engine_proc.pid, signal.SIGKILL)
    engine_proc.wait()
    assert job_status(app, job_id).status in (st.CONFIGURING, st.PROVISIONED)

    engine = new_engine(app)
    try:
        wait_for(lambda: engine.tick(), timeout=10)
        engine.start()
        final = wait_for(lambda: (j := job_status(app, job_id)) and st.is_terminal(j.status) and j, timeout=40)
        assert final.status == st.FINISHED and final.error is None
        assert [r["filename"] for r in final.results if r["type"] == "output"] == ["done"]
    finally:
        engine.shutdown()
