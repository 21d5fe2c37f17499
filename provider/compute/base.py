"""What every engine shares: the tick loop, and one tick's skeleton around the engine's adapter.

A tick, on the process that holds the engine's lease:
1. ends queued jobs whose owner asked to stop (`scheduling.stopped_while_queued`);
2. starts queued jobs while their environment has free slots (`scheduling.admit`), moving each
   to "configuring" with a compare-and-set, so two processes can never both start one;
3. lets the adapter advance every active job (`_advance`): a sandbox on this host, or Jobs on
   a cluster;
4. deletes finished jobs past their environment's storage expiry.

Engines differ only in the hooks: how the lease is held, what starting a job means, how an
active job moves on, and what cleaning up after a job removes.
"""
from __future__ import annotations

import logging
import shutil
import threading
import time

from provider.compute import status as st
from provider.compute.environments import Environment
from provider.compute.jobs import Job, JobStore
from provider.compute.output_gate import OutputPolicy, gate
from provider.compute.pipeline import JobPaths
from provider.compute.scheduling import (
    GIB, STOPPED_BEFORE_START, admit, assign_gpus, expired_in_queue, held_resources, stopped_while_queued,
)
from provider.config import ComputeSettings
from provider.metrics import ENGINE_ERRORS

log = logging.getLogger(__name__)


class TickingEngine:
    """Calls `tick()` every `scheduler_interval` in a daemon thread until `shutdown()`."""

    thread_name = "compute-engine"

    def __init__(self, settings: ComputeSettings):
        self.settings = settings
        self._stop = threading.Event()
        self._wake = threading.Event()  # set by a watcher to tick before the interval is over
        self._thread: threading.Thread | None = None

    def tick(self) -> bool:
        raise NotImplementedError

    def paths(self, job_id: str) -> JobPaths:
        return JobPaths(self.settings.jobs_path / job_id)

    def environment(self, env_id: str) -> Environment | None:
        return self.settings.environment(env_id)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name=self.thread_name, daemon=True)
            self._thread.start()

    def shutdown(self, grace: float = 0.0) -> None:
        """Stop ticking, give running work up to `grace` seconds to end, then let go."""
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout=5)
        self._drain(grace)
        self._released()

    def _drain(self, grace: float) -> None:
        """Hook: wait (at most `grace` seconds) for work this process runs."""

    def _released(self) -> None:
        """Hook: give up whatever the engine holds (a lease) once it has stopped ticking."""

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:
                ENGINE_ERRORS.labels(engine=self.thread_name).inc()
                log.exception("%s tick failed", self.thread_name)
            self._wake.wait(self.settings.scheduler_interval)
            self._wake.clear()


class JobEngine(TickingEngine):
    """The tick every engine runs; subclasses are the adapters (`_hold_lease`, `_started`,
    `_advance`, `_cleanup`)."""

    store: JobStore
    holder: str
    settlement = None   # a compute.settlement.Settlement when resource-priced jobs are paid through escrow

    def tick(self, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        if not self._hold_lease(now):
            return False
        live = self.store.with_status([st.QUEUED, *st.ACTIVE])  # one read of the job records per tick
        queued = [job for job in live if job.status == st.QUEUED]
        active = [job for job in live if job.status in st.ACTIVE]
        for job in stopped_while_queued(queued):
            self.store.update(job.job_id, expect_status=st.QUEUED, status=st.FINISHED, error=STOPPED_BEFORE_START,
                              results=[])
        expired = expired_in_queue(queued, now)
        for job in expired:
            self.store.update(job.job_id, expect_status=st.QUEUED, status=st.EXPIRED_IN_QUEUE, results=[],
                              error=f"waited longer than its queueMaxWaitTime ({job.spec['queueMaxWaitTime']} s)")
        queued = [job for job in queued if not job.stop_requested and job not in expired]
        for job in admit(queued, active, self.settings.environments):
            if self.store.update(job.job_id, expect_status=st.QUEUED, status=st.CONFIGURING, runner=self.holder,
                                 date_started=now, phase_deadline=now + self.settings.provision_timeout):
                started = self.store.get(job.job_id)
                env = self.environment(started.environment)
                devices = assign_gpus(started, env, active) if env else []
                if devices:  # which GPUs it holds, so no other job is given them
                    started.spec = dict(started.spec, devices=devices)
                    self.store.update(job.job_id, spec=started.spec)
                active.append(started)
                self._started(started)
        self._advance(active, now)
        for job in self.store.expired(now, self._expiry_of):
            if self.settlement is not None and not self.settlement.settled(job):
                continue  # its payment first: the record is what the claim is made from
            self.delete_files(job.job_id)
            self.store.delete(job.job_id)
        if self.settlement is not None:
            self.settlement.run(now)
        return True

    # ---- adapter hooks -------------------------------------------------------------------

    def _hold_lease(self, now: float) -> bool:
        """Take or renew the engine's lease; False when another process holds it."""
        raise NotImplementedError

    def _started(self, job: Job) -> None:
        """A job was just admitted (status configuring, this process its runner)."""

    def _advance(self, active: list[Job], now: float) -> None:
        """Move every active job on by one step."""
        raise NotImplementedError

    def _cleanup(self, job_id: str) -> None:
        """Remove what a job left in the backend once it has ended."""

    # ---- shared --------------------------------------------------------------------------

    def _finish(self, job_id: str, status: int, **changes) -> None:
        if status == st.FINISHED:
            status, changes = self._gated(job_id, changes)
        if self.settlement is not None and status != st.RESULTS_HELD:
            # a classic job's receipt is in its results the moment it shows its final status
            changes = self.settlement.with_receipt(job_id, status, changes)
        self.store.update(job_id, status=status, phase_deadline=None, runner=None, **changes)
        self._cleanup(job_id)
        if self.settlement is not None:  # settle it on the next tick, which comes at once
            self.settlement.due()
            self._wake.set()

    def _gated(self, job_id: str, changes: dict) -> tuple[int, dict]:
        """The output gate on a job whose algorithm finished: released, withheld or held."""
        job = self.store.get(job_id)
        policy = (job.spec or {}).get("outputPolicy") if job else None
        if policy is None:
            return st.FINISHED, changes
        results = changes.get("results", job.results) or []
        status, reason = gate(OutputPolicy.from_json(policy),
                              [(r["filename"], r["filesize"]) for r in results if r["type"] == "output"])
        if status == st.RESULTS_HELD and not any(r["type"] in ("output", "algorithmLog") and r["filesize"]
                                                 for r in results):
            status = st.FINISHED  # nothing the algorithm made: nothing to review
        if reason:
            changes = {**changes, "error": reason}
        if status == st.RESULTS_HELD:
            changes = {**changes, "date_finished": None}
        return status, changes

    def _expiry_of(self, env_id: str) -> int:
        env = self.environment(env_id)
        return env.storage_expiry if env else 0

    def disk_bytes(self, job: Job) -> int:
        env = self.environment(job.environment)
        return int(held_resources(job, env).get("disk", env.disk_gb) * GIB) if env else 0

    def ready(self) -> bool:
        raise NotImplementedError

    def why_not_runnable(self) -> str | None:
        """Why this engine cannot run jobs on this host (None: it can)."""
        return None

    def check_phase_token(self, job_id: str, phase: str, token: str) -> bool:
        return False

    def output_budget(self, job_id: str) -> int:
        job = self.store.get(job_id)
        return self.disk_bytes(job) if job is not None else 0

    def delete_files(self, job_id: str) -> None:
        """Remove everything the job left, in the backend (first: it may hold a mount inside the
        job's folder) and on the provider."""
        self._cleanup(job_id)
        shutil.rmtree(self.paths(job_id).root, ignore_errors=True)
