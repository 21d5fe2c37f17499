"""Load test: 64 keep-alive connections for 60 s mixing nonce, initialize, signed download and
compute status against the provider under gunicorn, loaded by wrk (C, so the generator does not
take the CPU it measures). Then each endpoint alone, for the provider's CPU per request of each.
Bounded in time (wrk's duration) and in count (each connection has a fixed list of requests).

Every request must answer 2xx: the run reports the errors it saw and exits 1 if there are any.
The same connections against a trivial Flask app under the same gunicorn settings give the
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
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import requests
from eth_account import Account

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.procs import children, cpu_seconds, rss_kb  # noqa: E402
from bench.core import MNEMONIC, provider_env, start_gunicorn  # noqa: E402
from bench.report import row  # noqa: E402
from bench.wrk import figures as wrk_figures, run_wrk  # noqa: E402
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


def fmt(f: dict) -> str:
    return f"{f['rps']:8.1f} req/s  p50 {f['p50_ms']:7.1f} ms  p99 {f['p99_ms']:7.1f} ms  ({f['count']} requests)"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--baseline-seconds", type=float, default=10)
    parser.add_argument("--phase-seconds", type=float, default=10,
                        help="seconds of each one-endpoint run that measures its CPU per request")
    args = parser.parse_args()
    per_client_count = int(max(args.seconds, args.phase_seconds) * 400)  # time bounds the run, not the list

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

            signed = {client.address: 0 for client in clients}

            def request_for(kind: str, index: int, client, order) -> tuple[str, str, str]:
                owner, job_id = jobs[index % len(jobs)]
                if kind == "nonce":
                    return kind, "GET", f"/api/services/nonce?userAddress={client.address}"
                if kind == "initialize":
                    return kind, "GET", "/api/services/initialize?" + urlencode({
                        "documentId": access.did, "serviceId": "0", "consumerAddress": client.address})
                if kind == "download":
                    signed[client.address] += 1
                    n = signed[client.address]
                    return kind, "GET", "/api/services/download?" + urlencode({
                        "documentId": access.did, "serviceId": "0", "consumerAddress": client.address,
                        "transferTxId": order, "fileIndex": 0, "nonce": n,
                        "signature": sign_message("0x" + bytes(client.key).hex(), f"{access.did}{n}")})
                return kind, "GET", "/api/services/compute?" + urlencode({"consumerAddress": owner, "jobId": job_id})

            def plan(kinds: tuple[str, ...], count: int) -> list[list[tuple[str, str, str]]]:
                """Per client, `count` requests cycling through `kinds` (signed nonces in order)."""
                return [[request_for(kinds[(index + n) % len(kinds)], index, client, order) for n in range(count)]
                        for index, (client, order) in enumerate(zip(clients, orders))]

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
            pids = [provider.pid] + workers
            cpu_before = cpu_seconds(pids)
            loaded = run_wrk(url, plan(KINDS, per_client_count), args.seconds)
            loaded["cpu_ms"] = (cpu_seconds(pids) - cpu_before) * 1000 / max(1, loaded["all"]["count"])
            stop.set()
            sampler.join()
            # One endpoint at a time: the server's CPU per request of each.
            alone = {}
            for kind in KINDS:
                before = cpu_seconds(pids)
                result = run_wrk(url, plan((kind,), int(args.phase_seconds * 300)), args.phase_seconds)
                result["cpu_ms"] = (cpu_seconds(pids) - before) * 1000 / max(1, result["all"]["count"])
                alone[kind] = result
        finally:
            provider.terminate()
            provider.wait()

    # Baseline: the same connections and gunicorn settings against a trivial Flask app.
    baseline_proc, baseline_url = start_gunicorn("bench.baseline_app:app", dict(os.environ, COMPUTE_ENABLED="false"),
                                                 workers=args.workers)
    try:
        base_pids = [baseline_proc.pid] + children(baseline_proc.pid)
        before = cpu_seconds(base_pids)
        baseline = run_wrk(baseline_url, [[("baseline", "GET", "/")] * 1000] * args.clients, args.baseline_seconds)
        baseline["cpu_ms"] = (cpu_seconds(base_pids) - before) * 1000 / max(1, baseline["all"]["count"])
    finally:
        baseline_proc.terminate()
        baseline_proc.wait()
    origin.stop()

    print(f"load test: {args.clients} keep-alive connections (wrk), {args.seconds:.0f} s mixed, gunicorn --workers "
          f"{args.workers}, loopback; CPU = the provider's processes per answered request")
    for kind in KINDS:
        print(f"  {kind:14s} {fmt(loaded['kinds'].get(kind, wrk_figures([], 1)))}")
    print(f"  {'all':14s} {fmt(loaded['all'])}  CPU {loaded['cpu_ms']:.2f} ms/req")
    print(f"  one endpoint at a time ({args.phase_seconds:.0f} s each):")
    for kind in KINDS:
        print(f"    {kind:12s} {fmt(alone[kind]['all'])}  CPU {alone[kind]['cpu_ms']:.2f} ms/req")
    print(f"  {'baseline GET /':14s} {fmt(baseline['all'])}  CPU {baseline['cpu_ms']:.2f} ms/req"
          f"  (trivial Flask app, same settings, {args.baseline_seconds:.0f} s)")
    ratio = loaded["all"]["rps"] / baseline["all"]["rps"]
    print(f"  provider mix / baseline throughput: {ratio:.2f}x")
    print(f"  worker RSS: {idle_kb / 1024:.0f} MB before, peak {peak['kb'] / 1024:.0f} MB during the run")
    errors = dict(loaded["errors"])
    for kind, result in alone.items():
        for key, count in result["errors"].items():
            errors[f"alone: {key}"] = count
    print(f"  errors: {sum(errors.values())} {errors if errors else ''}")
    row(f"load: baseline GET / ({args.clients} clients)", **_figures(baseline["all"]), cpu_ms=round(baseline["cpu_ms"], 2))
    for kind in KINDS:
        row(f"load: {kind} ({args.clients} clients, alone)", **_figures(alone[kind]["all"]),
            cpu_ms=round(alone[kind]["cpu_ms"], 2))
    row(f"load: all ({args.clients} clients, {args.seconds:.0f} s, mixed)", **_figures(loaded["all"]),
        cpu_ms=round(loaded["cpu_ms"], 2), ratio=round(ratio, 2), rss_mb=round(peak["kb"] / 1024),
        note=f"{sum(errors.values())} errors")
    return 1 if errors or baseline["errors"] else 0


def _figures(f: dict) -> dict:
    return {"rps": f["rps"], "p50_ms": f["p50_ms"], "p99_ms": f["p99_ms"]}

if __name__ == "__main__":
    sys.exit(main())
