"""Job receipts end to end on the local engine (classic jobs here; resource-priced ones in
test_priced_compute, the Kubernetes engine in test_k8s_orchestrator): the consumer's fetched
output hashes to the receipt's value, one changed byte or field breaks `receipt verify`, and
receipts chain across jobs and survive a restart."""
from __future__ import annotations

import hashlib
import json
import sqlite3

import pytest

from provider.cli import main as cli
from provider.compute.receipts import ReceiptStore, chain_problems, document_sha256, verify
from provider.stores.sqlite import Database
from tests.integration.test_compute import compute_app, lab, origin, raw_algorithm  # noqa: F401 (fixtures)

CODE = "open('/data/outputs/answer.txt', 'w').write('forty-two')\nprint('done')"


def run_job(lab, code=CODE):
    dataset = lab.publish_dataset(raw=True)
    (tx,), _ = lab.order_all([dataset], None)
    job_id = lab.start(dataset, tx, raw_algorithm(code)).get_json()[0]["jobId"]
    final = lab.wait(job_id)
    assert final["status"] == 70, final
    return job_id, final


def fetch(lab, job_id, final, kind):
    entry = next(r for r in final["results"] if r["type"] == kind)
    return lab.result(job_id, entry["index"]).data


def test_the_receipt_matches_what_the_consumer_fetched_and_names_what_was_changed(lab, tmp_path, capsys):
    job_id, final = run_job(lab)
    document = json.loads(fetch(lab, job_id, final, "receipt"))
    receipt = document["receipt"]
    output = fetch(lab, job_id, final, "output")
    assert receipt["jobId"] == job_id and receipt["owner"] == lab.consumer.address
    assert document["signer"] == lab.env_address and verify(document, signer=lab.env_address) == []
    assert receipt["outputs"] == [{"name": "answer.txt", "sha256": hashlib.sha256(output).hexdigest(), "size": "9"}]
    assert receipt["algorithm"]["sha256"] == [hashlib.sha256(CODE.encode()).hexdigest()]  # raw code, as run
    assert receipt["inputs"][0]["sha256"] == [hashlib.sha256(b"x,y\n1,1\n2,4\n3,9\n").hexdigest()]
    assert receipt["inputs"][0]["orderTx"] and receipt["termination"]["exitCode"] == 0
    assert receipt["usage"]["wallSeconds"] is not None and receipt["usage"]["outputBytes"] == "9"
    logs = {entry["name"]: entry["sha256"] for entry in receipt["logs"]}
    assert logs["algorithm.log"] == hashlib.sha256(fetch(lab, job_id, final, "algorithmLog")).hexdigest()

    # offline, with the outputs as fetched
    (tmp_path / "receipt.json").write_text(json.dumps(document))
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "answer.txt").write_bytes(output)
    assert cli(["receipt", "verify", str(tmp_path / "receipt.json"), "--output", str(tmp_path / "out")]) == 0
    assert "OK receipt of job" in capsys.readouterr().out

    (tmp_path / "out" / "answer.txt").write_bytes(b"forty-twO")  # one byte
    assert cli(["receipt", "verify", str(tmp_path / "receipt.json"), "--output", str(tmp_path / "out")]) == 1
    assert "output `answer.txt`" in capsys.readouterr().out

    edited = json.loads(json.dumps(document))
    edited["receipt"]["owner"] = "0x" + "12" * 20
    (tmp_path / "edited.json").write_text(json.dumps(edited))
    assert cli(["receipt", "verify", str(tmp_path / "edited.json")]) == 1
    printed = capsys.readouterr().out
    assert "field `owner` was changed" in printed and "signature" in printed

    forged = dict(document, signature="0x" + "11" * 65)
    assert any("signature" in p for p in verify(forged))
    assert any("signer" in p for p in verify(document, signer="0x" + "ab" * 20))


def test_receipts_chain_across_jobs_survive_a_restart_and_a_removed_one_is_found(lab, make_settings, capsys,
                                                                                monkeypatch):
    first, _ = run_job(lab)
    second, _ = run_job(lab, "print('again')")
    settings = lab.client.application.extensions["provider"].settings
    store = ReceiptStore(Database(settings.storage.sqlite_path))  # a new process on the same store
    documents = {d["receipt"]["jobId"]: d for d in store.chain()}
    assert documents[second]["receipt"]["previous"] == document_sha256(documents[first])
    assert chain_problems(store.chain()) == []
    monkeypatch.setenv("STORAGE_PATH", str(settings.storage.sqlite_path))
    monkeypatch.setenv("NETWORK_URL", lab.chain.url)
    monkeypatch.setenv("ADDRESS_FILE", str(lab.chain.address_file))
    assert cli(["receipt", "chain"]) == 0 and "one unbroken chain" in capsys.readouterr().out
    assert cli(["receipt", "show", first]) == 0 and first in capsys.readouterr().out

    with sqlite3.connect(settings.storage.sqlite_path) as raw:  # someone removes a receipt
        raw.execute("DELETE FROM job_receipt WHERE job_id = ?", (first,))
    assert cli(["receipt", "chain"]) == 1
    assert f"receipt of job {second}: the receipt before it is missing or changed" in capsys.readouterr().out


@pytest.mark.parametrize("text", ["not json", "{}", '{"receipt": "x"}'])
def test_verify_refuses_what_is_not_a_receipt(tmp_path, text, capsys):
    (tmp_path / "r.json").write_text(text)
    assert cli(["receipt", "verify", str(tmp_path / "r.json")]) in (1, 2)
