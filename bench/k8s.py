"""Kubernetes engine benchmark against the in-process API server (kmock, real HTTP).

For N concurrent jobs (1, 10 and 30 by default) the benchmark plays the Job controller and
drives every job through fetch -> algorithm -> publish -> finished, and reports:
- manifest build time per job (pure builders, all three phases);
- Kubernetes API calls per job (counted at the adapter);
- median time of one orchestrator tick per live job, and ticks per phase transition.

    .venv/bin/python bench/k8s.py [--jobs 1 10 30]

The emulator finds objects by scanning: one read takes about 3 ms with 1 stored object and
34 ms with 100, so tick time per job grows with N here; API calls per job are our own cost.
100 jobs take about an hour on the emulator, hence the smaller default.
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import kmock  # noqa: E402

from bench.report import row  # noqa: E402
from kubernetes import client  # noqa: E402

from provider.compute import status as st  # noqa: E402
from provider.compute.jobs import Job, SqliteJobStore  # noqa: E402
from provider.compute.k8s.cluster import ClusterApi  # noqa: E402
from provider.compute.k8s.manifests import JobResources, job_objects, object_name  # noqa: E402
from provider.config import ClusterSettings  # noqa: E402
from provider.compute.k8s.orchestrator import KubernetesJobEngine  # noqa: E402
from provider.config import load_settings  # noqa: E402
from provider.stores.sqlite import Database  # noqa: E402

ENVS = """
[compute.env.bench]
cpu = 1
ram_gb = 1
disk_gb = 1
max_job_duration = 600
max_jobs = 1000
price_per_minute = 0
runtimes = python:3*=python3:/usr/bin/python3
"""


class Staged:
    def provision(self, spec, paths, disk_bytes, check):
        (paths.data / "inputs" / "x").mkdir(parents=True, exist_ok=True)


def start_emulator() -> str:
    state = {}

    def serve():
        async def main():
            async with kmock.KubernetesEmulator() as emu, kmock.Server(emu) as srv:
                state["url"] = str(srv.url).rstrip("/")
                await asyncio.Event().wait()
        asyncio.run(main())

    threading.Thread(target=serve, daemon=True).start()
    while "url" not in state:
        time.sleep(0.01)
    return state["url"]


def complete(api: ClusterApi, job_id: str, phase: str) -> None:
    api.batch.patch_namespaced_job_status(object_name(job_id, phase), api.namespace,
                                          {"status": {"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}})


def run(n: int, url: str, base: Path) -> dict:
    (base / "envs.ini").write_text(ENVS)
    settings = load_settings({"STORAGE_PATH": str(base / f"p{n}.db"), "COMPUTE_ENVIRONMENTS_FILE": str(base / "envs.ini"),
                              "COMPUTE_JOBS_PATH": str(base / f"jobs{n}"), "ADDRESS_FILE": str(base / "none.json")})
    store = SqliteJobStore(Database(settings.storage.sqlite_path))
    api = ClusterApi(client.ApiClient(client.Configuration(host=url)), f"bench-{uuid.uuid4().hex[:6]}")
    engine = KubernetesJobEngine(settings.compute, ClusterSettings(namespace=api.namespace), store, api, Staged())
    controller = ClusterApi(client.ApiClient(client.Configuration(host=url)), api.namespace)  # not counted
    ids = [uuid.uuid4().hex for _ in range(n)]
    for job_id in ids:
        store.create(Job(job_id, "0x" + "11" * 20, "did:op:x", "raw", "0x" + job_id, "bench", 8996, st.QUEUED,
                         time.time(), None, None, None, 60, 0, None,
                         {"inputs": [{"documentId": "did:op:x"}], "algorithm": {},
                          "container": {"entrypoint": "python3 $ALGO", "image": "python",
                                        "checksum": "sha256:" + "ab" * 32}, "runtime": {}, "network": False},
                         None, None, None))
    tick_times, ticks = [], 0

    def tick():
        nonlocal ticks
        start = time.perf_counter()
        engine.tick()
        tick_times.append((time.perf_counter() - start) / max(len(store.with_status(st.ACTIVE)), 1))
        ticks += 1

    def drive(until_status, phase=None):
        pending = set(ids)
        while pending:
            tick()
            for job_id in list(pending):
                job = store.get(job_id)
                if phase and controller.job(object_name(job_id, phase)) is not None and job.status != until_status:
                    complete(controller, job_id, phase)
                if job.status == until_status:
                    pending.discard(job_id)

    calls_before = api.calls
    start = time.perf_counter()
    drive(st.RUNNING, "fetch")
    drive(st.PUBLISHING, "algorithm")
    drive(st.FINISHED, "publish")
    total = time.perf_counter() - start
    build = []
    for job_id in ids[:50]:
        t = time.perf_counter()
        for phase in ("fetch", "algorithm", "publish"):
            job_objects(job_id, phase, token="t", cluster=ClusterSettings(), resources=JobResources(1, 2**30, 2**30),
                        container={"image": "python", "checksum": "sha256:" + "ab" * 32}, entrypoint="x")
        build.append(time.perf_counter() - t)
    # the orchestrator's own calls only: the benchmark's controller has its own adapter
    return {"jobs": n, "seconds": total, "calls_per_job": (api.calls - calls_before) / n,
            "tick_ms_per_job": 1000 * statistics.median(tick_times), "ticks": ticks,
            "build_ms": 1000 * statistics.median(build)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 10, 30])
    args = parser.parse_args()
    url = start_emulator()
    base = Path(tempfile.mkdtemp(prefix="bench-k8s-"))
    results = [run(n, url, base) for n in args.jobs]
    print("Kubernetes engine against kmock over HTTP (test plays the Job controller)")
    print(f"  {'jobs':>5} {'build ms/job':>13} {'API calls/job':>14} {'tick ms/job':>12} {'ticks':>6} {'total s':>8}")
    for r in results:
        print(f"  {r['jobs']:>5} {r['build_ms']:>13.2f} {r['calls_per_job']:>14.1f} {r['tick_ms_per_job']:>12.1f}"
              f" {r['ticks']:>6} {r['seconds']:>8.1f}")
        row(f"k8s orchestrator, {r['jobs']} concurrent jobs (kmock)", job_s=round(r["seconds"], 1),
            p50_ms=round(r["tick_ms_per_job"], 1),
            note=f"{r['calls_per_job']:.0f} API calls/job; p50 = tick ms per job; build {r['build_ms']:.2f} ms/job")


if __name__ == "__main__":
    main()
