"""The operator's CLI, run in-process on the settings and store a provider would use."""
import json
import subprocess
import sys

import pytest

from provider.cli import main
from provider.compute.jobs import Job
from provider.config import load_settings
from provider.services import build_services


@pytest.fixture
def operator_env(dev_chain, tmp_path, monkeypatch, sandbox_dir):
    env = {
        "PROVIDER_MODE": "development", "NETWORK_URL": dev_chain.url, "ADDRESS_FILE": str(dev_chain.address_file),
        "STORAGE_PATH": str(tmp_path / "provider.db"), "COMPUTE_JOBS_PATH": str(sandbox_dir / "jobs"),
        "LOG_LEVEL": "WARNING",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def add_job(job_id: str, status: int, owner: str = "0x" + "11" * 20, termination=None, error=None):
    services = build_services(load_settings())
    services.compute.jobs.create(Job(
        job_id=job_id, owner=owner, did="did:op:" + "0" * 64, algo_did="", agreement_id="0x" + job_id.ljust(64, "0"),
        environment="ocean-compute", chain_id=8996, status=status, date_created=1.0, date_started=None,
        date_finished=None, phase_deadline=None, max_duration=60, stop_requested=0, runner=None, spec={},
        results=None, termination=termination, error=error))
    return services


def test_keys_show_the_provider_account(operator_env, dev_chain, capsys):
    code, out, _ = run(capsys, "keys", "--json")
    [row] = json.loads(out)
    assert code == 0 and row["chainId"] == 8996
    assert row["address"] == dev_chain.provider_account.address
    from eth_keys import keys
    assert row["publicKey"] == "0x" + keys.PrivateKey(dev_chain.provider_account.key).public_key.to_bytes().hex()


def test_envs_list_the_configured_environments(operator_env, capsys):
    code, out, _ = run(capsys, "envs")
    assert code == 0 and "ocean-compute " in out and "ocean-compute-paid" in out
    assert [e["id"] for e in json.loads(run(capsys, "envs", "--json")[1])["8996"]] == ["ocean-compute", "ocean-compute-paid"]


def test_jobs_list_filters_and_show(operator_env, capsys):
    add_job("a1", 1)
    add_job("b2", 70, owner="0x" + "22" * 20)
    code, out, _ = run(capsys, "jobs", "list")
    assert code == 0 and "a1" in out and "b2" in out and "Warming up" in out
    assert [j["jobId"] for j in json.loads(run(capsys, "jobs", "list", "--status", "70", "--json")[1])] == ["b2"]
    assert [j["jobId"] for j in json.loads(run(capsys, "jobs", "list", "--owner", "0x" + "22" * 20, "--json")[1])] \
        == ["b2"]
    code, out, _ = run(capsys, "jobs", "show", "a1")
    assert code == 0 and json.loads(out)["statusText"] == "Warming up"
    code, _, err = run(capsys, "jobs", "show", "nope")
    assert code == 1 and "no job nope" in err


def test_a_failed_algorithm_shows_as_failed_not_as_finished(operator_env, capsys):
    add_job("d4", 70, termination={"exitCode": 3, "OOMKilled": False, "timedOut": False, "stopped": False},
            error="the algorithm exited with code 3")
    add_job("e5", 70, termination={"exitCode": 137, "OOMKilled": True, "timedOut": False, "stopped": False})
    add_job("f6", 70, termination={"exitCode": 0, "OOMKilled": False, "timedOut": False, "stopped": False})
    code, out, _ = run(capsys, "jobs", "list")
    rows = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert "failed: the algorithm exited with code 3" in rows["d4"]
    assert "failed: the algorithm ran out of memory" in rows["e5"] and " ok " in rows["f6"]
    assert json.loads(run(capsys, "jobs", "show", "e5")[1])["outcome"] == "failed: the algorithm ran out of memory"


def test_jobs_stop_records_the_request_and_the_engine_ends_the_job(operator_env, capsys):
    services = add_job("c3", 1)
    code, out, _ = run(capsys, "jobs", "stop", "c3", "--wait", "0")
    assert code == 0 and "stop requested" in out
    assert services.compute.jobs.get("c3").stop_requested == 1
    services.engine.tick()  # what the running provider's scheduler does next
    assert services.compute.jobs.get("c3").status == 70
    code, out, _ = run(capsys, "jobs", "stop", "c3")
    assert code == 0 and "already ended" in out


def test_jobs_logs_print_the_algorithm_log(operator_env, capsys):
    services = add_job("d4", 70)
    paths = services.engine.paths("d4")
    paths.provider_logs.mkdir(parents=True)
    (paths.provider_logs / "algorithm.log").write_text("line one\nline two\n")
    assert run(capsys, "jobs", "logs", "d4")[1] == "line one\nline two\n"
    assert run(capsys, "jobs", "logs", "d4", "--follow")[1] == "line one\nline two\n"  # ended: returns


def test_index_status_syncs_with_progress(operator_env, dev_chain, publisher, capsys):
    publisher.publish(dev_chain.publisher_account, [])
    code, out, _ = run(capsys, "index", "status", "--sync", "--json")
    assert code == 0
    progress, _, report = out.rpartition("\n[")
    assert "indexed to block" in progress and "(100%)" in progress
    [row] = json.loads("[" + report)
    assert row["lagBlocks"] == 0 and row["lastIndexedBlock"] == row["head"] and row["assets"] >= 1
    assert row["leaseHolder"] is None  # released after the sync


def test_a_bad_setting_is_one_readable_line(operator_env, monkeypatch, capsys):
    monkeypatch.setenv("PROVIDER_MODE", "staging")
    code, _, err = run(capsys, "keys")
    assert code == 2 and err.startswith("configuration error: PROVIDER_MODE") and "Traceback" not in err


def test_the_console_script_is_installed(operator_env):
    script = subprocess.run([sys.executable, "-m", "provider.cli", "jobs", "--help"], capture_output=True, text=True)
    assert script.returncode == 0 and "list" in script.stdout and "stop" in script.stdout
