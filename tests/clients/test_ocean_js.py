"""ocean.js 3.3.0 (with ethers 5.7.2), unchanged, publishes, resolves, orders, downloads and computes
here. 3.3.0 is the newest release that speaks the classic Provider API for every flow it offers
(3.3.3+ signs computeStop differently; 4.1+ changed initializeCompute)."""
import hashlib
import json
import shutil

import pytest

from tests.clients.conftest import CLIENTS, DATA, flow_env, run_client

NODE_MODULES = CLIENTS / "ocean-js" / "node_modules"


@pytest.fixture(scope="module")
def node():
    if shutil.which("node") is None or not (NODE_MODULES / "@oceanprotocol" / "lib").exists():
        pytest.skip("ocean.js is not installed: run `make clients` (needs node and npm)")
    return shutil.which("node")


def test_ocean_js_end_to_end(node, client_stack, dev_chain):
    env = flow_env(client_stack, dev_chain, publisher=5, consumer=6, NODE_PATH=str(NODE_MODULES))
    result = run_client([node, "tests/clients/ocean_js_flow.js"], env, timeout=600)

    assert result["valid_provider"] is True
    assert result["published"].startswith("did:op:") and result["resolved_metadata"] == "ocean.js data"
    assert result["fileinfo"] == {"valid": True, "checksum": hashlib.sha256(DATA.encode()).hexdigest()}
    assert result["downloaded"] == [DATA, DATA]
    assert result["replayed_url"]["status"] == 400 and "nonce" in json.dumps(result["replayed_url"]["body"])
    assert result["environment"] == "ocean-compute" and result["job_finished"] == 70
    outputs = [json.loads(r) for r in result["job_results"] if r.startswith("{")]
    assert {"files": 1, "lines": 4} in outputs
    assert any("read 1 file(s), 4 line(s)" in r for r in result["job_results"])
    assert result["deleted"] is True
    assert result["stop_answer"] is True and result["stopped"] == 70
