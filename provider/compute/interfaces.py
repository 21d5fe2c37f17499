"""The compute engine interface, one per backend (`compute.engine = local | kubernetes`).

The compute service admits jobs into the job store; an engine advances them through the same
phases (provision -> run -> publish) and status codes, and keeps each job's folder (results,
logs) where `paths(job_id)` says.
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

    def paths(self, job_id: str) -> JobPaths:
        """The job's folder on the provider (results and logs)."""

    def delete_files(self, job_id: str) -> None:
        """Remove everything the job left, on the provider and in the backend."""
