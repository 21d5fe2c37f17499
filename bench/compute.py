"""Compute benchmark (local sandbox engine).

1. For a trivial algorithm: time from the start request to status 70 through the provider,
   against running the same script directly in the same sandbox (same run), median of N.
2. Jobs per minute with 20 jobs queued on an environment of 2 slots.
3. The same through the resource-priced path of ocean.js 8 (escrow pre-checks and a lock at
   start, a claim at the end: status 70 is reported once the claim is mined), against the
   classic path in the same run: the escrow's overhead per job, start request and end to end.

    .venv/bin/python bench/compute.py [--runs 5] [--queued 20]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.core import MNEMONIC  # noqa: E402
from bench.report import row  # noqa: E402
from provider.app import create_app  # noqa: E402
from provider.auth.signatures import sign_message  # noqa: E402
from provider.chain.client import make_web3  # noqa: E402
from provider.chain.contracts import abi  # noqa: E402
from provider.chain.tx import send_transaction  # noqa: E402
from provider.compute.pipeline import JobPaths  # noqa: E402
from provider.compute.contract import entrypoint_for  # noqa: E402
from provider.compute.sandbox import Limits, SandboxSpec, run_sandboxed, sandbox_identity  # noqa: E402
from provider.config import load_settings  # noqa: E402
from provider.devtools.anvil import Anvil, free_port  # noqa: E402
from provider.devtools.consumer import mint, start_order  # noqa: E402
from provider.devtools.deploy import dev_accounts, ensure_deployed  # noqa: E402
from provider.devtools.publisher import Publisher  # noqa: E402
from provider.devtools.origin import OriginServer  # noqa: E402

CODE = "open('/data/outputs/out.txt', 'w').write('ok')\n"
CONTAINER = {"entrypoint": "python3 $ALGO", "image": "python", "tag": "3.11", "checksum": "sha256:" + "00" * 32}
ENVS = """
[compute.env.bench]
cpu = 1
ram_gb = 0.5
disk_gb = 0.1
max_job_duration = 60
max_jobs = 2
price_per_minute = 0
runtimes = python:3*=python3:/usr/bin/python3

[compute.env.bench-priced]
cpu = 1
ram_gb = 0.5
disk_gb = 0.1
max_job_duration = 60
max_jobs = 2
max_jobs_per_consumer = 2
price_per_minute = 1
resources = cpu:total=2,min=1,max=1; ram:total=1,min=0.5,max=0.5; disk:total=0.2,min=0.1,max=0.1
prices = cpu=1
runtimes = python:3*=python3:/usr/bin/python3
"""


def direct_runs(base: Path, runs: int) -> list[float]:
    uid, gid = sandbox_identity("ocean-c2d")
    times = []
    for i in range(runs):
        paths = JobPaths(base / f"direct-{i}")
        paths.create(uid, gid)
        algorithm = paths.data / "transformations" / "algorithm"
        algorithm.write_text(CODE)
        os.chmod(algorithm, 0o755)
        spec = SandboxSpec(paths.data, entrypoint_for("python3 $ALGO"), {"python3": "/usr/bin/python3"}, {}, False,
                           Limits(512 * 2**20, 1, 128, 60, 100 * 2**20), uid, gid)
        start = time.perf_counter()
        run_sandboxed(spec, f"bench-{i}", paths.provider_logs / "algorithm.log", lambda: False)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--queued", type=int, default=20)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="bench-compute-", dir="/tmp"))
    os.chmod(base, 0o711)
    (base / "envs.ini").write_text(ENVS)
    origin = OriginServer()
    origin.add("data.csv", b"x,y\n1,2\n", "text/csv")
    with Anvil(free_port(), 8996, MNEMONIC) as anvil:
        w3 = make_web3(anvil.url)
        contracts = ensure_deployed(w3, MNEMONIC, base / "address.json")
        accounts = dev_accounts(MNEMONIC)
        settings = load_settings({"NETWORK_URL": anvil.url, "ADDRESS_FILE": str(base / "address.json"),
                                  "STORAGE_PATH": str(base / "p.db"), "LOG_LEVEL": "WARNING",
                                  "COMPUTE_ENVIRONMENTS_FILE": str(base / "envs.ini"),
                                  "COMPUTE_JOBS_PATH": str(base / "jobs"), "COMPUTE_SCHEDULER_INTERVAL": "0.05",
                                  "INDEXER_ENABLED": "false"})
        app = create_app(settings, start_background=False)
        services = app.extensions["provider"]
        services.engine.start()
        client = app.test_client()
        provider_key = "0x" + bytes(accounts[8].key).hex()
        publisher = Publisher(w3, contracts["ERC721Factory"], provider_key, "http://127.0.0.1:8030")
        consumer = accounts[2]
        consumer_key = "0x" + bytes(consumer.key).hex()
        asset = publisher.publish(accounts[1], [{"type": "url", "url": origin.url + "/files/data.csv", "method": "GET"}],
                                  service_type="compute", compute={"allowRawAlgorithm": True})
        mint(w3, accounts[1], asset.datatoken_address, consumer.address, 1000 * 10**18)
        algorithm = {"meta": {"rawcode": CODE, "container": CONTAINER}}
        nonce = [int(time.time() * 1000)]

        def ordered_start_body() -> dict:
            init = client.post("/api/services/initializeCompute", json={
                "datasets": [{"documentId": asset.did, "serviceId": "1"}], "algorithm": algorithm,
                "compute": {"env": "bench", "validUntil": int(time.time()) + 600},
                "consumerAddress": consumer.address}).get_json()
            tx = start_order(w3, consumer, asset.datatoken_address, 0, init["datasets"][0]["providerFee"],
                             consumer=accounts[8].address)
            nonce[0] += 1
            return {"dataset": {"documentId": asset.did, "serviceId": "1", "transferTxId": tx}, "algorithm": algorithm,
                    "environment": "bench", "consumerAddress": consumer.address, "nonce": nonce[0],
                    "signature": sign_message(consumer_key, f"{consumer.address}{asset.did}{nonce[0]}")}

        def wait_finished(job_ids: list[str], settled: bool = False) -> None:
            pending = set(job_ids)
            while pending:
                for job_id in list(pending):
                    job = services.compute.jobs.get(job_id)
                    if job.status >= 60 and job.date_finished and (not settled or job.spec.get("settled")):
                        pending.discard(job_id)
                time.sleep(0.02)

        def timed(body_of, path: str, settled: bool = False) -> tuple[list[float], list[float], float]:
            """(start request latencies, start -> 70 times, seconds for `queued` jobs at once)."""
            requests_, through_ = [], []
            for _ in range(args.runs):
                body = body_of()
                start = time.perf_counter()
                reply = client.post(path, json=body)
                requests_.append(time.perf_counter() - start)
                wait_finished([reply.get_json()[0]["jobId"]], settled)
                through_.append(time.perf_counter() - start)
            bodies = [body_of() for _ in range(args.queued)]
            start = time.perf_counter()
            ids = [client.post(path, json=b).get_json()[0]["jobId"] for b in bodies]
            wait_finished(ids, settled)
            return requests_, through_, time.perf_counter() - start

        # the resource-priced path: escrow funded once, an order per job as the client makes it
        escrow_address, ocean = contracts["Escrow"], contracts["Ocean"]
        token = w3.eth.contract(address=ocean, abi=abi("OceanToken"))
        escrow = w3.eth.contract(address=escrow_address, abi=abi("Escrow"))
        send_transaction(w3, consumer, token.functions.approve(escrow_address, 10**24))
        send_transaction(w3, consumer, escrow.functions.deposit(ocean, 1000 * 10**18))
        send_transaction(w3, consumer, escrow.functions.authorize(ocean, accounts[8].address, 500 * 10**18, 7200, 100))

        def priced_start_body() -> dict:
            request = {"datasets": [{"documentId": asset.did, "serviceId": "1"}], "algorithm": algorithm,
                       "environment": "bench-priced", "consumerAddress": consumer.address, "maxJobDuration": 60,
                       "payment": {"chainId": 8996, "token": ocean}}
            init = client.post("/api/services/initializeCompute", json=request).get_json()
            tx = start_order(w3, consumer, asset.datatoken_address, 0, init["datasets"][0]["providerFee"],
                             consumer=accounts[8].address)
            nonce[0] += 1
            request["datasets"][0]["transferTxId"] = tx
            return request | {"nonce": str(nonce[0]),
                              "signature": sign_message(consumer_key, f"{consumer.address}{nonce[0]}startCompute")}

        classic_requests, through, batch = timed(ordered_start_body, "/api/services/compute")
        priced_requests, priced_through, priced_batch = timed(priced_start_body, "/api/services/compute",
                                                              settled=True)
        services.engine.shutdown()
    direct = direct_runs(base, args.runs)
    origin.stop()
    d, t = statistics.median(direct), statistics.median(through)
    print(f"trivial algorithm, median of {args.runs} (scheduler interval 0.05 s)")
    print(f"  directly in the sandbox (bwrap + cgroup + python3)  {d * 1000:7.0f} ms")
    print(f"  start request -> status 70 through the provider     {t * 1000:7.0f} ms   ({t / d:.1f}x direct;"
          f" provider overhead {1000 * (t - d):.0f} ms)")
    print(f"  {args.queued} jobs queued on 2 slots: {batch:.1f} s, {args.queued / batch * 60:.0f} jobs/minute")
    cr, pr, pt = statistics.median(classic_requests), statistics.median(priced_requests), statistics.median(priced_through)
    print("resource-priced (ocean.js 8, escrow lock at start, claim before 70) against classic, same run")
    print(f"  start request            classic {cr * 1000:6.0f} ms   escrow {pr * 1000:6.0f} ms   ({pr / cr:.2f}x)")
    print(f"  start -> 70 (settled)    classic {t * 1000:6.0f} ms   escrow {pt * 1000:6.0f} ms   ({pt / t:.2f}x;"
          f" +{1000 * (pt - t):.0f} ms per job)")
    print(f"  {args.queued} queued on 2 slots    classic {args.queued / batch * 60:4.0f} jobs/min   escrow "
          f"{args.queued / priced_batch * 60:4.0f} jobs/min ({batch / priced_batch:.2f}x)")
    row("trivial algorithm directly in the sandbox (baseline)", job_s=round(d, 3))
    row("compute start -> status 70 through the provider", job_s=round(t, 3), ratio=round(t / d, 1))
    row(f"{args.queued} queued jobs on 2 slots", job_s=round(batch / args.queued, 3),
        note=f"{args.queued / batch * 60:.0f} jobs/minute")
    row("escrow-paid start -> 70 (lock + claim)", job_s=round(pt, 3), ratio=round(pt / t, 2),
        note="ratio against the classic path")
    row(f"{args.queued} queued escrow-paid jobs on 2 slots", job_s=round(priced_batch / args.queued, 3),
        note=f"{args.queued / priced_batch * 60:.0f} jobs/minute")


if __name__ == "__main__":
    main()
