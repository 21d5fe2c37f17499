"""The output gate, attacked: outputs outside the publisher's policy never leave, a held job's
outputs (and its algorithm's log) are refused until the publisher releases them, a stranger
can neither read nor release them, and every decision is in the audit trail and the receipt."""
from __future__ import annotations

import json

import pytest

from provider.compute import status as st
from provider.compute.output_gate import OutputPolicy, combined, file_type, gate, violations
from tests.helpers import sign
from tests.integration.test_compute import compute_app, lab, origin, raw_algorithm  # noqa: F401 (fixtures)

WRITE_THREE = ("open('/data/outputs/a.csv', 'w').write('x' * 100)\nopen('/data/outputs/b.csv', 'w').write('y')\n"
               "open('/data/outputs/run.sh', 'w').write('echo hi')\nprint('the data: 1,1')")
HELD = lambda s: s["status"] in (st.RESULTS_HELD, *st.TERMINAL)  # noqa: E731


def run(lab, policy, code=WRITE_THREE):
    dataset = lab.publish_dataset(raw=True, output_policy=policy)
    (tx,), _ = lab.order_all([dataset], None)
    job_id = lab.start(dataset, tx, raw_algorithm(code)).get_json()[0]["jobId"]
    return dataset, job_id, lab.wait(job_id, until=HELD)


def index_of(final, kind):
    return next(r["index"] for r in final["results"] if r["type"] == kind)


@pytest.mark.parametrize("policy,why", [
    ({"maxBytes": 50}, "108 bytes, over the 50"),
    ({"maxFiles": 2}, "3 output files, over the 2"),
    ({"allowedTypes": ["csv"]}, "types the publisher does not allow: run.sh"),
])
def test_outputs_outside_the_policy_are_never_released(lab, policy, why):
    _, job_id, final = run(lab, policy)
    assert final["status"] == st.OUTPUTS_WITHHELD and why in final["error"]
    assert final["statusText"] == "Results withheld by the output policy"
    for kind in ("output", "algorithmLog"):
        refused = lab.result(job_id, index_of(final, kind))
        assert refused.status_code == 403 and "held" in refused.get_json()["error"]
    receipt = json.loads(lab.result(job_id, index_of(final, "receipt")).data)["receipt"]
    assert receipt["termination"]["status"] == st.OUTPUTS_WITHHELD and receipt["outputPolicy"] == {
        "maxBytes": policy.get("maxBytes"), "maxFiles": policy.get("maxFiles"),
        "allowedTypes": policy.get("allowedTypes"), "review": "none"}


def review(lab, account, job_id, decision, reason=""):
    nonce = lab.next_nonce()
    return lab.client.post("/api/services/reviewResults", json={
        "address": account.address, "jobId": job_id, "decision": decision, "reason": reason, "nonce": nonce,
        "signature": sign(account, f"{account.address}{job_id}{decision}{nonce}")})


def held_list(lab, account, did):
    nonce = lab.next_nonce()
    return lab.client.get("/api/services/heldResults", query_string={
        "address": account.address, "did": did, "nonce": nonce,
        "signature": sign(account, f"{account.address}{did}{nonce}")})


def preview(lab, account, job_id, index):
    nonce = lab.next_nonce()
    return lab.client.get("/api/services/heldResult", query_string={
        "address": account.address, "jobId": job_id, "index": index, "nonce": nonce,
        "signature": sign(account, f"{account.address}{job_id}{index}{nonce}")})


def test_a_reviewed_job_is_refused_until_released_then_served(lab):
    publisher, stranger = lab.chain.publisher_account, lab.chain.accounts[3]
    dataset, job_id, final = run(lab, {"review": "manual"}, "open('/data/outputs/r.csv', 'w').write('1,2')")
    assert final["status"] == st.RESULTS_HELD and final["statusText"] == "Results held for review"
    output, log = index_of(final, "output"), index_of(final, "algorithmLog")
    assert lab.result(job_id, output).status_code == 403 and lab.result(job_id, log).status_code == 403
    assert lab.result(job_id, index_of(final, "configurationLog")).status_code == 200
    # a stranger cannot list, read or release them, not even claiming to be the publisher
    assert held_list(lab, stranger, dataset["id"]).status_code == 403
    assert preview(lab, stranger, job_id, output).status_code == 403
    assert review(lab, stranger, job_id, "release").status_code == 403
    nonce = lab.next_nonce()
    forged = lab.client.post("/api/services/reviewResults", json={
        "address": publisher.address, "jobId": job_id, "decision": "release", "nonce": nonce,
        "signature": sign(stranger, f"{publisher.address}{job_id}release{nonce}")})
    assert forged.status_code == 400
    assert lab.status(job_id).get_json()[0]["status"] == st.RESULTS_HELD
    # the publisher sees it, reads it, releases it
    listed = held_list(lab, publisher, dataset["id"]).get_json()
    assert [j["jobId"] for j in listed] == [job_id]
    assert preview(lab, publisher, job_id, output).data == b"1,2"
    released = review(lab, publisher, job_id, "release")
    assert released.status_code == 200 and released.get_json()["status"] == 70
    assert review(lab, publisher, job_id, "reject").status_code == 404  # decided once
    final = lab.wait(job_id)
    assert lab.result(job_id, output).data == b"1,2"
    receipt = json.loads(lab.result(job_id, index_of(final, "receipt")).data)["receipt"]
    assert receipt["review"]["decision"] == "release" and receipt["review"]["by"] == publisher.address
    trail = lab.client.application.extensions["provider"].audit.entries(did=dataset["id"])
    assert [(e["action"], e["address"]) for e in trail if e["action"].startswith("review.")] == [
        ("review.preview", publisher.address), ("review.release", publisher.address)]


def test_a_rejected_job_never_releases_its_outputs(lab):
    publisher = lab.chain.publisher_account
    _, job_id, final = run(lab, {"review": "manual"}, "open('/data/outputs/r.csv', 'w').write('secret')")
    rejected = review(lab, publisher, job_id, "reject", "row-level data")
    assert rejected.status_code == 200 and rejected.get_json()["status"] == st.OUTPUTS_WITHHELD
    final = lab.wait(job_id)
    assert "row-level data" in final["error"]
    assert lab.result(job_id, index_of(final, "output")).status_code == 403
    receipt = json.loads(lab.result(job_id, index_of(final, "receipt")).data)["receipt"]
    assert receipt["review"]["decision"] == "reject" and receipt["review"]["reason"] == "row-level data"


def test_live_logs_are_refused_when_the_publisher_reviews(lab):
    _, job_id, _ = run(lab, {"review": "manual"}, "print('x')")
    nonce = lab.next_nonce()
    account = lab.consumer
    reply = lab.client.get("/api/services/computeStreamableLogs", query_string={
        "consumerAddress": account.address, "jobId": job_id, "nonce": nonce,
        "signature": sign(account, f"{account.address}{job_id}{nonce}")})
    assert reply.status_code == 403


def test_the_gate_rules():
    default = OutputPolicy(max_bytes=1000, allowed_types=("csv", "json"))
    policy = combined([{"maxBytes": 10_000, "review": "manual"}, {"allowedTypes": ["CSV", ".png"]}], default)
    # each service over the defaults, then the strictest of the services
    assert policy == OutputPolicy(max_bytes=1000, max_files=None, allowed_types=("csv",), review="manual")
    assert combined([None], default) == default
    assert file_type("a/b.tar.GZ") == "gz" and file_type("Makefile") == "" and file_type(".hidden") == ""
    assert violations(OutputPolicy(allowed_types=("",)), [("Makefile", 1)]) == []
    assert gate(OutputPolicy(), [("x.bin", 10 ** 9)]) == (st.FINISHED, None)
    assert gate(OutputPolicy(review="manual"), [("x.csv", 1)]) == (st.RESULTS_HELD, None)
    assert gate(OutputPolicy(max_files=0), [("x.csv", 1)])[0] == st.OUTPUTS_WITHHELD


def test_the_operator_reviews_from_the_command_line(lab, monkeypatch, capsys):
    from provider.cli import main as cli

    _, job_id, final = run(lab, {"review": "manual"}, "open('/data/outputs/r.csv', 'w').write('1')")
    settings = lab.client.application.extensions["provider"].settings
    for name, value in (("STORAGE_PATH", settings.storage.sqlite_path), ("NETWORK_URL", lab.chain.url),
                        ("ADDRESS_FILE", lab.chain.address_file), ("COMPUTE_JOBS_PATH", settings.compute.jobs_path),
                        ("INDEXER_ENABLED", "false")):
        monkeypatch.setenv(name, str(value))
    assert cli(["review", "list"]) == 0 and job_id in capsys.readouterr().out
    assert cli(["review", "reject", job_id, "--reason", "too detailed"]) == 0
    assert "rejected" in capsys.readouterr().out
    assert cli(["review", "release", job_id]) == 1  # decided already
    final = lab.wait(job_id)
    assert final["status"] == st.OUTPUTS_WITHHELD and "too detailed" in final["error"]
