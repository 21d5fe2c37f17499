"""The same signed request, sent concurrently to several gunicorn workers, is accepted once."""
import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from provider.devtools.gunicorn import start_gunicorn
from tests.helpers import sign


@pytest.fixture(params=["sqlite", "redis"])
def gunicorn_url(request, dev_chain, tmp_path):
    env = dict(os.environ, PROVIDER_MODE="development", NETWORK_URL=dev_chain.url,
               ADDRESS_FILE=str(dev_chain.address_file), STORAGE_PATH=str(tmp_path / "p.db"),
               LOG_LEVEL="WARNING", INDEXER_ENABLED="false")
    if request.param == "redis":
        env["REDIS_CONNECTION"] = request.getfixturevalue("redis_url")
        request.getfixturevalue("redis_client")  # flushed
    proc, url = start_gunicorn(env=env, workers=4, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # wait until every worker answers
    for _ in range(20):
        requests.get(url + "/", timeout=10)
    yield url
    proc.terminate()
    proc.wait(timeout=20)


def test_concurrent_copies_of_one_signed_request_succeed_once(gunicorn_url, dev_chain):
    account = dev_chain.accounts[7]
    for nonce in (1, 2):
        params = {"address": account.address, "expiration": int(time.time()) + 600, "nonce": nonce,
                  "signature": sign(account, f"{account.address}{nonce}")}

        def send(_):
            return requests.get(gunicorn_url + "/api/services/createAuthToken", params=params, timeout=30).status_code

        with ThreadPoolExecutor(16) as pool:
            statuses = list(pool.map(send, range(32)))
        assert statuses.count(200) == 1, statuses
        assert statuses.count(400) == 31
