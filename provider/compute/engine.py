"""The local compute engine: jobs run as sandboxed processes on the provider's host.

One scheduler per provider process ticks every `scheduler_interval`; only the holder of the
`compute-scheduler` lease acts, so several gunicorn workers share one queue. A tick:
1. recovers jobs whose runner is gone (a killed or restarted provider): see
   `status.after_restart` - resumed where that is safe, failed with a reason where not;
2. ends phases past their deadline;
3. ends queued jobs whose owner asked to stop;
4. starts queued jobs while their environment has free slots (oldest first);
5. deletes finished jobs past their environment's storage expiry.

Each started job runs in a thread of the lease holder: provision -> run -> publish. Its sandbox
dies with the process (bwrap --die-with-parent), so no orphan survives a crash.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import time
import uuid

from provider.compute import status as st
from provider.compute.base import TickingEngine
from provider.compute.environments import Environment
from provider.compute.jobs import Job, JobStore
from provider.compute.pipeline import Cancelled, JobPaths, PhaseFailed, Provisioner, publish
from provider.compute.sandbox import CGROUP_PARENT, CGROUP_ROOT, Limits, SandboxSpec, entrypoint_for, run_sandboxed, sandbox_identity
from provider.config import ComputeSettings
from provider.stores.leases import Leases

log = logging.getLogger(__name__)
LEASE = "compute-scheduler"
GIB = 1024 ** 3


class LocalEngine(TickingEngine):
    thread_name = "compute-scheduler"

    def __init__(self, settings: ComputeSettings, store: JobStore, leases: Leases, provisioner: Provisioner,
                 lease_seconds: float = 10.0):
        super().__init__(settings)
        self.store = store
        self.leases = leases
        self.provisioner = provisioner
        self.lease_seconds = lease_seconds
        self.holder = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.uid, self.gid = sandbox_identity(settings.sandbox_user)
        # Job folders must be traversable (not listable) by the sandbox user.
        settings.jobs_path.mkdir(parents=True, exist_ok=True)
        os.chmod(settings.jobs_path, 0o711)
        self._threads: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()

    def _released(self) -> None:
        self.leases.release(LEASE, self.holder)

    def _drain(self, grace: float) -> None:
        # Jobs still running when the grace ends die with this process (their sandboxes are
        # bound to it); the next scheduler records them as failed with the reason.
        deadline = time.monotonic() + grace
        with self._lock:
            threads = list(self._threads.items())
        for job_id, thread in threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        left = sorted(job_id for job_id, thread in threads if thread.is_alive())
        if left:
            log.warning("shutting down with %d job(s) still running: %s", len(left), ", ".join(left))

    def running_here(self) -> set[str]:
        with self._lock:
            return {job_id for job_id, thread in self._threads.items() if thread.is_alive()}

    def tick(self) -> bool:
        if not self.leases.take(LEASE, self.holder, self.lease_seconds):
            return False
        now = time.time()
        mine = self.running_here()
        for job in self.store.with_status(st.ACTIVE):
            if job.job_id not in mine:
                self._recover(job)
        for job in self.store.with_status([st.QUEUED]):
            if job.stop_requested:
                self.store.update(job.job_id, expect_status=st.QUEUED, status=st.FINISHED,
                                  error="stopped before it started", results=[])
        for env in self.settings.environments:
            free = env.max_jobs - sum(1 for j in self.store.with_status(st.ACTIVE) if j.environment == env.id)
            for job in [j for j in self.store.with_status([st.QUEUED]) if j.environment == env.id][:max(free, 0)]:
                if self.store.update(job.job_id, expect_status=st.QUEUED, status=st.CONFIGURING, runner=self.holder,
                                     date_started=now, phase_deadline=now + self.settings.provision_timeout):
                    self._launch(job.job_id)
        for job in self.store.expired(now, self._expiry_of):
            self.delete_files(job.job_id)
            self.store.delete(job.job_id)
        return True

    def _recover(self, job: Job) -> None:
        """A job whose runner is gone: resume it or fail it with the reason (never leave it)."""
        new_status, reason = st.after_restart(job.status)
        remove_cgroup(job.job_id)
        log.warning("recovering job %s from status %s to %s", job.job_id, job.status, new_status)
        paths = self.paths(job.job_id)
        if new_status == st.PUBLISHING:
            # The outputs are on disk: publish them now, as the new runner.
            if self.store.update(job.job_id, expect_status=job.status, runner=self.holder):
                self._publish(job.job_id, paths)
            return
        changes = {"status": new_status, "runner": None, "phase_deadline": None}
        if reason:
            changes["error"] = reason
            if paths.provider_logs.exists():
                paths.log("configuration.log", reason)
        if new_status != st.QUEUED and paths.root.exists():
            changes["results"] = publish(paths)
        self.store.update(job.job_id, expect_status=job.status, **changes)

    def _expiry_of(self, env_id: str) -> int:
        env = self.environment(env_id)
        return env.storage_expiry if env else 0

    def _launch(self, job_id: str) -> None:
        thread = threading.Thread(target=self._run_job, args=(job_id,), name=f"job-{job_id[:8]}", daemon=True)
        with self._lock:
            self._threads[job_id] = thread
        thread.start()

    # ---- one job -------------------------------------------------------------------------

    def _checker(self, job_id: str):
        """Raises Cancelled when the job must stop: owner's request or phase deadline."""
        last = [0.0]

        def check() -> None:
            now = time.time()
            if now - last[0] < 0.5:
                return
            last[0] = now
            job = self.store.get(job_id)
            if job is None or job.stop_requested:
                raise Cancelled("stopped by its owner")
            if job.phase_deadline and now > job.phase_deadline:
                raise Cancelled("phase deadline exceeded")
        return check

    def _run_job(self, job_id: str) -> None:
        job = self.store.get(job_id)
        paths = self.paths(job_id)
        check = self._checker(job_id)
        env = self.environment(job.environment)
        try:
            paths.create(self.uid, self.gid)
            paths.log("configuration.log", f"job {job_id} provisioning in environment {env.id}")
            try:
                self.provisioner.provision(job.spec, paths, int(env.disk_gb * GIB), check)
            except (PhaseFailed, Cancelled) as exc:
                failed = st.ALGORITHM_PROVISIONING_FAILED if str(exc).startswith("algorithm") else st.DATA_PROVISIONING_FAILED
                if isinstance(exc, Cancelled) and str(exc) == "stopped by its owner":
                    self._finish(job_id, st.FINISHED, error="stopped by its owner", results=publish(paths))
                else:
                    self._finish(job_id, failed, error=str(exc), results=publish(paths))
                return
            self.store.update(job_id, status=st.PROVISIONED)
            if not self.store.update(job_id, expect_status=st.PROVISIONED, status=st.RUNNING, phase_deadline=None):
                return
            outcome = self._run_algorithm(job, env, paths)
            termination = outcome.termination()
            if outcome.quota_exceeded:
                self._finish(job_id, st.DISK_QUOTA_EXCEEDED, termination=termination,
                             error="the algorithm wrote more than the environment's disk", results=publish(paths))
                return
            self.store.update(job_id, status=st.PUBLISHING, termination=termination,
                              phase_deadline=time.time() + self.settings.publish_timeout)
            self._publish(job_id, paths)
        except Exception as exc:
            log.exception("job %s failed unexpectedly", job_id)
            current = self.store.get(job_id)
            code = st.PUBLISH_FAILED if current and current.status == st.PUBLISHING else st.RUN_FAILED
            self._finish(job_id, code, error=f"internal error: {type(exc).__name__}")
        finally:
            self._delete_inputs(paths)
            with self._lock:
                self._threads.pop(job_id, None)

    def _publish(self, job_id: str, paths: JobPaths) -> None:
        try:
            results = publish(paths)
        except OSError:
            self._finish(job_id, st.PUBLISH_FAILED, error="results could not be collected")
            return
        job = self.store.get(job_id)
        error = None
        term = job.termination or {}
        if term.get("timedOut"):
            error = "the algorithm ran past its time limit"
        elif term.get("OOMKilled"):
            error = "the algorithm ran out of memory"
        elif term.get("stopped"):
            error = "stopped by its owner"
        elif term.get("exitCode") not in (0, None):
            error = f"the algorithm exited with code {term.get('exitCode')}"
        self._finish(job_id, st.FINISHED, results=results, error=error)

    def _finish(self, job_id: str, status: int, **changes) -> None:
        self.store.update(job_id, status=status, phase_deadline=None, runner=None, **changes)

    def _run_algorithm(self, job: Job, env: Environment, paths: JobPaths):
        spec = job.spec
        inputs = [i["documentId"] for i in spec["inputs"]]
        sandbox = SandboxSpec(
            data_dir=paths.data,
            entrypoint=entrypoint_for(spec["container"]["entrypoint"]),
            commands=spec["runtime"],
            environment={
                "DIDS": json.dumps(inputs),
                "TRANSFORMATION_DID": spec["algorithm"].get("documentId") or "",
                "INPUTS": "/data/inputs", "OUTPUTS": "/data/outputs", "LOGS": "/data/logs",
                "VOLUME": "/data",
            },
            network=bool(spec.get("network")) and env.allow_network,
            limits=Limits(
                memory_bytes=int(env.ram_gb * GIB), cpus=float(env.cpu), pids=env.max_pids,
                wall_seconds=float(job.max_duration), output_bytes=int(env.disk_gb * GIB),
            ),
            uid=self.uid, gid=self.gid,
        )
        stopped = lambda: bool(getattr(self.store.get(job.job_id), "stop_requested", 1))  # noqa: E731
        return run_sandboxed(sandbox, job.job_id, paths.provider_logs / "algorithm.log", stopped)

    # ---- maintenance -----------------------------------------------------------------------

    def _delete_inputs(self, paths: JobPaths) -> None:
        """The publisher's data must not outlive the run."""
        for sub in ("inputs", "transformations", "ddos"):
            shutil.rmtree(paths.data / sub, ignore_errors=True)

    def delete_files(self, job_id: str) -> None:
        shutil.rmtree(self.paths(job_id).root, ignore_errors=True)


def remove_cgroup(name: str) -> None:
    """Kill whatever is left in a job's cgroup and remove it (after a crash)."""
    for controller in ("memory", "pids", "cpu"):
        path = CGROUP_ROOT / controller / CGROUP_PARENT / name
        if not path.exists():
            path = CGROUP_ROOT / CGROUP_PARENT / name
            if not path.exists():
                continue
        try:
            for pid in (path / "cgroup.procs").read_text().split():
                try:
                    os.kill(int(pid), 9)
                except ProcessLookupError:
                    pass
            time.sleep(0.05)
            path.rmdir()
        except OSError:
            pass
