"""Load test: 64 concurrent clients for 60 s mixing nonce, initialize, download and compute
status against the provider under gunicorn, from other processes on loopback. Bounded in time
(each client stops at the deadline) and in count (each client has a fixed list of requests).

Every request must answer 200: the run reports the errors it saw and exits 1 if there are any.
The same clients against a trivial Flask app under the same gunicorn settings give the
baseline, in the same run.

    .venv/bin/python bench/load_test.py [--clients 64] [--seconds 60] [--workers 4]

Set-up (not timed): anvil with the Ocean contracts, a dataset with an access service and one
with a compute service, one order per client (paid by one account, each client its own
consumer key, so every client's download nonces grow on their own), and one finished compute
job per paying account whose status the clients poll. The rate limits stay on, set above the
offered load, so their cost is in the figures.
"""
from __future__ import annotations

import argparse
import http.client
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import requests
from eth_account import Account

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.procs import children, rss_kb  # noqa: E402
from bench.core import MNEMONIC, provider_env, start_gunicorn  # noqa: E402
from bench.report import row  # noqa: E402
from provider.auth.signatures import sign_message  # noqa: E402
from provider.chain.client import make_web3  # noqa: E402
from provider.devtools.anvil import Anvil, free_port  # noqa: E402
from provider.devtools.consumer import mint, start_order  # noqa: E402
from provider.devtools.deploy import dev_accounts, ensure_deployed  # noqa: E402
from provider.devtools.publisher import Publisher  # noqa: E402
from provider.devtools.origin import OriginServer  # noqa: E402

KINDS = ("nonce", "initialize", "download", "computeStatus")
CODE = "open('/data/outputs/out.txt', 'w').write('ok')\n"
CONTAINER = {"entrypoint": "python3 $ALGO", "image": "python", "tag": "3.11", "checksum": "sha256:" + "00" * 32}


def _client(base: str, requests_: list[tuple[str, str]], seconds: float, start_at: float, out) -> None:
    parts = urlsplit(base)
    samples: dict[str, list[float]] = {k: [] for k in {kind for kind, _ in requests_}}
    errors: dict[str, int] = {}
    while time.time() < start_at:
        time.sleep(0.001)
    deadline = time.monotonic() + seconds
    for kind, path in requests_:
        if time.monotonic() > deadline:
            break
        began = time.perf_counter()
        try:
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            conn.close()
            status = response.status
        except OSError as exc:
            status = type(exc).__name__
        samples[kind].append(time.perf_counter() - began)
        if status != 200:
            key = f"{kind} {status}"
            errors[key] = errors.get(key, 0) + 1
    out.put((samples, errors))


def run_clients(base: str, per_client: list[list[tuple[str, str]]], seconds: float) -> dict:
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    start_at = time.time() + 1.0 + len(per_client) * 0.01  # every process forked before any sends
    procs = [ctx.Process(target=_client, args=(base, paths, seconds, start_at, out)) for paths in per_client]
    for proc in procs:
        proc.start()
    results = [out.get(timeout=seconds + 180) for _ in procs]
    for proc in procs:
        proc.join()
    merged: dict[str, list[float]] = {}
    errors: dict[str, int] = {}
    for samples, errs in results:
        for kind, values in samples.items():
            merged.setdefault(kind, []).extend(values)
        for key, count in errs.items():
            errors[key] = errors.get(key, 0) + count
    return {"samples": merged, "errors": errors, "seconds": seconds}


def figures(values: list[float], seconds: float) -> dict:
    values = sorted(values)
    return {"rps": round(len(values) / seconds, 1), "p50_ms": round(1000 * statistics.median(values), 1),
            "p99_ms": round(1000 * values[min(len(values) - 1, int(0.99 * len(values)))], 1)}


def summary(values: list[float], seconds: float) -> str:
    f = figures(values, seconds)
    return f"{f['rps']:8.1f} req/s  p50 {f['p50_ms']:7.1f} ms  p99 {f['p99_ms']:7.1f} ms  ({len(values)} requests)"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--baseline-seconds", type=float, default=10)
    args = parser.parse_args()
    per_client_count = int(args.seconds * 60)  # far above what one client can send: time bounds the run

    base = Path(tempfile.mkdtemp(prefix="bench-load-", dir="/tmp"))
    os.chmod(base, 0o711)
    origin = OriginServer()
    data_url = origin.add("data.csv", b"id,value\n" + b"1,10\n" * 200, "text/csv")
    with Anvil(free_port(), 8996, MNEMONIC) as anvil:
        w3 = make_web3(anvil.url)
        contracts = ensure_deployed(w3, MNEMONIC, base / "address.json")
        accounts = dev_accounts(MNEMONIC)
        env = provider_env(anvil.url, base, COMPUTE_JOBS_PATH=str(base / "jobs"), INDEXER_POLL_INTERVAL="0.5",
                           PROMETHEUS_MULTIPROC_DIR=str(base / "metrics"))
        provider, url = start_gunicorn("provider.wsgi:app", env, workers=args.workers)
        try:
            publisher = Publisher(w3, contracts["ERC721Factory"], "0x" + bytes(accounts[8].key).hex(), url)
            files = [{"type": "url", "url": data_url, "method": "GET"}]
            access = publisher.publish(accounts[1], files)
            compute = publisher.publish(accounts[1], files, service_type="compute", compute={"allowRawAlgorithm": True})
            payer = accounts[2]
            mint(w3, accounts[1], access.datatoken_address, payer.address, 1000 * 10**18)
            mint(w3, accounts[1], compute.datatoken_address, payer.address, 1000 * 10**18)
            while requests.get(f"{url}/api/aquarius/assets/ddo/{compute.did}", timeout=10).status_code != 200:
                time.sleep(0.2)

            # One finished compute job per paying account (accounts 2..5), polled by the clients.
            jobs = []
            for index, owner in enumerate(accounts[2:6]):
                if owner is not payer:
                    mint(w3, accounts[1], compute.datatoken_address, owner.address, 10 * 10**18)
                algorithm = {"meta": {"rawcode": CODE, "container": CONTAINER}}
                init = requests.post(f"{url}/api/services/initializeCompute", timeout=30, json={
                    "datasets": [{"documentId": compute.did, "serviceId": "1"}], "algorithm": algorithm,
                    "compute": {"env": "ocean-compute", "validUntil": int(time.time()) + 3600},
                    "consumerAddress": owner.address}).json()
                tx = start_order(w3, owner, compute.datatoken_address, 0, init["datasets"][0]["providerFee"],
                                 consumer=accounts[8].address)
                nonce = int(time.time() * 1000) + index
                key = "0x" + bytes(owner.key).hex()
                job = requests.post(f"{url}/api/services/compute", timeout=30, json={
                    "dataset": {"documentId": compute.did, "serviceId": "1", "transferTxId": tx},
                    "algorithm": algorithm, "environment": "ocean-compute", "consumerAddress": owner.address,
                    "nonce": nonce, "signature": sign_message(key, f"{owner.address}{compute.did}{nonce}")}).json()
                jobs.append((owner.address, job[0]["jobId"]))

            # One order per client, paid by `payer`, for the client's own consumer key.
            clients = [Account.create() for _ in range(args.clients)]
            fee = requests.get(f"{url}/api/services/initialize", timeout=30, params={
                "documentId": access.did, "serviceId": "0", "consumerAddress": payer.address}).json()["providerFee"]
            orders = [start_order(w3, payer, access.datatoken_address, 0, fee, consumer=c.address) for c in clients]

            per_client = []
            for index, (client, order) in enumerate(zip(clients, orders)):
                key = "0x" + bytes(client.key).hex()
                owner, job_id = jobs[index % len(jobs)]
                paths = []
                for n in range(1, per_client_count + 1):
                    kind = KINDS[(index + n) % len(KINDS)]
                    if kind == "nonce":
                        paths.append((kind, f"/api/services/nonce?userAddress={client.address}"))
                    elif kind == "initialize":
                        paths.append((kind, "/api/services/initialize?" + urlencode({
                            "documentId": access.did, "serviceId": "0", "consumerAddress": client.address})))
                    elif kind == "download":
                        paths.append((kind, "/api/services/download?" + urlencode({
                            "documentId": access.did, "serviceId": "0", "consumerAddress": client.address,
                            "transferTxId": order, "fileIndex": 0, "nonce": n,
                            "signature": sign_message(key, f"{access.did}{n}")})))
                    else:
                        paths.append((kind, "/api/services/compute?" + urlencode({
                            "consumerAddress": owner, "jobId": job_id})))
                per_client.append(paths)
            for owner, job_id in jobs:  # the polled jobs have finished before the clock starts
                while requests.get(f"{url}/api/services/compute", timeout=10, params={
                        "consumerAddress": owner, "jobId": job_id}).json()[0]["status"] != 70:
                    time.sleep(0.2)

            workers = children(provider.pid)
            peak = {"kb": max(rss_kb(p) for p in workers)}
            idle_kb = peak["kb"]
            stop = threading.Event()

            def sample():
                while not stop.is_set():
                    peak["kb"] = max(peak["kb"], max(rss_kb(p) for p in workers))
                    time.sleep(0.2)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            loaded = run_clients(url, per_client, args.seconds)
            stop.set()
            sampler.join()
        finally:
            provider.terminate()
            provider.wait()

    # Baseline: the same clients and gunicorn settings against a trivial Flask app.
    baseline_proc, baseline_url = start_gunicorn("bench.baseline_app:app", dict(os.environ, COMPUTE_ENABLED="false"),
                                                 workers=args.workers)
    try:
        trivial = [[("baseline", "/")] * per_client_count for _ in range(args.clients)]
        baseline = run_clients(baseline_url, trivial, args.baseline_seconds)
    finally:
        baseline_proc.terminate()
        baseline_proc.wait()
    origin.stop()

    everything = [v for values in loaded["samples"].values() for v in values]
    print(f"load test: {args.clients} clients, {args.seconds:.0f} s, gunicorn --workers {args.workers},"
          f" new connection per request, loopback")
    for kind in KINDS:
        print(f"  {kind:14s} {summary(loaded['samples'].get(kind, [1e9]), args.seconds)}")
    print(f"  {'all':14s} {summary(everything, args.seconds)}")
    print(f"  {'baseline GET /':14s} {summary(baseline['samples']['baseline'], args.baseline_seconds)}"
          f"  (trivial Flask app, same settings, {args.baseline_seconds:.0f} s)")
    ratio = (len(everything) / args.seconds) / (len(baseline["samples"]["baseline"]) / args.baseline_seconds)
    print(f"  provider mix / baseline throughput: {ratio:.2f}x")
    print(f"  worker RSS: {idle_kb / 1024:.0f} MB before, peak {peak['kb'] / 1024:.0f} MB during the run")
    errors = loaded["errors"]
    print(f"  errors: {sum(errors.values())} {errors if errors else ''}")
    row(f"load: baseline GET / ({args.clients} clients)", **figures(baseline["samples"]["baseline"], args.baseline_seconds))
    for kind in KINDS:
        row(f"load: {kind} ({args.clients} clients, mixed)", **figures(loaded["samples"].get(kind, [1e9]), args.seconds))
    row(f"load: all ({args.clients} clients, {args.seconds:.0f} s)", **figures(everything, args.seconds),
        ratio=round(ratio, 2), rss_mb=round(peak["kb"] / 1024), note=f"{sum(errors.values())} errors")
    return 1 if errors or baseline["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
