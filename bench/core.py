"""Core benchmark: GET /, nonce, encrypt, fileinfo and signed createAuthToken under gunicorn
(2 workers), each against its twin in a trivial Flask app under the same gunicorn settings
(bench/baseline_app.py, same run), loaded by wrk (gunicorn's sync workers close every connection,
so wrk reconnects). Prints medians of several rounds, ratios to the baseline, the server's CPU
per request, the baseline against itself (the machine's noise floor), and what a signed request
costs above GET / against its budget: one signature recovery plus one atomic nonce write.

    make bench            # or: .venv/bin/python bench/core.py --seconds 3 --rounds 5
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
import timeit
from decimal import Decimal
from pathlib import Path

from eth_account import Account

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.procs import children, cpu_seconds  # noqa: E402
from bench.report import row  # noqa: E402
from bench.wrk import run_wrk  # noqa: E402
from provider.auth.signatures import recover_signer, sign_message  # noqa: E402
from provider.chain.client import make_web3  # noqa: E402
from provider.devtools.anvil import Anvil, free_port  # noqa: E402
from provider.devtools.gunicorn import start_gunicorn as serve  # noqa: E402
from provider.devtools.deploy import ensure_deployed  # noqa: E402
from provider.devtools.origin import OriginServer  # noqa: E402
from provider.stores.nonces import SqliteNonceStore  # noqa: E402
from provider.stores.sqlite import Database  # noqa: E402

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


def signed_token_paths(count: int, clients: int, path: str = "/api/services/createAuthToken"
                       ) -> list[list[tuple[str, str, str]]]:
    """Per client: its own account, nonces 1..count, signatures made before timing."""
    expiration = int(time.time()) + 3600
    per_client = []
    for _ in range(clients):
        account = Account.create()
        key = "0x" + bytes(account.key).hex()
        per_client.append([
            ("signed", "GET", f"{path}?address={account.address}&expiration={expiration}"
                    f"&nonce={n}&signature={sign_message(key, f'{account.address}{n}')}")
            for n in range(1, count + 1)
        ])
    return per_client


def scenarios(args, provider_url: str, baseline_url: str, file_url: str) -> dict:
    """name -> (server url, per-connection request lists or a function making fresh ones for each
    round, baseline name or None)."""
    user = Account.create().address
    many = 200_000  # bounded by time; a list only needs to outlast it
    body = os.urandom(1024)
    fileinfo = json.dumps({"type": "url", "url": file_url, "method": "GET"}).encode()
    same = lambda request: [[request] * many for _ in range(CLIENTS)]  # noqa: E731
    # Each endpoint runs right after its baseline in every round, and ratios are taken round by
    # round: a drift in the machine's speed between rounds moves both sides of a ratio alike.
    return {
        "baseline GET / (trivial Flask app)": (baseline_url, same(("root", "GET", "/")), None),
        # the same server again: how far two runs of one thing differ here (the noise floor)
        "baseline GET / again (A/A)": (baseline_url, same(("root", "GET", "/")), "baseline GET / (trivial Flask app)"),
        "GET /": (provider_url, same(("root", "GET", "/")), "baseline GET / (trivial Flask app)"),
        "baseline signed (Flask + one recovery + one nonce write)": (
            baseline_url, lambda: signed_token_paths(int(args.seconds * 3000), CLIENTS, "/signed"), None),
        "GET createAuthToken (signed, nonce consumed)": (
            provider_url, lambda: signed_token_paths(int(args.seconds * 3000), CLIENTS),  # fresh nonces
            "baseline signed (Flask + one recovery + one nonce write)"),
        "baseline nonce (Flask + one SQLite read)": (
            baseline_url, same(("nonce", "GET", f"/nonce?userAddress={user}")), None),
        "GET /api/services/nonce": (
            provider_url, same(("nonce", "GET", f"/api/services/nonce?userAddress={user}")),
            "baseline nonce (Flask + one SQLite read)"),
        "baseline encrypt 1 KB (Flask + ECIES)": (
            baseline_url, same(("encrypt", "POST", "/encrypt", body, "application/octet-stream")), None),
        "POST encrypt 1 KB": (
            provider_url, same(("encrypt", "POST", "/api/services/encrypt?chainId=8996", body,
                                "application/octet-stream")), "baseline encrypt 1 KB (Flask + ECIES)"),
        "baseline fileinfo (Flask + one GET)": (
            baseline_url, same(("fileinfo", "POST", "/fileinfo", fileinfo, "application/json")), None),
        "POST fileinfo (url)": (
            provider_url, same(("fileinfo", "POST", "/api/services/fileinfo", fileinfo, "application/json")),
            "baseline fileinfo (Flask + one GET)"),
    }


def signed_budget_ms(folder: Path) -> float:
    """What a signed request may cost above GET /: one signature recovery and one atomic nonce
    write, each measured here in-process (best of 5) on the same kind of store file."""
    key = "0x" + "4c" * 32
    address = Account.from_key(key).address
    sig = sign_message(key, f"{address}1")
    n = 2000
    recovery = min(timeit.repeat(lambda: recover_signer(f"{address}1", sig), number=n, repeat=5)) / n
    store = SqliteNonceStore(Database(folder / "budget.db"))
    counter = iter(range(1, 10**9))
    write = min(timeit.repeat(lambda: store.consume(address, Decimal(next(counter))), number=n, repeat=5)) / n
    print(f"  budget: signature recovery {recovery * 1e3:.3f} ms + nonce write {write * 1e3:.3f} ms")
    return (recovery + write) * 1000


def main() -> int:
    parser = argparse.ArgumentParser()
    # several short rounds, each endpoint right after its baseline: a median over more rounds
    # moves less with this noisy machine than one over a few long ones
    parser.add_argument("--seconds", type=float, default=3)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-core-"))
    origin = OriginServer()
    file_url = origin.add("data.csv", b"id,value\n" + b"1,10\n" * 200, "text/csv")
    with Anvil(free_port(), 8996, MNEMONIC) as anvil:
        ensure_deployed(make_web3(anvil.url), MNEMONIC, tmp / "address.json")
        env = provider_env(anvil.url, tmp, INDEXER_ENABLED="false", ALLOW_NON_PUBLIC_IP="true")
        provider, provider_url = start_gunicorn("provider.wsgi:app", env)
        # the trivial app has no compute engine process beside it (the provider's is part of its cost)
        baseline, baseline_url = start_gunicorn("bench.baseline_app:app", dict(env, COMPUTE_ENABLED="false", BASELINE_DIR=str(tmp)))
        servers = {provider_url: provider, baseline_url: baseline}
        try:
            plans = scenarios(args, provider_url, baseline_url, file_url)
            results = {name: [] for name in plans}
            for round_ in range(args.rounds):
                for name, (url, lists, _) in plans.items():
                    lists = lists() if callable(lists) else lists
                    pids = [servers[url].pid] + children(servers[url].pid)
                    before = cpu_seconds(pids)
                    result = run_wrk(url, lists, args.seconds)
                    result["cpu_ms"] = (cpu_seconds(pids) - before) * 1000 / max(1, result["all"]["count"])
                    results[name].append(result)
            budget = signed_budget_ms(tmp)
        finally:
            for proc in servers.values():
                proc.terminate()
                proc.wait()
            origin.stop()

    print(f"gunicorn --workers 2 (sync workers: each answer closes its connection, wrk reconnects), wrk with "
          f"{CLIENTS} connections on loopback, {args.seconds:g} s x {args.rounds} rounds; median round shown, ratios "
          f"the median of each round's own (range in brackets); CPU = the server's processes (master, workers, engine)")
    medians = {}
    for name, rounds in results.items():
        medians[name] = sorted(rounds, key=lambda r: r["all"]["rps"])[len(rounds) // 2]
    failed = []
    for name, (_, _, baseline_name) in plans.items():
        median = medians[name]
        figures_ = median["all"]
        ratio, spread = None, ""
        if baseline_name:
            per_round = sorted(r["all"]["rps"] / b["all"]["rps"] for r, b in zip(results[name], results[baseline_name]))
            ratio, spread = statistics.median(per_round), f" [{per_round[0]:.2f}-{per_round[-1]:.2f}]"
        errors = sum(sum(r["errors"].values()) for r in results[name])
        if errors:
            failed.append(name)
        print(f"  {name:46s} {figures_['rps']:8.0f} req/s  p50 {figures_['p50_ms']:6.2f} ms  p99 "
              f"{figures_['p99_ms']:6.2f} ms  CPU {median['cpu_ms']:.2f} ms/req"
              + (f"  ({ratio:.2f}x its baseline{spread})" if ratio else "") + (f"  ERRORS {errors}" if errors else ""))
        row(name, rps=round(figures_["rps"]), p50_ms=figures_["p50_ms"], p99_ms=figures_["p99_ms"],
            cpu_ms=round(median["cpu_ms"], 3), **({"ratio": round(ratio, 2)} if ratio else {}),
            note=(f"{errors} errors" if errors else "") + (f"rounds{spread}" if spread and not errors else ""))
    # What a signed request costs above GET /, against its budget measured two ways: under the
    # same load, the twin's signed endpoint (one recovery, one atomic nonce write) above the
    # twin's GET /; and in-process, the two operations alone in a loop (best of 5).
    token, root = results["GET createAuthToken (signed, nonce consumed)"], results["GET /"]
    twin_signed, twin_root = (results["baseline signed (Flask + one recovery + one nonce write)"],
                              results["baseline GET / (trivial Flask app)"])
    above = statistics.median(t["cpu_ms"] - r["cpu_ms"] for t, r in zip(token, root))
    loaded_budget = statistics.median(t["cpu_ms"] - r["cpu_ms"] for t, r in zip(twin_signed, twin_root))
    print(f"  signed createAuthToken costs {above:.3f} ms CPU above GET / (median of the rounds); budget (one "
          f"recovery + one nonce write): {loaded_budget:.3f} ms under the same load = {above / loaded_budget:.2f}x, "
          f"{budget:.3f} ms in-process = {above / budget:.2f}x")
    row("signed request above GET / (CPU)", cpu_ms=round(above, 3), ratio=round(above / loaded_budget, 2),
        note=f"x of the budget under load {loaded_budget:.3f} ms (twin: one recovery + one nonce write; "
             f"{above / budget:.2f}x of {budget:.3f} ms in-process)")
    if failed:
        print("  errors in: " + ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
