"""Item: deeply nested JSON. Before the fix one 200 KB body segfaulted the gunicorn worker (the
web3 stack raises the recursion limit to 100000, so the C decoder overflowed the stack)."""
import os
import signal
import subprocess
import sys

import pytest
import requests

from provider.devtools.gunicorn import start_gunicorn

NESTED = b"[" * 100000 + b"]" * 100000
JSON_ENDPOINTS = [
    ("POST", "/api/services/fileinfo"),
    ("POST", "/api/services/initializeCompute"),
    ("POST", "/api/services/compute"),
    ("PUT", "/api/services/compute"),
    ("DELETE", "/api/services/compute"),
    ("POST", "/api/services/decrypt"),
    ("GET", "/api/services/initialize"),
    ("POST", "/api/aquarius/assets/ddo/validate"),
]


def worker_pids(master: int) -> list[str]:
    return subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout.split()


@pytest.fixture(scope="module")
def provider(dev_chain, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("json")
    env = dict(os.environ, PROVIDER_MODE="development", NETWORK_URL=dev_chain.url,
               ADDRESS_FILE=str(dev_chain.address_file), STORAGE_PATH=str(tmp / "p.db"),
               COMPUTE_JOBS_PATH=str(tmp / "jobs"),
               INDEXER_ENABLED="false", LOG_LEVEL="WARNING", PROMETHEUS_MULTIPROC_DIR=str(tmp / "metrics"))
    proc, url = start_gunicorn(env=env, workers=1, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    yield proc, url
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)


@pytest.mark.parametrize("method,path", JSON_ENDPOINTS)
def test_nested_json_gets_a_400_and_the_worker_lives(provider, method, path):
    proc, url = provider
    before = worker_pids(proc.pid)
    response = requests.request(method, url + path, data=NESTED, headers={"Content-Type": "application/json"},
                                timeout=30)
    assert response.status_code == 400, response.text
    assert "nested more than" in response.json()["error"]
    assert requests.get(url + "/health", timeout=10).status_code == 200
    assert worker_pids(proc.pid) == before  # the same worker answered: it was not killed and replaced


def test_nested_json_in_a_query_field_is_refused_too(provider):
    _, url = provider
    userdata = "[" * 3000 + "]" * 3000
    response = requests.post(url + "/api/services/fileinfo", timeout=30,
                             json={"type": "url", "url": "http://127.0.0.1:9/x", "method": "GET", "userdata": userdata})
    assert response.status_code == 400 and "nested more than" in response.json()["error"]


def test_the_recursion_limit_is_sane_once_the_app_is_built(make_app):
    make_app()
    assert sys.getrecursionlimit() <= 2000
