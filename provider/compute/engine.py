"""The local engine: jobs run as sandboxed processes on the provider's host (the sandbox adapter
under the shared `JobEngine` tick).

Only the holder of the `compute-scheduler` lease (SQLite) acts, so several provider processes
share one queue. Each started job runs in a thread of the lease holder: provision -> run ->
publish. Its sandbox dies with the process (bwrap --die-with-parent), so no orphan survives a
crash; an active job whose runner is gone (a killed or restarted provider) is recovered by the
next holder, as `status.after_restart` says: resumed where that is safe, failed with the
reason where not.
"""
from __future__ import annotations

import logging
import os
import shutil
import threading
import time
import uuid

from provider.compute import contract
from provider.compute import status as st
from provider.compute.base import JobEngine
from provider.compute.egress import EgressUnavailable, egress_problems
from provider.compute.environments import Environment
from provider.compute.jobs import Job, JobStore
from provider.compute.pipeline import JobPaths, Provisioner, publish
from provider.compute.sandbox import (
    Cgroup, Limits, SandboxSpec, isolation_problems, run_sandboxed, sandbox_identity,
)
from provider.compute.volume import QuotaVolume
from provider.compute.scheduling import (
    GIB, STOPPED_BY_OWNER, held_resources, Cancelled, PhaseFailed, provisioning_outcome, termination_error,
)
from provider.config import ComputeSettings
from provider.stores.leases import Leases
from provider.supervisor import engine_is_supervised

log = logging.getLogger(__name__)
LEASE = "compute-scheduler"


class LocalSandboxEngine(JobEngine):
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
        # Job folders are traversable (not listable) by the sandbox's group, and nobody else.
        settings.jobs_path.mkdir(parents=True, exist_ok=True)
        if self.gid is not None:
            os.chown(settings.jobs_path, -1, self.gid)
            os.chmod(settings.jobs_path, 0o710)
        else:
            os.chmod(settings.jobs_path, 0o700)
        self._threads: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()
        self.isolation_problems = isolation_problems(settings.sandbox_user)
        self.egress_problems = egress_problems()

    def why_not_runnable(self) -> str | None:
        """Why jobs cannot run here, or None. COMPUTE_UNSAFE_NO_CGROUPS runs them anyway."""
        if self.isolation_problems and not self.settings.unsafe_no_cgroups:
            return "; ".join(self.isolation_problems)
        return None

    def start(self) -> None:
        if self.isolation_problems and self.settings.unsafe_no_cgroups:
            log.critical("COMPUTE_UNSAFE_NO_CGROUPS=true: running algorithms without full isolation (%s)",
                         "; ".join(self.isolation_problems))
        if self.egress_problems:
            log.warning("jobs allowed onto the network run without one: %s", "; ".join(self.egress_problems))
        super().start()

    def ready(self) -> bool:
        """bubblewrap is there, and (when the engine runs in its own process) that process holds
        the scheduler lease, i.e. it is alive."""
        if self.why_not_runnable() is not None:
            return False
        return not engine_is_supervised() or self.leases.holder_of(LEASE) is not None

    # ---- the lease and shutdown ----------------------------------------------------------

    def _hold_lease(self, now: float) -> bool:
        return self.leases.take(LEASE, self.holder, self.lease_seconds)

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

    # ---- the adapter -----------------------------------------------------------------------

    def _started(self, job: Job) -> None:
        reason = self.why_not_runnable()
        if reason is not None:  # start refuses such jobs; one admitted before a change still may not run
            self._finish(job.job_id, st.RUN_FAILED, error=f"this provider cannot isolate algorithms: {reason}",
                         results=[])
            return
        thread = threading.Thread(target=self._run_job, args=(job.job_id,), name=f"job-{job.job_id[:8]}",
                                  daemon=True)
        with self._lock:
            self._threads[job.job_id] = thread
        thread.start()

    def _advance(self, active: list[Job], now: float) -> None:
        """Jobs advance in their own threads; what is active without a thread here lost its runner."""
        mine = self.running_here()
        for job in active:
            if job.job_id not in mine:
                self._recover(job)

    def _recover(self, job: Job) -> None:
        """A job whose runner is gone: resume it or fail it with the reason (never leave it)."""
        new_status, reason = st.after_restart(job.status)
        Cgroup.left_by(job.job_id).remove()  # kills whatever is left in it
        self._release_volume(job.job_id, keep_outputs=True)
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
                raise Cancelled(STOPPED_BY_OWNER)
            if job.phase_deadline and now > job.phase_deadline:
                raise Cancelled("phase deadline exceeded")
        return check

    def _run_job(self, job_id: str) -> None:
        job = self.store.get(job_id)
        paths = self.paths(job_id)
        env = self.environment(job.environment)
        try:
            paths.create(self.uid, self.gid)
            paths.log("configuration.log", f"job {job_id} provisioning in environment {env.id}")
            try:
                self.provisioner.provision(job.spec, paths, self.disk_bytes(job), self._checker(job_id))
            except (PhaseFailed, Cancelled) as failure:
                status, error = provisioning_outcome(failure)
                self._finish(job_id, status, error=error, results=publish(paths))
                return
            paths.seal_inputs(self.gid)
            self.store.update(job_id, status=st.PROVISIONED)
            if not self.store.update(job_id, expect_status=st.PROVISIONED, status=st.RUNNING, phase_deadline=None):
                return
            try:
                outcome = self._run_algorithm(job, env, paths)
            except EgressUnavailable as exc:
                self._finish(job_id, st.RUN_FAILED, error=f"the algorithm did not start: {exc}")
                return
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
        self._finish(job_id, st.FINISHED, results=results, error=termination_error(job.termination or {}))

    def _run_algorithm(self, job: Job, env: Environment, paths: JobPaths):
        spec = job.spec
        held = held_resources(job, env)
        network = bool(spec.get("network")) and env.allow_network
        if network and self.egress_problems:
            network = False
            paths.log("algorithm.log", "this job may use the network, but this provider cannot give it an "
                      "isolated one (" + "; ".join(self.egress_problems) + "): it runs without network")
        sandbox = SandboxSpec(
            data_dir=paths.data,
            entrypoint=contract.entrypoint_for(spec["container"]["entrypoint"]),
            commands=spec["runtime"],
            environment=contract.job_environment(spec),
            network=network,
            limits=Limits(
                memory_bytes=int(held["ram"] * GIB), cpus=float(held["cpu"]), pids=env.max_pids,
                wall_seconds=float(job.max_duration), output_bytes=self.disk_bytes(job),
            ),
            uid=self.uid, gid=self.gid,
            devices=tuple(spec.get("devices") or ()) + (env.gpu_shared_devices if spec.get("devices") else ()),
        )
        stopped = lambda: bool(getattr(self.store.get(job.job_id), "stop_requested", 1))  # noqa: E731
        return run_sandboxed(sandbox, job.job_id, paths.provider_logs / "algorithm.log", stopped)

    def _release_volume(self, job_id: str, *, keep_outputs: bool) -> None:
        """Unmount a quota volume a dead supervisor left behind (what the algorithm wrote is
        copied out first when it is kept)."""
        paths = self.paths(job_id)
        volume = QuotaVolume.left_in(paths.root)
        if volume is None:
            return
        try:
            if keep_outputs:
                volume.copy_out(paths.data)
        finally:
            volume.remove()

    def _cleanup(self, job_id: str) -> None:
        self._release_volume(job_id, keep_outputs=False)

    def _delete_inputs(self, paths: JobPaths) -> None:
        """The publisher's data must not outlive the run."""
        for sub in contract.READ_ONLY:
            shutil.rmtree(paths.data / sub, ignore_errors=True)
