"""The Kubernetes engine: compute jobs as three Kubernetes Jobs, driven from the provider.

Decide apart from do: `decide` (pure) looks at a job's recorded status and at what the
cluster shows for its fetch, algorithm and publish Jobs, and names the next action;
`KubernetesJobEngine` (under the shared `JobEngine.tick`) reads, decides and applies, for every live job, when this replica
holds the `coordination.k8s.io` Lease. Nothing is remembered in memory between ticks: a
restarted or second replica derives the same decisions from the same cluster state.

Phases: the provider stages the inputs (same pipeline and safe fetching as the local engine)
-> fetch Job pulls the staged bundle with a one-time token -> algorithm Job -> its pod's
termination state (exit code, OOMKilled, deadline) and logs are read -> publish Job uploads
outputs and logs with a one-time token -> results are listed, every object of the job deleted.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import shutil
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

from provider.compute import contract
from provider.compute import status as st
from provider.compute.base import JobEngine
from provider.compute.environments import Environment
from provider.compute.jobs import Job, JobStore
from provider.compute.k8s.cluster import ClusterApi, ClusterError
from provider.compute.k8s.manifests import (
    ANNOTATION_PREFIX, LABEL_JOB, MANAGED_BY, ClusterSettings, JobResources, job_labels, job_objects, label_value,
    object_name,
)
from provider.compute.pipeline import Provisioner, publish
from provider.compute.scheduling import (
    GIB, STOPPED_BY_OWNER, Cancelled, held_resources, PhaseFailed, provisioning_outcome, termination_error,
)
from provider.config import ComputeSettings

log = logging.getLogger(__name__)
LEASE_NAME = "ocean-provider-compute"
TOKEN_HASH = ANNOTATION_PREFIX + "token-sha256"


@dataclass(frozen=True)
class PhaseView:
    """What the cluster shows for one phase's Job."""
    exists: bool = False
    succeeded: bool = False
    failed: bool = False
    reason: str | None = None  # DeadlineExceeded, BackoffLimitExceeded, ...


def phase_view(job) -> PhaseView:
    if job is None:
        return PhaseView()
    status = job.status
    conditions = {c.type: c for c in (status.conditions or []) if c.status in ("True", True)} if status else {}
    failed = "Failed" in conditions or bool(status and status.failed)
    return PhaseView(True, "Complete" in conditions or bool(status and status.succeeded), failed,
                     conditions["Failed"].reason if "Failed" in conditions else None)


@dataclass(frozen=True)
class Decision:
    action: str      # wait | stage | start_algorithm | collect | finish | fail | stop
    status: int | None = None
    error: str | None = None


def decide(job: Job, fetch: PhaseView, algorithm: PhaseView, publish_: PhaseView, *, staging: bool,
           now: float, grace: float = 60) -> Decision:
    """The next step for one job (pure)."""
    status = job.status
    overdue = job.phase_deadline is not None and now > job.phase_deadline + grace
    if status == st.CONFIGURING:
        if job.stop_requested:
            return Decision("stop", st.FINISHED, STOPPED_BY_OWNER)
        if fetch.failed:
            return Decision("fail", st.DATA_PROVISIONING_FAILED, "the fetch pod failed" +
                            (" (deadline exceeded)" if fetch.reason == "DeadlineExceeded" else ""))
        if fetch.succeeded:
            return Decision("start_algorithm")
        if overdue:
            return Decision("fail", st.DATA_PROVISIONING_FAILED, "provisioning deadline exceeded")
        if not fetch.exists and not staging:
            return Decision("stage")
        return Decision("wait")
    if status in (st.PROVISIONED, st.RUNNING):
        if not algorithm.exists:
            return Decision("start_algorithm")
        if job.stop_requested and not (algorithm.succeeded or algorithm.failed):
            return Decision("collect", error=STOPPED_BY_OWNER)
        if algorithm.succeeded or algorithm.failed:
            return Decision("collect")
        if job.date_started and now > job.date_started + job.max_duration + 2 * grace:
            return Decision("collect", error="the algorithm ran past its time limit")
        return Decision("wait")
    if status == st.PUBLISHING:
        if publish_.succeeded:
            return Decision("finish", st.FINISHED)
        if publish_.failed or overdue:
            return Decision("fail", st.PUBLISH_FAILED, "results could not be collected")
        return Decision("wait")
    return Decision("wait")


def termination_from_pods(pods, deadline_exceeded: bool) -> dict:
    """exitCode/OOMKilled from the algorithm container's terminated state."""
    details = {"exitCode": None, "OOMKilled": False, "timedOut": deadline_exceeded, "stopped": False}
    for pod in pods:
        for container in (pod.status.container_statuses or []) if pod.status else []:
            terminated = container.state.terminated if container.state else None
            if container.name == "algorithm" and terminated is not None:
                details["exitCode"] = terminated.exit_code
                details["OOMKilled"] = terminated.reason == "OOMKilled"
                if terminated.started_at and terminated.finished_at:  # what a resource-priced job is billed
                    details["algoStart"] = terminated.started_at.timestamp()
                    details["algoStop"] = terminated.finished_at.timestamp()
    return details


class KubernetesJobEngine(JobEngine):
    """The cluster adapter under the shared `JobEngine` tick."""

    thread_name = "k8s-orchestrator"

    def __init__(self, settings: ComputeSettings, cluster_settings: ClusterSettings, store: JobStore,
                 cluster: ClusterApi, provisioner: Provisioner, lease_seconds: int = 15):
        super().__init__(settings)
        self.cluster_settings = cluster_settings
        self.store = store
        self.cluster = cluster
        self.provisioner = provisioner
        self.lease_seconds = lease_seconds
        self.holder = f"{os.uname().nodename}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self._staging: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()
        settings.jobs_path.mkdir(parents=True, exist_ok=True)

    def ready(self) -> bool:
        try:
            self.cluster.read_lease(LEASE_NAME)
            return True
        except ClusterError:
            return False

    def start(self) -> None:
        """Tick on an interval, and at once whenever one of our Jobs changes (a watch)."""
        super().start()
        self.watch_events: list[str] = []

        def on_event(kind: str) -> None:
            self.watch_events.append(kind)
            self._wake.set()

        threading.Thread(target=self.cluster.watch_jobs, name="k8s-watch", daemon=True,
                         args=({"app.kubernetes.io/managed-by": MANAGED_BY}, on_event, self._stop)).start()

    # ---- the lease -----------------------------------------------------------------------

    def take_lease(self, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        lease = self.cluster.read_lease(LEASE_NAME)
        if lease is not None and lease.spec and lease.spec.holder_identity not in (None, self.holder):
            renewed = lease.spec.renew_time
            renewed = renewed.timestamp() if hasattr(renewed, "timestamp") else _parse_time(renewed)
            if renewed is not None and renewed + (lease.spec.lease_duration_seconds or 0) > now:
                return False
        stamp = datetime.fromtimestamp(now, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return self.cluster.write_lease(LEASE_NAME, self.holder, self.lease_seconds, stamp, lease)

    def _hold_lease(self, now: float) -> bool:
        try:
            return self.take_lease(now)
        except ClusterError:
            log.warning("cannot reach the Kubernetes API; will retry")
            return False

    # ---- advancing jobs ------------------------------------------------------------------

    def _advance(self, active: list[Job], now: float) -> None:
        for job in active:
            try:
                self._advance_one(job, now)
            except ClusterError:
                log.warning("job %s: Kubernetes API error; will retry", job.job_id)

    _CURRENT_PHASE = {st.CONFIGURING: "fetch", st.PROVISIONED: "algorithm", st.RUNNING: "algorithm",
                      st.PUBLISHING: "publish"}

    def _views(self, job: Job) -> dict[str, PhaseView]:
        """Only the current phase's Job is read: `decide` looks at nothing else."""
        views = {phase: PhaseView() for phase in ("fetch", "algorithm", "publish")}
        phase = self._CURRENT_PHASE.get(job.status)
        if phase:
            views[phase] = phase_view(self.cluster.job(object_name(job.job_id, phase)))
        return views

    def _advance_one(self, job: Job, now: float) -> None:
        views = self._views(job)
        with self._lock:
            staging = job.job_id in self._staging and self._staging[job.job_id].is_alive()
        decision = decide(job, views["fetch"], views["algorithm"], views["publish"], staging=staging, now=now)
        if decision.action == "stage":
            self._stage(job)
        elif decision.action == "start_algorithm":
            self._start_algorithm(job)
        elif decision.action == "collect":
            self._collect(job, views["algorithm"], decision.error)
        elif decision.action == "finish":
            self._finish(job.job_id, st.FINISHED, results=publish(self.paths(job.job_id)))
        elif decision.action in ("fail", "stop"):
            paths = self.paths(job.job_id)
            results = publish(paths) if paths.provider_logs.exists() else []
            self._finish(job.job_id, decision.status, error=decision.error, results=results)

    def _cleanup(self, job_id: str) -> None:
        """Delete every object of this job (Jobs with their pods, PVC, Secrets, policies)."""
        for kind, name in self.cluster.objects_of({LABEL_JOB: label_value(job_id)}):
            self.cluster.delete(kind, name)
        shutil.rmtree(self.paths(job_id).root / "bundle", ignore_errors=True)

    cleanup = _cleanup

    # ---- actions -------------------------------------------------------------------------

    def _resources(self, job: Job, env: Environment) -> JobResources:
        held = held_resources(job, env)
        return JobResources(cpu=float(held["cpu"]), memory_bytes=int(held["ram"] * GIB), disk_bytes=self.disk_bytes(job),
                            gpus=int(held.get("gpu", 0)),
                            max_duration=int(job.max_duration), network=bool(job.spec.get("network")) and env.allow_network)

    def _create_phase(self, job: Job, phase: str, **kwargs) -> None:
        env = self.environment(job.environment)
        token = secrets.token_urlsafe(32) if phase in ("fetch", "publish") else ""
        objects = job_objects(job.job_id, phase, token=token, cluster=self.cluster_settings,
                              resources=self._resources(job, env),
                              phase_deadline=int(self.settings.provision_timeout if phase == "fetch"
                                                 else self.settings.publish_timeout), **kwargs)
        for obj in objects:
            if obj["kind"] == "Job" and token:
                obj["metadata"]["annotations"][TOKEN_HASH] = hashlib.sha256(token.encode()).hexdigest()
            self.cluster.create(obj)

    def _stage(self, job: Job) -> None:
        def run() -> None:
            paths = self.paths(job.job_id)
            try:
                paths.create(None, None)
                self.provisioner.provision(job.spec, paths, self.disk_bytes(job), lambda: None)
                self._create_phase(job, "fetch")
            except (PhaseFailed, Cancelled) as failure:
                status, error = provisioning_outcome(failure)
                self._finish(job.job_id, status, error=error, results=publish(paths))
            except ClusterError:
                log.warning("job %s: could not create the fetch phase; will retry", job.job_id)
        thread = threading.Thread(target=run, name=f"stage-{job.job_id[:8]}", daemon=True)
        with self._lock:
            self._staging[job.job_id] = thread
        thread.start()

    def _start_algorithm(self, job: Job) -> None:
        spec = job.spec
        self.store.update(job.job_id, status=st.PROVISIONED)
        self._create_phase(job, "algorithm", container=spec["container"],
                           entrypoint=contract.entrypoint_for(spec["container"]["entrypoint"]),
                           environment=contract.job_environment(spec))
        self.store.update(job.job_id, status=st.RUNNING, phase_deadline=None, date_started=time.time())

    def _collect(self, job: Job, algorithm: PhaseView, reason: str | None) -> None:
        name = object_name(job.job_id, "algorithm")
        pods = self.cluster.pods_of(name)
        termination = termination_from_pods(pods, algorithm.reason == "DeadlineExceeded" or bool(
            reason and "time limit" in reason))
        termination["stopped"] = reason == STOPPED_BY_OWNER
        paths = self.paths(job.job_id)
        paths.provider_logs.mkdir(parents=True, exist_ok=True)
        with open(paths.provider_logs / "algorithm.log", "w") as handle:
            for pod in pods:
                handle.write(self.cluster.pod_log(pod.metadata.name, "algorithm"))
        if not (algorithm.succeeded or algorithm.failed):
            self.cluster.delete("Job", name)
        error = termination_error(termination, reason)
        self.store.update(job.job_id, status=st.PUBLISHING, termination=termination, error=error,
                          phase_deadline=time.time() + self.settings.publish_timeout)
        self._create_phase(job, "publish")

    # ---- tokens for the internal endpoints -----------------------------------------------

    def check_phase_token(self, job_id: str, phase: str, token: str) -> bool:
        """True once: the token of this job's live phase Job, not used before. Using it is one
        atomic step, the create of an object named after it (`ClusterApi.claim`): of two requests
        carrying the token at once, one gets the bundle."""
        job = self.store.get(job_id)
        expected_status = {"fetch": st.CONFIGURING, "publish": st.PUBLISHING}.get(phase)
        if job is None or job.status != expected_status or not token:
            return False
        k8s_job = self.cluster.job(object_name(job_id, phase))
        annotations = (k8s_job.metadata.annotations or {}) if k8s_job is not None else {}
        expected = annotations.get(TOKEN_HASH)
        if not expected or not hmac.compare_digest(expected, hashlib.sha256(token.encode()).hexdigest()):
            return False
        return self.cluster.claim(object_name(job_id, f"{phase}-token-used"), job_labels(job_id, phase))


def _parse_time(value) -> float | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
