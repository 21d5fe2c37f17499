"""The compute engine interface, one per backend (`compute.engine = local | kubernetes`).

The compute service admits jobs into the job store; an engine advances them through the same
phases (provision -> run -> publish) and status codes, and keeps each job's folder (results,
logs) where `paths(job_id)` says. Both engines share the tick (`provider.compute.base.JobEngine`)
and differ only in their adapter: `LocalSandboxEngine` (bubblewrap on this host) and
`KubernetesJobEngine` (Jobs on a cluster).
"""
from __future__ import annotations

from typing import Protocol, runtime_checkable

from provider.compute.pipeline import JobPaths


@runtime_checkable
class ComputeEngine(Protocol):
    def start(self) -> None:
        """Begin advancing jobs in the background."""

    def shutdown(self, grace: float = 0.0) -> None:
        """Stop advancing jobs (running work is left to the next holder of the lease)."""

    def tick(self) -> bool:
        """One scheduling round; False when another process holds the lease."""

    def ready(self) -> bool:
        """Can this engine run jobs now (bubblewrap present; the cluster's API answers)?"""

    def why_not_runnable(self) -> str | None:
        """Why the host cannot run jobs safely (no cgroups, not root), or None."""

    def paths(self, job_id: str) -> JobPaths:
        """The job's folder on the provider (results and logs)."""

    def delete_files(self, job_id: str) -> None:
        """Remove everything the job left, on the provider and in the backend."""

    def check_phase_token(self, job_id: str, phase: str, token: str) -> bool:
        """True once for the one-time token of a job's fetch or publish pod (engines without
        pods accept none)."""

    def output_budget(self, job_id: str) -> int:
        """Bytes of outputs and logs the job may hand back (its environment's disk)."""
