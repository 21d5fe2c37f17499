"""Items applied to compute: a trickling dataset server cannot hold provisioning past its
deadline, and result names that a header cannot carry raw are escaped or refused (no 500)."""
import time

import pytest

from provider.compute import status as st
from tests.integration.test_compute import ENVIRONMENTS, Lab, raw_algorithm


@pytest.fixture
def lab(make_app, sandbox_dir, dev_chain, publisher, hostile):
    envs = sandbox_dir / "envs.ini"
    envs.write_text(ENVIRONMENTS)
    app = make_app(COMPUTE_ENVIRONMENTS_FILE=str(envs), COMPUTE_JOBS_PATH=str(sandbox_dir / "jobs"),
                   COMPUTE_SCHEDULER_INTERVAL="0.1", INDEXER_ENABLED="false", COMPUTE_PROVISION_TIMEOUT="3")
    engine = app.extensions["provider"].engine
    engine.start()
    yield Lab(dev_chain, publisher, app.test_client(), hostile)
    engine.shutdown()


def test_a_trickling_dataset_server_cannot_hold_provisioning(lab):
    dataset = lab.publish_dataset(raw=True, path="/trickle-headers/60")
    (tx,), _ = lab.order_all([dataset], None)
    started = time.monotonic()
    job_id = lab.start(dataset, tx, raw_algorithm("print('never runs')")).get_json()[0]["jobId"]
    final = lab.wait(job_id, timeout=30)
    assert final["status"] == st.DATA_PROVISIONING_FAILED
    assert time.monotonic() - started < 15


def test_result_names_are_escaped_or_refused(lab, hostile):
    dataset = lab.publish_dataset(raw=True, path="/ignores-range/100")
    (tx,), _ = lab.order_all([dataset], None)
    code = "open('/data/outputs/r\\u00e9sum\\u00e9 \\u2713.txt','w').write('ok')\nopen('/data/outputs/a\\r\\nX-Evil: 1','w').write('no')"
    job_id = lab.start(dataset, tx, raw_algorithm(code)).get_json()[0]["jobId"]
    final = lab.wait(job_id)
    assert final["status"] == 70, final
    by_name = {entry["filename"]: entry["index"] for entry in final["results"]}
    fancy = lab.result(job_id, by_name["résumé ✓.txt"])
    assert fancy.status_code == 200 and fancy.data == b"ok"
    assert fancy.headers["Content-Disposition"] == (
        "attachment;filename=r_sum_.txt;filename*=UTF-8''r%C3%A9sum%C3%A9%20%E2%9C%93.txt")
    evil = lab.result(job_id, by_name["a\r\nX-Evil: 1"])
    assert evil.status_code == 400 and "control characters" in evil.get_json()["error"]
    assert "X-Evil" not in evil.headers
