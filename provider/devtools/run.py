"""`make run`: the whole development stack on one machine, with one command.

anvil on 127.0.0.1:8545 (chain 8996, barge mnemonic) -> Ocean contracts at barge's addresses
-> the address file where ocean.py looks -> a file server with a demo file -> one demo
dataset published with an access service -> the provider under gunicorn on 127.0.0.1:8030.
Ctrl-C stops everything this command started. An anvil already listening on the port is
reused (and left running).
"""
from __future__ import annotations

import json
import signal
import subprocess
import sys
from urllib.parse import urlparse

from eth_account import Account

from provider.chain.client import make_web3
from provider.config import PROJECT_ROOT, load_server_settings, load_settings
from provider.devtools.anvil import Anvil, port_open
from provider.devtools.deploy import dev_accounts, ensure_deployed
from provider.devtools.fileserver import FileServer
from provider.devtools.gunicorn import start_gunicorn
from provider.devtools.publisher import Publisher

RUN_DIR = PROJECT_ROOT / ".run"
FILE_SERVER_PORT = 8031
DEMO_CSV = "x,y\n" + "".join(f"{i},{i * i}\n" for i in range(100))


def _demo_asset(publisher: Publisher, w3, accounts, file_url: str) -> str:
    """Publish the demo dataset once per chain; reuse it while the chain keeps it."""
    record = RUN_DIR / "demo.json"
    if record.exists():
        demo = json.loads(record.read_text())
        if demo.get("chainId") == w3.eth.chain_id and len(w3.eth.get_code(demo["nftAddress"])) > 0:
            return demo["did"]
    asset = publisher.publish(accounts[1], [{"type": "url", "url": file_url, "method": "GET"}])
    record.write_text(json.dumps({"did": asset.did, "nftAddress": asset.nft_address,
                                  "datatokenAddress": asset.datatoken_address, "chainId": w3.eth.chain_id}))
    return asset.did


def main() -> int:
    settings = load_settings()
    if not settings.development:
        print("make run serves the development stack; set PROVIDER_MODE=development", file=sys.stderr)
        return 2
    RUN_DIR.mkdir(exist_ok=True)
    chain = next(iter(settings.chains.values()))
    rpc = urlparse(chain.rpc_url)
    anvil = None
    if not port_open(rpc.hostname, rpc.port):
        anvil = Anvil(rpc.port, chain.chain_id, settings.dev_mnemonic, log_path=RUN_DIR / "anvil.log")
        print(f"anvil started on {chain.rpc_url} (log: .run/anvil.log)")
    else:
        print(f"using the node already listening on {chain.rpc_url}")
    w3 = make_web3(chain.rpc_url)
    entry = ensure_deployed(w3, settings.dev_mnemonic, settings.address_file)
    print(f"Ocean contracts: ERC721Factory {entry['ERC721Factory']}, OCEAN {entry['Ocean']}")
    print(f"address file: {settings.address_file}")

    files_dir = RUN_DIR / "files"
    files_dir.mkdir(exist_ok=True)
    (files_dir / "demo.csv").write_text(DEMO_CSV)
    file_server = FileServer(files_dir, port=FILE_SERVER_PORT)
    publisher = Publisher(w3, entry["ERC721Factory"], chain.private_key, settings.public_url)
    did = _demo_asset(publisher, w3, dev_accounts(settings.dev_mnemonic), f"{file_server.url}/demo.csv")

    workers = load_server_settings().workers
    try:
        gunicorn, _ = start_gunicorn(workers=workers, bind=settings.bind)
    except RuntimeError as exc:
        print(f"{exc} (is the port in use?)", file=sys.stderr)
        file_server.stop()
        if anvil is not None:
            anvil.stop()
        return 1
    consumer = Account.from_key(dev_accounts(settings.dev_mnemonic)[2].key).address
    print(
        "\n"
        f"  provider:   {settings.public_url}  (development mode, chain {chain.chain_id})\n"
        f"  demo DID:   {did}\n"
        f"  try:        curl {settings.public_url}/api/aquarius/assets/ddo/{did}\n"
        f"              curl '{settings.public_url}/api/services/nonce?userAddress={consumer}'\n"
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
