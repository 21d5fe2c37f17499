"""Fixtures for the real-client tests: the provider under gunicorn on the test chain, with the
indexer and the sandbox engine running, and an origin serving the dataset and the algorithm."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from provider.config import PROJECT_ROOT
from provider.devtools.anvil import free_port
from provider.devtools.gunicorn import start_gunicorn
from provider.devtools.origin import OriginServer

CLIENTS = PROJECT_ROOT / ".tools" / "clients"
DATA = "id,value\n1,10\n2,20\n3,30\n"
ALGORITHM = (Path(__file__).parent / "algorithm.py").read_bytes()


@dataclass
class ClientStack:
    provider_url: str
    data_url: str
    algorithm_url: str


@pytest.fixture(scope="module")
def client_stack(dev_chain, tmp_path_factory):
    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is not installed (make test installs it as root)")
    origin = OriginServer()
    data_url = origin.add("data.csv", DATA.encode(), "text/csv")
    algorithm_url = origin.add("algorithm.py", ALGORITHM, "text/x-python")
    workdir = tmp_path_factory.mktemp("client-provider")
    jobs = Path(tempfile.mkdtemp(prefix="c2d-clients-", dir="/tmp"))
    os.chmod(jobs, 0o711)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = dict(os.environ, PROVIDER_MODE="development", NETWORK_URL=dev_chain.url, PROVIDER_URL=url,
               ADDRESS_FILE=str(dev_chain.address_file), STORAGE_PATH=str(workdir / "provider.db"),
               COMPUTE_JOBS_PATH=str(jobs), COMPUTE_SCHEDULER_INTERVAL="0.2", INDEXER_POLL_INTERVAL="0.2",
               LOG_LEVEL="WARNING", PROMETHEUS_MULTIPROC_DIR=str(workdir / "metrics"), SHUTDOWN_GRACE="1")
    log = open(workdir / "provider.log", "w")
    proc, _ = start_gunicorn(env=env, workers=2, bind=f"127.0.0.1:{port}", stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while requests.get(url + "/ready", timeout=10).status_code != 200:  # chain, store and engine answer
        assert proc.poll() is None and time.monotonic() < deadline, "the provider did not become ready"
        time.sleep(0.2)
    yield ClientStack(url, data_url, algorithm_url)
    proc.terminate()
    proc.wait(timeout=30)
    log.close()
    origin.stop()
    shutil.rmtree(jobs, ignore_errors=True)


def flow_env(stack: ClientStack, dev_chain, publisher: int, consumer: int, **extra: str) -> dict:
    """What every client flow reads: chain, provider, contract addresses, its own two accounts
    (so the flows never share nonces), and where the data and the algorithm are served."""
    return {
        "PATH": os.environ["PATH"], "NETWORK_URL": dev_chain.url, "PROVIDER_URL": stack.provider_url,
        "ADDRESS_FILE": str(dev_chain.address_file),
        "PUBLISHER_KEY": "0x" + bytes(dev_chain.accounts[publisher].key).hex(),
        "CONSUMER_KEY": "0x" + bytes(dev_chain.accounts[consumer].key).hex(),
        "DATA_URL": stack.data_url, "ALGORITHM_URL": stack.algorithm_url, **extra,
    }


def run_client(command: list[str], env: dict, timeout: float) -> dict:
    """Run a client flow; its last line is `RESULT <json>`. On failure, show what it printed."""
    import json

    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout, cwd=PROJECT_ROOT)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines or not lines[-1].startswith("RESULT "):
        pytest.fail(f"client failed ({done.returncode}):\n{done.stdout[-4000:]}\n{done.stderr[-6000:]}")
    return json.loads(lines[-1][len("RESULT "):])
