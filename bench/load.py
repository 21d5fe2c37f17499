"""A bounded HTTP load generator on loopback: N client processes, each for a fixed time.

Each client sends its own list of requests in order (so signed requests can carry increasing
nonces) and records per-request latency. Bounded by both a count and a duration.
"""
from __future__ import annotations

import http.client
import multiprocessing as mp
import statistics
import time
from urllib.parse import urlsplit


def _client(base: str, paths: list[tuple[str, str]], seconds: float, out):
    parts = urlsplit(base)
    latencies, statuses = [], {}
    deadline = time.monotonic() + seconds
    for method, path in paths:
        if time.monotonic() > deadline:
            break
        start = time.perf_counter()
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        conn.request(method, path)
        response = conn.getresponse()
        response.read()
        conn.close()
        latencies.append(time.perf_counter() - start)
        statuses[response.status] = statuses.get(response.status, 0) + 1
    out.put((latencies, statuses))


def run_load(base: str, per_client_paths: list[list[tuple[str, str]]], seconds: float) -> dict:
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    procs = [ctx.Process(target=_client, args=(base, paths, seconds, out)) for paths in per_client_paths]
    start = time.perf_counter()
    for p in procs:
        p.start()
    results = [out.get(timeout=seconds + 120) for _ in procs]
    for p in procs:
        p.join()
    elapsed = time.perf_counter() - start
    latencies = sorted(l for lat, _ in results for l in lat)
    statuses: dict[int, int] = {}
    for _, st in results:
        for code, n in st.items():
            statuses[code] = statuses.get(code, 0) + n
    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
        "statuses": statuses,
    }
