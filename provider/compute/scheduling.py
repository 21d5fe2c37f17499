"""Scheduling and outcomes (pure), the same for every engine: which queued jobs start now, and
what status and error a job ends with when a phase fails or its algorithm ends.

Engines differ only in how they run a phase (a sandbox on this host, Jobs on a cluster); what
a queue, a failed provisioning or an algorithm's termination means is decided here, once.
"""
from __future__ import annotations

from decimal import Decimal
from enum import Enum
from typing import Any, Iterable

from provider.compute import status as st
from provider.errors import ProviderError

STOPPED_BY_OWNER = "stopped by its owner"
STOPPED_BEFORE_START = "stopped before it started"
GIB = 1024 ** 3


class FailedPhase(Enum):
    """Which input could not be provisioned: it decides the status (31 or 32)."""
    DATA = "data"
    ALGORITHM = "algorithm"


class PhaseFailed(ProviderError):
    """A phase cannot complete; the message is shown to the job's owner."""

    def __init__(self, message: str, phase: FailedPhase = FailedPhase.DATA):
        super().__init__(message)
        self.phase = phase


class Cancelled(ProviderError):
    """The job must stop now: its owner asked, or its phase ran past its deadline."""


def held_resources(job: Any, env: Any) -> dict[str, Decimal]:
    """What a job holds while it is queued or running: its grant (resource-priced and free jobs),
    or the environment's per-job cpu, ram and disk (classic jobs)."""
    granted = (job.spec or {}).get("resources")
    if isinstance(granted, dict):
        return {rid: Decimal(str(amount)) for rid, amount in granted.items()}
    return dict(env.classic_grant.amounts)


def in_use(jobs: Iterable[Any], env: Any) -> dict[str, Decimal]:
    total: dict[str, Decimal] = {}
    for job in jobs:
        if job.environment == env.id:
            for rid, amount in held_resources(job, env).items():
                total[rid] = total.get(rid, Decimal(0)) + amount
    return total


def is_free_job(job: Any) -> bool:
    return bool((job.spec or {}).get("free"))


def admit(queued: Iterable[Any], active: Iterable[Any], environments: Iterable[Any]) -> list[Any]:
    """Queued jobs to start now: oldest first, while their environment has a free slot and the
    resources they were granted (free jobs: also a free-tier slot). The queue is first come,
    first served: a job that does not fit holds back the ones behind it, so a large job is not
    starved by a stream of small ones. An owner already running the environment's per-consumer
    limit waits without holding anyone back: no consumer takes every slot. Jobs whose owner
    asked to stop are not started (see `stopped_while_queued`)."""
    active = list(active)
    started = []
    for env in environments:
        running = [job for job in active if job.environment == env.id]
        slots = env.max_jobs - len(running)
        free_slots = (env.free_tier.max_jobs if env.free_tier else 0) - sum(1 for j in running if is_free_job(j))
        used = in_use(running, env)
        totals = {r.id: r.total for r in env.offered_resources}
        waiting = sorted((job for job in queued if job.environment == env.id and not job.stop_requested),
                         key=lambda job: job.date_created)
        per_owner: dict[str, int] = {}
        for job in running:
            per_owner[job.owner.lower()] = per_owner.get(job.owner.lower(), 0) + 1
        for job in waiting:
            if per_owner.get(job.owner.lower(), 0) >= env.consumer_job_limit:
                continue
            needs = held_resources(job, env)
            fits = all(used.get(rid, Decimal(0)) + amount <= totals.get(rid, amount) for rid, amount in needs.items())
            if slots <= 0 or not fits or (is_free_job(job) and free_slots <= 0):
                break
            started.append(job)
            per_owner[job.owner.lower()] = per_owner.get(job.owner.lower(), 0) + 1
            slots -= 1
            free_slots -= is_free_job(job)
            for rid, amount in needs.items():
                used[rid] = used.get(rid, Decimal(0)) + amount
    return started


def assign_gpus(job: Any, env: Any, active: Iterable[Any]) -> list[str]:
    """The device files of the GPUs a starting job gets: as many as its `gpu` grant, none of
    them held by another job of the environment. Empty when it holds no GPU or the environment
    names no devices (on Kubernetes the device plugin picks them)."""
    count = int(held_resources(job, env).get("gpu", 0))
    if count <= 0 or not env.gpu_devices:
        return []
    taken = {device for other in active if other.environment == env.id and other.job_id != job.job_id
             for device in (other.spec or {}).get("devices") or []}
    free = [device for device in env.gpu_devices if device not in taken]
    return free[:count] if len(free) >= count else []


def expired_in_queue(queued: Iterable[Any], now: float) -> list[Any]:
    """Queued jobs that waited longer than the queueMaxWaitTime they asked for (0: no limit)."""
    return [job for job in queued
            if (job.spec or {}).get("queueMaxWaitTime") and now - job.date_created > job.spec["queueMaxWaitTime"]]


def stopped_while_queued(queued: Iterable[Any]) -> list[Any]:
    return [job for job in queued if job.stop_requested]


def provisioning_outcome(failure: PhaseFailed | Cancelled) -> tuple[int, str]:
    """(status, error) of a job whose provisioning ended early."""
    message = str(failure.user_message)
    if isinstance(failure, Cancelled) and message == STOPPED_BY_OWNER:
        return st.FINISHED, STOPPED_BY_OWNER
    if isinstance(failure, PhaseFailed) and failure.phase is FailedPhase.ALGORITHM:
        return st.ALGORITHM_PROVISIONING_FAILED, message
    return st.DATA_PROVISIONING_FAILED, message


def termination_error(termination: dict[str, Any], reason: str | None = None) -> str | None:
    """The error text of an algorithm's end, None when it succeeded. `reason`: what the engine
    itself observed (a stop request, a deadline), which wins."""
    if reason:
        return reason
    if termination.get("timedOut"):
        return "the algorithm ran past its time limit"
    if termination.get("OOMKilled"):
        return "the algorithm ran out of memory"
    if termination.get("stopped"):
        return STOPPED_BY_OWNER
    if termination.get("exitCode") not in (0, None):
        return f"the algorithm exited with code {termination.get('exitCode')}"
    return None


def outcome_summary(status: int, termination: dict[str, Any] | None, error: str | None) -> str:
    """One word or phrase an operator reads for how a job ended ("Job finished" alone hides a
    failed algorithm): ok, failed: <why>, or the live status."""
    if not st.is_terminal(status):
        return st.text(status).strip().lower()
    termination = termination or {}
    why = error or termination_error(termination)
    if status == st.FINISHED and why is None:
        return "ok"
    return f"failed: {why or st.text(status).strip()}"

