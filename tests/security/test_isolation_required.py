"""Issue "compute guarantees", 3 (memory): without cgroups (a non-root provider, the Docker
image) the memory limit did not cover tmpfs and the algorithm ran as the provider's own uid.
Now the engine refuses to run jobs where it cannot isolate them, unless the operator says
COMPUTE_UNSAFE_NO_CGROUPS=true, and /ready says why."""
import pytest

import provider.compute.sandbox as sandbox
from tests.integration.test_compute import ENVIRONMENTS, Lab, raw_algorithm


@pytest.fixture
def no_cgroups(monkeypatch, tmp_path):
    """A host whose cgroup tree cannot be written (what a container or non-root provider sees)."""
    readonly = tmp_path / "cgroup"
    readonly.mkdir()
    readonly.chmod(0o555)
    monkeypatch.setattr(sandbox, "CGROUP_ROOT", readonly / "absent")


def app_with(make_app, sandbox_dir, **env):
    envs = sandbox_dir / "envs.ini"
    envs.write_text(ENVIRONMENTS)
    return make_app(COMPUTE_ENVIRONMENTS_FILE=str(envs), COMPUTE_JOBS_PATH=str(sandbox_dir / "jobs"),
                    INDEXER_ENABLED="false", RATE_LIMIT_PER_IP=0, **env)


def test_without_cgroups_compute_is_refused_and_ready_says_why(no_cgroups, make_app, sandbox_dir, dev_chain,
                                                               publisher):
    app = app_with(make_app, sandbox_dir)
    ready = app.test_client().get("/ready")
    assert ready.status_code == 503 and ready.get_json()["checks"]["engine"] is False
    assert "no writable cgroup" in ready.get_json()["reasons"]["engine"]
    from provider.devtools.origin import OriginServer
    origin = OriginServer()
    origin.add("data.csv", b"x\n1\n", "text/csv")
    lab = Lab(dev_chain, publisher, app.test_client(), origin)
    try:
        dataset = lab.publish_dataset(raw=True)
    finally:
        origin.stop()
    refused = lab.initialize([dataset], raw_algorithm("print(1)"))
    assert refused.status_code == 503 and "cannot run safely" in refused.get_json()["error"]


def test_the_operator_can_accept_the_risk_explicitly(no_cgroups, make_app, sandbox_dir):
    app = app_with(make_app, sandbox_dir, COMPUTE_UNSAFE_NO_CGROUPS="true")
    engine = app.extensions["provider"].engine
    assert engine.isolation_problems and engine.why_not_runnable() is None
    assert app.test_client().get("/ready").get_json()["checks"]["engine"] is True


def test_a_host_that_can_isolate_has_no_problems(make_app, sandbox_dir):
    engine = app_with(make_app, sandbox_dir).extensions["provider"].engine
    assert engine.isolation_problems == [] and engine.why_not_runnable() is None
