"""Fixtures that start real things: anvil with the Ocean contracts, Redis, the app."""
from __future__ import annotations

import asyncio
import os
import shutil
import threading
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import kmock
import pytest
import redis as redis_lib
from eth_account.signers.local import LocalAccount
from web3 import Web3

from provider.app import create_app
from provider.chain.client import make_web3
from provider.config import load_settings
from provider.devtools.anvil import Anvil, free_port, port_open
from provider.devtools.deploy import dev_accounts, ensure_deployed
from provider.devtools.publisher import Publisher

MNEMONIC = "taxi music thumb unique chat sand crew more leg another off lamp"


@dataclass
class DevChain:
    url: str
    w3: Web3
    contracts: dict
    address_file: Path
    accounts: list[LocalAccount]

    @property
    def publisher_account(self) -> LocalAccount:
        return self.accounts[1]

    @property
    def consumer(self) -> LocalAccount:
        return self.accounts[2]

    @property
    def provider_account(self) -> LocalAccount:
        return self.accounts[8]


@pytest.fixture(scope="session")
def dev_chain(tmp_path_factory) -> DevChain:
    address_file = tmp_path_factory.mktemp("chain") / "address.json"
    with Anvil(free_port(), 8996, MNEMONIC) as anvil:
        w3 = make_web3(anvil.url)
        contracts = ensure_deployed(w3, MNEMONIC, address_file)
        yield DevChain(anvil.url, w3, contracts, address_file, dev_accounts(MNEMONIC))


@pytest.fixture(scope="session")
def publisher(dev_chain) -> Publisher:
    return Publisher(dev_chain.w3, dev_chain.contracts["ERC721Factory"],
                     dev_chain.provider_account.key.hex(), "http://127.0.0.1:8030")


@pytest.fixture
def make_settings(dev_chain, tmp_path):
    """Settings for a provider on the test chain; keyword arguments are env overrides."""
    def _make(**env):
        environ = {
            "PROVIDER_MODE": "development",
            "NETWORK_URL": dev_chain.url,
            "ADDRESS_FILE": str(dev_chain.address_file),
            "STORAGE_PATH": str(tmp_path / "provider.db"),
            "LOG_LEVEL": "WARNING",
        }
        environ.update({k: str(v) for k, v in env.items()})
        return load_settings(environ)
    return _make


@pytest.fixture
def make_app(make_settings):
    apps = []

    def _make(**env):
        app = create_app(make_settings(**env), start_background=False)
        apps.append(app)
        return app
    yield _make
    for app in apps:
        app.extensions["provider"].stop_background()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (make test installs it as root)")
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(workdir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while not port_open("127.0.0.1", port):
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            pytest.fail("redis-server did not start")
        time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def redis_client(redis_url):
    client = redis_lib.Redis.from_url(redis_url)
    client.flushdb()
    return client


@pytest.fixture
def sandbox_dir():
    """A folder the unprivileged sandbox user can traverse (pytest's tmp_path is 0700)."""
    import tempfile
    path = Path(tempfile.mkdtemp(prefix="c2d-test-", dir="/tmp"))
    os.chmod(path, 0o711)
    yield path
    # quota volumes of jobs a test killed mid-run: unmounted, so no loop device is left behind
    for line in Path("/proc/mounts").read_text().splitlines():
        mountpoint = line.split()[1]
        if mountpoint.startswith(str(path) + "/"):
            subprocess.run(["umount", "-l", mountpoint], capture_output=True)
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def emulator():
    """A fresh API server per test: the emulator's calls slow down as stored objects pile up."""
    state = {}

    def serve():
        async def main():
            async with kmock.KubernetesEmulator() as emu, kmock.Server(emu) as srv:
                state.update(emu=emu, url=str(srv.url).rstrip("/"), loop=asyncio.get_running_loop())
                await asyncio.Event().wait()
        asyncio.run(main())

    threading.Thread(target=serve, daemon=True).start()
    deadline = time.monotonic() + 10
    while "url" not in state:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    return state
