"""`make run`: the whole development stack on one machine, with one command.

anvil on 127.0.0.1:8545 (chain 8996, barge mnemonic) -> Ocean contracts at barge's addresses
-> the address file where ocean.py looks -> a file server with the demo CSV and algorithm ->
the demo assets (provider.devtools.demo: a dataset to download, the same data for compute only,
a trusted statistics algorithm) -> the provider under gunicorn on 127.0.0.1:8030, with an
operator console token. Ctrl-C stops everything this command started. An anvil already
listening on the port is reused (and left running).

PROVIDER_RUN_DIR (default .run) and DEMO_FILE_SERVER_PORT (8031) move the stack's files and its
file server, so a second stack (the smoke test) can run beside the first.
"""
from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

from eth_account import Account

from provider.chain.client import make_web3
from provider.config import PROJECT_ROOT, load_server_settings, load_settings
from provider.devtools.anvil import Anvil, port_open
from provider.devtools import demo
from provider.devtools.deploy import dev_accounts, ensure_deployed
from provider.devtools.fileserver import FileServer
from provider.devtools.gunicorn import start_gunicorn
from provider.devtools.publisher import Publisher


def run_dir() -> Path:
    return Path(os.environ.get("PROVIDER_RUN_DIR") or PROJECT_ROOT / ".run")


def console_token_file() -> Path:
    return run_dir() / "console-token"


def _console_token(configured: str | None) -> str:
    """The configured token, or a new one per start, kept where `make demo` finds it (0600)."""
    token = configured or secrets.token_urlsafe(24)
    path = console_token_file()
    path.touch(mode=0o600, exist_ok=True)
    path.write_text(token)
    return token


def main() -> int:
    settings = load_settings()
    if not settings.development:
        print("make run serves the development stack; set PROVIDER_MODE=development", file=sys.stderr)
        return 2
    folder = run_dir()
    folder.mkdir(parents=True, exist_ok=True)
    chain = next(iter(settings.chains.values()))
    rpc = urlparse(chain.rpc_url)
    anvil = None
    if not port_open(rpc.hostname, rpc.port):
        anvil = Anvil(rpc.port, chain.chain_id, settings.dev_mnemonic, log_path=folder / "anvil.log")
        print(f"anvil started on {chain.rpc_url} (log: .run/anvil.log)")
    else:
        print(f"using the node already listening on {chain.rpc_url}")
    w3 = make_web3(chain.rpc_url)
    entry = ensure_deployed(w3, settings.dev_mnemonic, settings.address_file)
    print(f"Ocean contracts: ERC721Factory {entry['ERC721Factory']}, OCEAN {entry['Ocean']}")
    print(f"address file: {settings.address_file}")

    files_dir = folder / "files"
    demo.write_files(files_dir)
    file_server = FileServer(files_dir, port=int(os.environ.get("DEMO_FILE_SERVER_PORT") or 8031))
    publisher = Publisher(w3, entry["ERC721Factory"], chain.private_key, settings.public_url)
    accounts = dev_accounts(settings.dev_mnemonic)
    assets = demo.publish_demo(publisher, w3, accounts[1], file_server.url, folder / "demo.json")
    consumer = Account.from_key(accounts[2].key).address
    demo.fund_consumer(w3, accounts[1], assets, consumer)
    os.environ["CONSOLE_TOKEN"] = token = _console_token(settings.console.token)

    workers = load_server_settings().workers
    try:
        gunicorn, _ = start_gunicorn(workers=workers, bind=settings.bind)
    except RuntimeError as exc:
        print(f"{exc} (is the port in use?)", file=sys.stderr)
        file_server.stop()
        if anvil is not None:
            anvil.stop()
        return 1
    url = settings.public_url
    print(
        "\n"
        f"  provider:   {url}  (development mode, chain {chain.chain_id})\n"
        f"  download:   {assets['access']['did']}  (demo CSV, access service)\n"
        f"  compute:    {assets['compute']['did']}  (the same CSV; only algorithms reach it)\n"
        f"  algorithm:  {assets['algorithm']['did']}  (per-column statistics, trusted by the dataset)\n"
        f"  console:    {url}/console?token={token}\n"
        "\n"
        "  next:       make demo      a consumer orders, downloads, runs the algorithm on the data,\n"
        "                             follows its live log, prints the result and checks its receipt\n"
        f"              curl {url}/api/aquarius/assets/ddo/{assets['compute']['did']}\n"
        f"              curl '{url}/api/services/nonce?userAddress={consumer}'\n"
        "  stop:       Ctrl-C\n",
        flush=True,
    )

    def _stop(*_):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    try:
        return gunicorn.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        if gunicorn.poll() is None:
            gunicorn.terminate()
            try:
                gunicorn.wait(timeout=60)
            except subprocess.TimeoutExpired:
                gunicorn.kill()
        file_server.stop()
        if anvil is not None:
            anvil.stop()


if __name__ == "__main__":
    sys.exit(main())
