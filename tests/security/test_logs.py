"""Item: logs hold no secrets and say each thing once. Under gunicorn every request was logged
twice (the app's access line and gunicorn's), and gunicorn's line carried the query string,
signatures included."""
import json
import os
import pty
import subprocess
import sys

import requests

from provider.config import PROJECT_ROOT
from provider.devtools.gunicorn import start_gunicorn

SECRET = "0x" + "5ec7e7" * 21 + "aa"


def test_one_access_line_per_request_without_the_query_string(dev_chain, tmp_path):
    env = dict(os.environ, PROVIDER_MODE="development", NETWORK_URL=dev_chain.url,
               ADDRESS_FILE=str(dev_chain.address_file), STORAGE_PATH=str(tmp_path / "p.db"),
               COMPUTE_ENABLED="false", INDEXER_ENABLED="false", LOG_LEVEL="INFO", LOG_FORMAT="json",
               PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"))
    err = open(tmp_path / "stderr", "w+")
    proc, url = start_gunicorn(env=env, workers=1, stdout=subprocess.DEVNULL, stderr=err)
    try:
        response = requests.get(url + "/api/services/nonce", timeout=30, headers={"X-Request-ID": "logs-1"},
                                params={"userAddress": "0x" + "ab" * 20, "signature": SECRET, "nonce": 1})
        assert response.status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    err.seek(0)
    text = err.read()
    assert SECRET not in text and "5ec7e7" not in text
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    mine = [entry for entry in lines if entry.get("request_id") == "logs-1" or "/api/services/nonce" in entry["message"]]
    assert len(mine) == 1 and mine[0]["path"] == "/api/services/nonce" and mine[0]["logger"] == "provider.access_log"
    assert not [line for line in text.splitlines() if line.strip() and not line.startswith("{")]


def log_format_seen_by(stderr_is_a_terminal: bool, mode: str) -> str:
    code = "from provider.config import load_server_settings; print(load_server_settings().log_format)"
    env = {k: v for k, v in os.environ.items() if k != "LOG_FORMAT"} | {"PROVIDER_MODE": mode}
    if not stderr_is_a_terminal:
        return subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, env=env, capture_output=True,
                              text=True, timeout=60).stdout.strip()
    leader, follower = pty.openpty()
    try:
        result = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE,
                                stderr=follower, text=True, timeout=60)
    finally:
        os.close(follower)
        os.close(leader)
    return result.stdout.strip()


def test_text_logs_on_a_development_terminal_json_everywhere_else():
    assert log_format_seen_by(True, "development") == "text"
    assert log_format_seen_by(False, "development") == "json"
    assert log_format_seen_by(True, "production") == "json"
