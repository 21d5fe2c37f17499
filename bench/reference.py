"""This provider against the reference Provider 2.1.6, side by side in one run: GET /, nonce,
encrypt 1 KB, fileinfo and signed createAuthToken (a fresh account for every request, so each
one is a first nonce, as the issue measured it), both under gunicorn with 2 sync workers and
INFO logs, on the same anvil, loaded by wrk. Rounds alternate the two servers endpoint by
endpoint; ratios are the median of the rounds' own (range in brackets).

The reference is not on PyPI (its last release there is 0.4.0). Build it once from its source:

    git clone https://github.com/oceanprotocol/provider ref && cd ref && git checkout v2.1.6
    python3.8 -m venv venv && venv/bin/pip install .     # web3 5 and pysha3 need Python <= 3.9
    .venv/bin/python bench/reference.py --reference ref  # from this project's folder
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from coincurve import PrivateKey
from eth_account import Account

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.core import CLIENTS, MNEMONIC, provider_env, start_gunicorn  # noqa: E402
from bench.procs import children, cpu_seconds  # noqa: E402
from bench.report import row  # noqa: E402
from bench.wrk import run_wrk  # noqa: E402
from provider.auth.signatures import sign_message  # noqa: E402
from provider.chain.client import make_web3  # noqa: E402
from provider.crypto.addresses import checksum  # noqa: E402
from provider.crypto.hashing import keccak256  # noqa: E402
from provider.devtools.anvil import Anvil, free_port, port_open  # noqa: E402
from provider.devtools.deploy import dev_accounts, ensure_deployed  # noqa: E402
from provider.devtools.origin import OriginServer  # noqa: E402


def start_reference(source: Path, env: dict) -> tuple[subprocess.Popen, str]:
    """The reference's own gunicorn (from its venv), 2 sync workers, as its Docker image runs it."""
    port = free_port()
    proc = subprocess.Popen([str(source / "venv" / "bin" / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}",
                             "ocean_provider.run:app"], cwd=source, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not port_open("127.0.0.1", port):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise SystemExit("the reference provider did not start (see its venv and source)")
        time.sleep(0.2)
    time.sleep(3.0)  # both workers import web3 after the port opens
    return proc, f"http://127.0.0.1:{port}"


def fresh_account_tokens(count: int, expiration: int) -> list[tuple[str, str, str]]:
    """`count` createAuthToken requests, each from an account never seen, signed before timing."""
    requests = []
    for _ in range(count):
        key = PrivateKey()
        address = checksum("0x" + keccak256(key.public_key.format(compressed=False)[1:])[-20:].hex())
        signature = sign_message("0x" + key.secret.hex(), f"{address}1")
        requests.append(("token", "GET", f"/api/services/createAuthToken?address={address}&expiration={expiration}"
                                         f"&nonce=1&signature={signature}"))
    return requests


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reference", type=Path, required=True,
                        help="a checkout of oceanprotocol/provider v2.1.6 with its venv/ (see the docstring)")
    parser.add_argument("--seconds", type=float, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    source = args.reference.resolve()
    if not (source / "venv" / "bin" / "gunicorn").exists():
        raise SystemExit(f"{source}/venv/bin/gunicorn not found: build the reference first (see the docstring)")

    tmp = Path(tempfile.mkdtemp(prefix="bench-reference-"))
    origin = OriginServer()
    file_url = origin.add("data.csv", b"id,value\n" + b"1,10\n" * 200, "text/csv")
    body = os.urandom(1024)
    fileinfo = json.dumps({"type": "url", "url": file_url, "method": "GET"})
    user = Account.create().address
    with Anvil(free_port(), 8996, MNEMONIC) as anvil:
        ensure_deployed(make_web3(anvil.url), MNEMONIC, tmp / "address.json")
        provider_key = "0x" + bytes(dev_accounts(MNEMONIC)[8].key).hex()
        ours, ours_url = start_gunicorn("provider.wsgi:app", dict(
            provider_env(anvil.url, tmp, INDEXER_ENABLED="false", ALLOW_NON_PUBLIC_IP="true"), LOG_LEVEL="INFO"))
        reference, reference_url = start_reference(source, dict(
            os.environ, NETWORK_URL=anvil.url, PROVIDER_PRIVATE_KEY=provider_key, ADDRESS_FILE=str(tmp / "address.json"),
            STORAGE_PATH=str(tmp / "reference.db"), LOG_LEVEL="INFO", AQUARIUS_URL="http://127.0.0.1:9",
            OPERATOR_SERVICE_URL="http://127.0.0.1:9"))
        servers = {"ours": (ours, ours_url), "reference": (reference, reference_url)}
        same = lambda request: lambda: [[request] * 200_000 for _ in range(CLIENTS)]  # noqa: E731
        expiration = int(time.time()) + 3600
        # fresh accounts: enough for the fastest server's round, made before its timing starts
        tokens = lambda: [fresh_account_tokens(int(args.seconds * 900), expiration) for _ in range(CLIENTS)]  # noqa: E731
        plans = {
            "GET /": same(("root", "GET", "/")),
            "GET /api/services/nonce": same(("nonce", "GET", f"/api/services/nonce?userAddress={user}")),
            "POST encrypt 1 KB": same(("encrypt", "POST", "/api/services/encrypt?chainId=8996", body,
                                       "application/octet-stream")),
            "POST fileinfo (url)": same(("fileinfo", "POST", "/api/services/fileinfo", fileinfo.encode(),
                                         "application/json")),
            "createAuthToken (signed, fresh account)": tokens,
        }
        results = {(name, side): [] for name in plans for side in servers}
        try:
            for _ in range(args.rounds):
                for name, make_lists in plans.items():
                    for side, (proc, url) in servers.items():
                        lists = make_lists()
                        pids = [proc.pid] + children(proc.pid)
                        before = cpu_seconds(pids)
                        result = run_wrk(url, lists, args.seconds)
                        result["cpu_ms"] = (cpu_seconds(pids) - before) * 1000 / max(1, result["all"]["count"])
                        results[name, side].append(result)
        finally:
            for proc, _ in servers.values():
                proc.terminate()
                proc.wait()
            origin.stop()

    print(f"gunicorn -w 2 (sync) for both, INFO logs, wrk {CLIENTS} connections on loopback, {args.seconds:g} s x "
          f"{args.rounds} rounds alternating the servers; median round shown; ratio = ours / reference, the median "
          f"of the rounds' own [range]")
    failed = False
    for name in plans:
        per_round = sorted(o["all"]["rps"] / max(r["all"]["rps"], 1e-9)
                           for o, r in zip(results[name, "ours"], results[name, "reference"]))
        ratio = statistics.median(per_round)
        line = f"  {name:42s}"
        for side in servers:
            rounds = results[name, side]
            median = sorted(rounds, key=lambda r: r["all"]["rps"])[len(rounds) // 2]
            errors = sum(sum(r["errors"].values()) for r in rounds)
            failed |= side == "ours" and errors > 0
            line += (f"  {side} {median['all']['rps']:7.0f} req/s p50 {median['all']['p50_ms']:6.2f} ms"
                     f" CPU {median['cpu_ms']:.2f} ms" + (f" ({errors} non-2xx)" if errors else ""))
            if side == "ours":
                ours_median = median
        print(line + f"  = {ratio:.1f}x [{per_round[0]:.1f}-{per_round[-1]:.1f}]")
        row(f"vs reference 2.1.6: {name}", rps=round(ours_median["all"]["rps"]), p50_ms=ours_median["all"]["p50_ms"],
            cpu_ms=round(ours_median["cpu_ms"], 3), ratio=round(ratio, 2),
            note=f"rounds [{per_round[0]:.1f}-{per_round[-1]:.1f}]")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
