"""ocean.py 3.1.2, unchanged, publishes, resolves, orders, downloads and computes here."""
import hashlib
import json

import pytest

from provider.compute.receipts import verify

from tests.clients.conftest import CLIENTS, DATA, flow_env, run_client

PYTHON = CLIENTS / "ocean-py" / "bin" / "python"


@pytest.fixture(scope="module")
def ocean_py():
    if not PYTHON.exists():
        pytest.skip("ocean.py is not installed: `make clients` needs a Python 3.10 (see README)")
    return str(PYTHON)


def test_ocean_py_end_to_end(ocean_py, client_stack, dev_chain, tmp_path):
    env = flow_env(client_stack, dev_chain, publisher=3, consumer=4, HOME=str(tmp_path),
                   DOWNLOADS=str(tmp_path / "downloads"))
    (tmp_path / "downloads").mkdir()
    result = run_client([ocean_py, "tests/clients/ocean_py_flow.py"], env, timeout=600)

    assert result["published"].startswith("did:op:") and result["resolved"] is True
    assert result["downloaded"] == [DATA]
    assert result["updated"] is True
    assert result["environment"] == "ocean-compute"
    assert result["job_finished"]["status"] == 70
    assert "output" in result["job_finished"]["results"] and "algorithmLog" in result["job_finished"]["results"]
    assert [json.loads(out) for out in result["job_output"]] == [{"files": 1, "lines": 4}]
    assert "read 1 file(s), 4 line(s)" in result["job_algorithm_log"][0]
    assert result["job_result_0_bytes"] > 0
    # the job's receipt, as ocean.py fetched it: signed by the provider, naming the output it got
    [receipt] = [json.loads(text) for text in result["job_receipt"]]
    assert verify(receipt, signer=dev_chain.provider_account.address) == []
    assert [o["sha256"] for o in receipt["receipt"]["outputs"]] == [
        hashlib.sha256(result["job_output"][0].encode()).hexdigest()]
    # a second job from the same ComputeInputs: initializeCompute offered the used order only with
    # a fresh fee, so ocean.py reused it (a new agreement) instead of sending it as it was
    assert result["reused_inputs_job"] == {"status": 70, "new_order": True}
    assert result["stop_answer"]["ok"] is True
    assert result["stopped"]["status"] == 70 and result["stopped"]["stopreq"] == 1
