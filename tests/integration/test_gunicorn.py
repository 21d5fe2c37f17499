"""The provider under gunicorn with its production settings: graceful shutdown and metrics
gathered from every worker."""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import pytest
import requests

from provider.config import PROJECT_ROOT
from provider.devtools.anvil import free_port, port_open
from provider.devtools.gunicorn import start_gunicorn
from provider.devtools.origin import OriginServer


def start(dev_chain, tmp_path, workers: int, **extra):
    env = dict(os.environ, PROVIDER_MODE="development", NETWORK_URL=dev_chain.url,
               ADDRESS_FILE=str(dev_chain.address_file), STORAGE_PATH=str(tmp_path / "p.db"),
               COMPUTE_ENABLED="false", LOG_LEVEL="WARNING", SHUTDOWN_GRACE="5",
               PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"), **extra)
    return start_gunicorn(env=env, workers=workers, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def leases(db_path) -> list[str]:
    with sqlite3.connect(db_path) as conn:
        try:
            return [row[0] for row in conn.execute("SELECT name FROM lease WHERE expires_at > strftime('%s','now')")]
        except sqlite3.OperationalError:  # the worker has not created its schema yet
            return []


@pytest.fixture
def origin():
    server = OriginServer()
    yield server
    server.stop()


def test_sigterm_lets_the_request_in_flight_finish_and_releases_the_leases(dev_chain, tmp_path, origin):
    proc, url = start(dev_chain, tmp_path, workers=1)
    try:
        deadline = time.monotonic() + 30
        while "indexer:8996" not in leases(tmp_path / "p.db"):
            assert time.monotonic() < deadline, "the indexer never took its lease"
            time.sleep(0.2)
        result = {}

        def slow_request():
            # fileinfo reads the whole file to checksum it: 2 s on this origin
            body = {"type": "url", "url": f"{origin.url}/slow/2", "method": "GET", "checksum": 1}
            result["response"] = requests.post(url + "/api/services/fileinfo", json=body, timeout=30)

        client = threading.Thread(target=slow_request)
        client.start()
        time.sleep(0.7)
        proc.send_signal(signal.SIGTERM)
        client.join(timeout=30)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    response = result["response"]
    assert response.status_code == 200 and response.json()[0]["valid"] is True
    assert response.json()[0]["contentLength"] == "20"
    assert leases(tmp_path / "p.db") == []  # another process may index at once
    assert not port_open("127.0.0.1", int(url.rsplit(":", 1)[1]))


def test_metrics_add_up_the_requests_of_every_worker(dev_chain, tmp_path):
    proc, url = start(dev_chain, tmp_path, workers=3, INDEXER_ENABLED="false")
    try:
        with requests.Session() as first, requests.Session() as second:
            for index in range(30):
                (first if index % 2 else second).get(url + "/api/services/nonce?userAddress=0x" + "ab" * 20,
                                                     headers={"Connection": "close"}, timeout=30)
        key = 'provider_http_requests_total{endpoint="auth.nonce",method="GET",status="200"}'
        for _ in range(6):
            response = requests.get(url + "/metrics", headers={"Connection": "close"}, timeout=30)
            line = next(line for line in response.text.splitlines() if line.startswith(key))
            assert float(line.rsplit(" ", 1)[1]) == 30
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_run_production_serves_with_json_logs_and_stops_cleanly(dev_chain, tmp_path):
    port = free_port()
    env = dict(os.environ, NETWORK_URL=dev_chain.url, PROVIDER_PRIVATE_KEY="0x" + "5a" * 32,
               ADDRESS_FILE=str(dev_chain.address_file), STORAGE_PATH=str(tmp_path / "p.db"),
               COMPUTE_ENABLED="false", INDEXER_ENABLED="false", LOG_LEVEL="INFO", LOG_FORMAT="json",
               PROVIDER_BIND=f"127.0.0.1:{port}", PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"))
    proc = subprocess.Popen([sys.executable, "-m", "provider.cli", "run", "--production", "--workers", "1"],
                            cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not port_open("127.0.0.1", port):
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
            time.sleep(0.1)
        response = requests.get(f"http://127.0.0.1:{port}/health", headers={"X-Request-ID": "smoke-1"}, timeout=10)
        assert response.status_code == 200 and response.headers["X-Request-ID"] == "smoke-1"
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and f"serving on 127.0.0.1:{port}" in out
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert any(e["logger"] == "gunicorn.error" and "Listening at" in e["message"] for e in lines)
    assert any(e.get("request_id") == "smoke-1" and e.get("path") == "/health" for e in lines)
    assert not [line for line in err.splitlines() if line.strip() and not line.startswith("{")]


def test_a_worker_starts_with_its_startup_objects_frozen_and_the_mime_tables_read(dev_chain, tmp_path):
    """What a worker loads at start is out of every later full collection (one walked ~110,000
    objects: 50-90 ms pauses), and the MIME tables a download's file name may need are already
    read (reading them cost the first such download in every worker 12 ms)."""
    env = dict(os.environ, PROVIDER_MODE="development", NETWORK_URL=dev_chain.url,
               ADDRESS_FILE=str(dev_chain.address_file), STORAGE_PATH=str(tmp_path / "p.db"),
               COMPUTE_ENABLED="false", INDEXER_ENABLED="false", LOG_LEVEL="WARNING")
    probe = ("import gc, mimetypes, json, provider.wsgi; "
             "print(json.dumps([gc.get_freeze_count(), len(gc.get_objects()), mimetypes.inited]))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=PROJECT_ROOT, env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    frozen, still_collected, mime_tables_read = json.loads(out.stdout.strip().splitlines()[-1])
    assert frozen > 50_000 and still_collected < frozen / 10
    assert mime_tables_read
