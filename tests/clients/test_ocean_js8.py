"""ocean.js 8.6.2 and 8.0.0 (the Ocean Node protocol), unchanged, publish, resolve, download and
authenticate here, on the same provider URL as the classic clients, and each generation
consumes what the other published: an asset published once, with one serviceEndpoint."""
import hashlib
import json
import shutil

import pytest
import requests

from provider.compute.receipts import verify
from tests.clients.conftest import CLIENTS, DATA, flow_env, run_client

RELEASES = {"8.6.2": (1, 2), "8.0.0": (7, 9)}  # their own accounts: no shared nonces
CLASSIC = CLIENTS / "ocean-js" / "node_modules"
OCEAN_PY = CLIENTS / "ocean-py" / "bin" / "python"


def assert_compute_flow(result: dict, dev_chain) -> None:
    """ComputeFlow.test.ts, as ocean.js 8 ran it here: the flat listing, a free job, a request
    above the maxima refused, escrow funded and locked, a paid job to 70 with its output,
    claimed at exactly the billed minute, the same orders reused, a long job stopped."""
    env = result["environments"]
    assert env["flat"] is True and env["id"] == "ocean-compute-paid"
    assert env["payee"] == dev_chain.provider_account.address and env["resources"] == ["cpu", "ram", "disk"]
    assert result["free_job"] == {"isFree": True, "status": 70, "statusText": "Job finished"}
    assert result["too_many_resources_refused"] is True
    payment = result["payment"]
    assert payment["escrow"] and payment["payee"] and payment["token"]
    per_minute = payment["perMinute"]  # cpu 1 x 1 + ram 1 x 0.5
    assert per_minute == 1.5
    assert int(payment["amount"]) == int(per_minute * 5 * 10 ** 18)  # 300 s: 5 minutes
    assert payment["minLockSeconds"] == 300 + 3600
    assert result["escrow_funded"] == {"funds": True, "authorized": True}

    paid = result["paid_job"]
    assert paid["status"] == 70 and paid["results"] == ["configuration.log", "algorithm.log", "outputs.tar", "publish.log",
                                                        "receipt.json"]
    assert paid["output"] == {"files": 1, "lines": DATA.count("\n")}  # the algorithm's answer, from outputs.tar
    assert paid["streamed"] is True and paid["resumed"] is True  # getComputeResult, from 0 and from byte 512
    assert paid["metadata"] == {"name": "ocean.js 8 paid job"} and paid["claimTx"] is True
    receipt = json.loads(paid["receipt"])  # signed, naming the claim and the output ocean.js got
    assert verify(receipt, signer=dev_chain.provider_account.address) == []
    assert receipt["receipt"]["payment"]["cost"] == paid["cost"]
    assert [o["sha256"] for o in receipt["receipt"]["outputs"]] == [hashlib.sha256(paid["outputText"].encode()).hexdigest()]
    billed = int(per_minute * 10 ** 18)  # ran a few seconds: the environment's minimum, one minute
    assert int(paid["cost"]) == billed
    funds = paid["funds"]
    before, locked, after = ([int(x) for x in funds[k]] for k in ("before", "locked", "after"))
    assert locked == [before[0] - int(payment["amount"]), before[1] + int(payment["amount"])]
    assert after == [before[0] - billed, before[1]]  # exactly the claim left; the rest is available again

    assert result["restart_offer"] == {"algorithm": True, "dataset": True}
    stopped = result["restarted_and_stopped"]
    assert stopped["live"] is True and stopped["stopRequested"] is True and stopped["status"] == 70
    assert int(stopped["cost"]) == billed  # stopped within its first minute
    assert [int(x) for x in stopped["funds"]] == [before[0] - 2 * billed, before[1]]


def modules(release: str):
    return CLIENTS / f"ocean-js-{release}" / "node_modules"


@pytest.fixture(scope="module")
def node():
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    return shutil.which("node")


@pytest.fixture(scope="module")
def classic_asset(node, client_stack, dev_chain):
    """An access asset ocean.js 3.3 published (and downloaded) on this provider."""
    if not (CLASSIC / "@oceanprotocol" / "lib").exists():
        pytest.skip("ocean.js 3.3 is not installed: run `make clients`")
    env = flow_env(client_stack, dev_chain, publisher=5, consumer=6, NODE_PATH=str(CLASSIC), ONLY_ACCESS="1")
    result = run_client([node, "tests/clients/ocean_js_flow.js"], env, timeout=300)
    assert result["downloaded"] == [DATA, DATA]
    return result["published"]


@pytest.mark.parametrize("release", list(RELEASES))
def test_ocean_js8_end_to_end_and_across_generations(release, node, client_stack, dev_chain, classic_asset, tmp_path):
    if not (modules(release) / "@oceanprotocol" / "lib").exists():
        pytest.skip(f"ocean.js {release} is not installed: run `make clients`")
    publisher, consumer = RELEASES[release]
    env = flow_env(client_stack, dev_chain, publisher=publisher, consumer=consumer, NODE_PATH=str(modules(release)),
                   CLASSIC_DID=classic_asset,
                   CLASSIC_PUBLISHER_KEY="0x" + bytes(dev_chain.accounts[5].key).hex())
    result = run_client([node, "tests/clients/ocean_js8_flow.js"], env, timeout=600)

    assert result["version"] == release
    assert result["valid_provider"] is True
    assert result["node_status"] == {"address": dev_chain.provider_account.address, "provider": True, "version": "string"}
    assert isinstance(result["nonce"], (int, float)) and result["nonce"] >= 0
    checksum = hashlib.sha256(DATA.encode()).hexdigest()
    assert result["fileinfo"] == {"valid": True, "checksum": checksum}
    # published with flags 2 and the hash ddo/validate returned; resolved with indexedMetadata
    assert result["published"]["name"] == "ocean.js 8 data" and result["published"]["txid"] is True
    assert result["did_files"] == {"valid": True, "checksum": checksum}
    downloaded = result["downloaded"]
    assert downloaded["text"] == DATA and downloaded["filename"] == "data.csv"
    assert downloaded["replay"] in (400, 401)  # the URL's nonce is spent
    assert result["edited"] == "ocean.js 8 data, edited"  # waitForIndexer(did, txid) saw the edit
    assert result["classic_downloaded"]["text"] == DATA  # ocean.js 3.3's asset, consumed by 8.x

    token = result["auth_token"]
    assert token["address"] is True and token["invalidated"] is True
    if release != "8.0.0":
        assert token["use"] == {"before": True, "after": False}
    # revoked in both forms: the classic AuthToken header refuses it too
    refused = requests.get(client_stack.provider_url + "/api/services/download", headers={"AuthToken": token["token"]},
                           params={"documentId": classic_asset, "serviceId": "0", "fileIndex": 0, "nonce": 1,
                                   "transferTxId": "0x" + "00" * 32,
                                   "consumerAddress": dev_chain.accounts[consumer].address}, timeout=30)
    assert refused.status_code in (400, 401) and "deleted" in json.dumps(refused.json()).lower()

    assert_compute_flow(result, dev_chain)

    # ... and ocean.js 3.3 consumes what ocean.js 8 published
    classic = flow_env(client_stack, dev_chain, publisher=5, consumer=6, NODE_PATH=str(CLASSIC), ONLY_ACCESS="1",
                       CROSS_DID=result["published_did"],
                       CROSS_PUBLISHER_KEY="0x" + bytes(dev_chain.accounts[publisher].key).hex())
    crossed = run_client([node, "tests/clients/ocean_js_flow.js"], classic, timeout=300)
    assert crossed["cross_downloaded"] == DATA
    # ... and so does ocean.py
    if OCEAN_PY.exists():
        (tmp_path / "downloads").mkdir()
        py_env = flow_env(client_stack, dev_chain, publisher=3, consumer=4, HOME=str(tmp_path),
                          DOWNLOADS=str(tmp_path / "downloads"), ONLY_ACCESS="1", CROSS_DID=result["published_did"],
                          CROSS_PUBLISHER_KEY="0x" + bytes(dev_chain.accounts[publisher].key).hex())
        by_ocean_py = run_client([str(OCEAN_PY), "tests/clients/ocean_py_flow.py"], py_env, timeout=300)
        assert by_ocean_py["downloaded"] == [DATA] and by_ocean_py["cross_downloaded"] == [DATA]
