"""Scheduling and outcomes (pure), the same for every engine: which queued jobs start now, and
what status and error a job ends with when a phase fails or its algorithm ends.

Engines differ only in how they run a phase (a sandbox on this host, Jobs on a cluster); what
a queue, a failed provisioning or an algorithm's termination means is decided here, once.
"""
from __future__ import annotations

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


def admit(queued: Iterable[Any], active: Iterable[Any], environments: Iterable[Any]) -> list[Any]:
    """Queued jobs to start now: oldest first, while their environment has free slots. Jobs whose
    owner asked to stop are not started (see `stopped_while_queued`)."""
    active = list(active)
    started = []
    for env in environments:
        free = env.max_jobs - sum(1 for job in active if job.environment == env.id)
        waiting = sorted((job for job in queued if job.environment == env.id and not job.stop_requested),
                         key=lambda job: job.date_created)
        started += waiting[:max(free, 0)]
    return started


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

