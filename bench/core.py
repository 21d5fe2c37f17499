"""Core benchmark: GET /, GET nonce and signed createAuthToken under gunicorn (2 workers),
against a trivial Flask app under the same gunicorn settings (the baseline, same run), plus
the cost of one signature recovery. Prints medians of several rounds and ratios.

    make bench            # or: .venv/bin/python bench/core.py --seconds 5 --rounds 3
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from pathlib import Path

from eth_account import Account

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load import run_load  # noqa: E402
from bench.report import row  # noqa: E402
from provider.auth.signatures import recover_signer, sign_message  # noqa: E402
from provider.chain.client import make_web3  # noqa: E402
from provider.devtools.anvil import Anvil, free_port  # noqa: E402
from provider.devtools.gunicorn import start_gunicorn as serve  # noqa: E402
from provider.devtools.deploy import ensure_deployed  # noqa: E402

MNEMONIC = "taxi music thumb unique chat sand crew more leg another off lamp"
CLIENTS = 4


def start_gunicorn(app: str, env: dict, workers: int = 2) -> tuple[subprocess.Popen, str]:
    """Quiet, and with a second for every worker to boot before anything is timed."""
    proc, url = serve(app, env, workers=workers, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    return proc, url


def provider_env(node_url: str, folder: Path, **extra: str) -> dict:
    """A development provider on the benchmark's own chain and files. The rate limits stay on
    (their cost is part of every figure) but above any load a benchmark offers."""
    return dict(os.environ, PROVIDER_MODE="development", NETWORK_URL=node_url,
                ADDRESS_FILE=str(folder / "address.json"), STORAGE_PATH=str(folder / "p.db"),
                LOG_LEVEL="WARNING", RATE_LIMIT_PER_IP="100000000", RATE_LIMIT_PER_ADDRESS="100000000", **extra)


def signed_token_paths(count: int, clients: int) -> list[list[tuple[str, str]]]:
    """Per client: its own account, nonces 1..count, signatures made before timing."""
    expiration = int(time.time()) + 3600
    per_client = []
    for _ in range(clients):
        account = Account.create()
        key = "0x" + bytes(account.key).hex()
        per_client.append([
            ("GET", f"/api/services/createAuthToken?address={account.address}&expiration={expiration}"
                    f"&nonce={n}&signature={sign_message(key, f'{account.address}{n}')}")
            for n in range(1, count + 1)
        ])
    return per_client


def fmt(result: dict) -> str:
    bad = {k: v for k, v in result["statuses"].items() if k != 200}
    return (f"{result['rps']:8.0f} req/s  p50 {result['p50_ms']:6.2f} ms  p99 {result['p99_ms']:6.2f} ms"
            + (f"  non-200: {bad}" if bad else ""))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-core-"))
    with Anvil(free_port(), 8996, MNEMONIC) as anvil:
        ensure_deployed(make_web3(anvil.url), MNEMONIC, tmp / "address.json")
        env = provider_env(anvil.url, tmp, INDEXER_ENABLED="false")
        provider, provider_url = start_gunicorn("provider.wsgi:app", env)
        # the trivial app has no compute engine process beside it (the provider's is part of its cost)
        baseline, baseline_url = start_gunicorn("bench.baseline_app:app", dict(env, COMPUTE_ENABLED="false"))
        try:
            user = Account.create().address
            many = 100_000  # bounded by time; the list only needs to be long enough
            scenarios = {
                "baseline GET / (trivial Flask app)": (baseline_url, lambda: [[("GET", "/")] * many] * CLIENTS),
                "GET /": (provider_url, lambda: [[("GET", "/")] * many] * CLIENTS),
                "GET /api/services/nonce": (
                    provider_url, lambda: [[("GET", f"/api/services/nonce?userAddress={user}")] * many] * CLIENTS),
                "GET createAuthToken (signed, nonce consumed)": (
                    provider_url, lambda: signed_token_paths(int(args.seconds * 600), CLIENTS)),
            }
            results = {name: [] for name in scenarios}
            for _ in range(args.rounds):
                for name, (url, make_paths) in scenarios.items():
                    results[name].append(run_load(url, make_paths(), args.seconds))
        finally:
            provider.terminate()
            baseline.terminate()
            provider.wait()
            baseline.wait()

    print(f"gunicorn --workers 2, {CLIENTS} client processes on loopback, {args.seconds:g} s x {args.rounds} rounds; "
          "median round shown")
    base_rps = statistics.median(r["rps"] for r in results["baseline GET / (trivial Flask app)"])
    for name, rounds in results.items():
        median = sorted(rounds, key=lambda r: r["rps"])[len(rounds) // 2]
        print(f"  {name:46s} {fmt(median)}  ({median['rps'] / base_rps:4.2f}x baseline)")
        row(name, rps=round(median["rps"]), p50_ms=round(median["p50_ms"], 2), p99_ms=round(median["p99_ms"], 2),
            ratio=round(median["rps"] / base_rps, 2))

    key = "0x" + "4c" * 32
    sig = sign_message(key, "did:op:abc123")
    n = 2000
    per_op = min(timeit.repeat(lambda: recover_signer("did:op:abc123", sig), number=n, repeat=5)) / n
    print(f"  signature recovery (keccak + EIP-191 + ecrecover, coincurve): {per_op * 1e6:.0f} us/op")
    row("signature recovery", p50_ms=round(per_op * 1000, 3), note="per operation, best of 5")
    failed = [name for name, rounds in results.items() if any(set(r["statuses"]) - {200} for r in rounds)]
    if failed:
        print("  non-200 answers in: " + ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
