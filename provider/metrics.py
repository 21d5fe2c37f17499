"""Prometheus metrics.

Request counters and latency histograms are recorded per process. Under gunicorn the
launcher sets PROMETHEUS_MULTIPROC_DIR, so every worker writes its samples to files there and
`/metrics`, whichever worker answers, adds them all up (prometheus_client's multiprocess mode).

Job counts, queue length and the indexer's lag are read from their source at scrape time
(`StateCollector`): the job store and the chain index are shared, so any process can report
them, and nothing has to be kept in sync.
"""
from __future__ import annotations

import logging
import os
from typing import Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from provider.compute import status as st

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

REQUESTS = Counter(
    "provider_http_requests_total", "HTTP requests answered, by endpoint, method and status.",
    ["endpoint", "method", "status"])
LATENCY = Histogram(
    "provider_http_request_duration_seconds", "Time to answer a request (streamed bodies: until the "
    "handler returned).", ["endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0))
RATE_LIMITED = Counter("provider_rate_limited_total", "Requests refused by a rate limit.", ["scope"])
_children: dict[tuple[str, str, int], tuple] = {}


def record_request(endpoint: str, method: str, status: int, seconds: float) -> None:
    """Count one answered request. The labelled children are looked up once per label set:
    prometheus_client's `labels()` validates and locks on every call."""
    key = (endpoint, method, status)
    children = _children.get(key)
    if children is None:
        children = (REQUESTS.labels(endpoint=endpoint, method=method, status=str(status)),
                    LATENCY.labels(endpoint=endpoint))
        _children[key] = children
    children[0].inc()
    children[1].observe(seconds)


ENGINE_ERRORS = Counter("provider_compute_engine_errors_total",
                        "Compute engine failures: scheduler ticks that raised.", ["engine"])


class StateCollector(Collector):
    """Gauges read at scrape time from the job store and the chain index."""

    def __init__(self, services) -> None:
        self.services = services

    def collect(self) -> Iterable:
        yield from self._jobs()
        yield from self._index_lag()

    def _jobs(self):
        jobs = GaugeMetricFamily("provider_compute_jobs", "Compute jobs kept, by status and environment.",
                                 labels=["status", "environment"])
        queue = GaugeMetricFamily("provider_compute_queue_length", "Jobs waiting for a free slot, by environment.",
                                  labels=["environment"])
        compute = self.services.compute
        if compute is not None:
            counts: dict[tuple[str, str], int] = {}
            queued: dict[str, int] = {env.id: 0 for env in self.services.settings.compute.environments}
            try:
                for job in compute.jobs.with_status(list(st.TEXTS)):
                    key = (str(job.status), job.environment)
                    counts[key] = counts.get(key, 0) + 1
                    if job.status == st.QUEUED:
                        queued[job.environment] = queued.get(job.environment, 0) + 1
            except Exception as exc:
                log.warning("metrics: job store unavailable: %s", type(exc).__name__)
            for (code, env), count in sorted(counts.items()):
                jobs.add_metric([code, env], count)
            for env, count in sorted(queued.items()):
                queue.add_metric([env], count)
        yield jobs
        yield queue

    def _index_lag(self):
        lag = GaugeMetricFamily("provider_chain_index_lag_blocks",
                                "Blocks between the chain head and the last indexed block.", labels=["chain_id"])
        up = GaugeMetricFamily("provider_chain_up", "1 if the chain's RPC answered this scrape.", labels=["chain_id"])
        for indexer in self.services.indexers:
            chain_id = str(indexer.chain.chain_id)
            try:
                head = indexer.chain.w3.eth.block_number
            except Exception:
                up.add_metric([chain_id], 0)
                continue
            up.add_metric([chain_id], 1)
            lag.add_metric([chain_id], max(0, head - indexer.last_indexed_block()))
        yield lag
        yield up


def render(services) -> bytes:
    """The exposition text: this process's (or every worker's) samples plus the state gauges."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        from prometheus_client import REGISTRY
        registry.register(_Forward(REGISTRY))
    registry.register(StateCollector(services))
    return generate_latest(registry)


class _Forward(Collector):
    """Exposes a registry's metrics through another registry."""

    def __init__(self, source) -> None:
        self.source = source

    def collect(self):
        return self.source.collect()
