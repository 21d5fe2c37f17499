"""Item: nonces are numbers of bounded form. `1e1000000` took 32 s to convert while holding the
SQLite write lock, stalling every signed endpoint, the indexer and the scheduler."""
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
from eth_account import Account

from provider.stores.nonces import NonceRejected, SqliteNonceStore
from provider.stores.sqlite import Database
from tests.helpers import sign


def create_token(client, account, nonce):
    return client.get("/api/services/createAuthToken", query_string={
        "address": account.address, "expiration": int(time.time()) + 600, "nonce": nonce,
        "signature": sign(account, f"{account.address}{nonce}")})


@pytest.mark.parametrize("nonce", ["1e1000000", "9" * 79, "1.0000000000000000001", "-1", "+5", " 5", "0x10",
                                   "NaN", "Infinity", "1_000", "1e5", "", "٣", "5\n"])
def test_nonces_of_any_other_form_are_refused_at_once(client, nonce):
    account = Account.create()
    started = time.monotonic()
    r = create_token(client, account, nonce)
    assert time.monotonic() - started < 2
    assert r.status_code == 400
    assert client.get(f"/api/services/nonce?userAddress={account.address}").get_json()["nonce"] == 0


@pytest.mark.parametrize("nonce", ["1", "1712345678902", "1712345678902.123", "9" * 78, "1." + "5" * 18])
def test_what_real_clients_send_is_accepted(client, nonce):
    assert create_token(client, Account.create(), nonce).status_code == 200


def test_a_json_number_nonce_is_read_as_its_decimal_text(client, dev_chain):
    account = Account.create()
    r = client.post("/api/services/compute", json={"consumerAddress": account.address, "nonce": 1e400,
                                                   "dataset": {"documentId": "x", "serviceId": "0", "transferTxId": "0x1"}})
    assert r.status_code == 400


KILLED_AFTER_CONSUME = """
import os, signal, sys
from decimal import Decimal
from pathlib import Path
from provider.stores.nonces import SqliteNonceStore
from provider.stores.sqlite import Database
store = SqliteNonceStore(Database(Path(sys.argv[1])))
store.consume(sys.argv[2], Decimal(5))
print("consumed", flush=True)
os.kill(os.getpid(), signal.SIGKILL)  # no close, no exit handlers: a worker that died mid-request
"""


def test_a_nonce_consumed_by_a_process_that_is_then_killed_stays_consumed(tmp_path):
    """A crash may not re-enable a consumed nonce: the write is committed before the request
    goes on, so a worker killed right after it leaves it in the store for every other process."""
    address = Account.create().address
    path = tmp_path / "nonces.db"
    run = subprocess.run([sys.executable, "-c", KILLED_AFTER_CONSUME, str(path), address],
                         capture_output=True, text=True, timeout=60, cwd=Path(__file__).resolve().parents[2])
    assert run.returncode == -signal.SIGKILL and run.stdout.strip() == "consumed", run.stderr
    store = SqliteNonceStore(Database(path))
    assert store.current(address) == Decimal(5)
    for replayed in (Decimal(5), Decimal(4)):
        with pytest.raises(NonceRejected):
            store.consume(address, replayed)
    store.consume(address, Decimal(6))
