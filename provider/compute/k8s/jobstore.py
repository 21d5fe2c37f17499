"""Compute job records in the cluster: one ConfigMap per job (the Kubernetes engine's store).

With `compute.engine = kubernetes` the job records live next to the job's other objects, so
every provider replica answers status for any job and a restarted replica finds every job,
without a shared database. Same interface as the SQLite `JobStore`. Labels carry what is
selected on (owner, status, environment, agreement hash); the record itself is JSON under
`data.job`. An update that expects a status reads, compares and writes with the object's
resourceVersion, so two replicas cannot both move a job out of the same status.
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict

from kubernetes.client.rest import ApiException

from provider.compute import status as st
from provider.compute.jobs import AgreementInUse, Job
from provider.compute.k8s.cluster import ClusterApi, ClusterError, _call
from provider.compute.k8s.manifests import LABEL_JOB, MANAGED_BY, label_value, object_name

KIND_LABEL = "ocean.c2d/kind"


def _labels(job: Job) -> dict[str, str]:
    return {
        "app.kubernetes.io/managed-by": MANAGED_BY,
        KIND_LABEL: "job-record",
        LABEL_JOB: label_value(job.job_id),
        "ocean.c2d/owner": job.owner.lower(),
        "ocean.c2d/status": str(job.status),
        "ocean.c2d/environment": label_value(job.environment),
        "ocean.c2d/agreement": hashlib.sha256(job.agreement_id.lower().encode()).hexdigest()[:40],
    }


def _body(job: Job, resource_version: str | None = None) -> dict:
    metadata = {"name": object_name(job.job_id, "record"), "labels": _labels(job)}
    if resource_version:
        metadata["resourceVersion"] = resource_version
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": {"job": json.dumps(asdict(job))}}


def _agreement_object(agreement_id: str) -> str:
    return "c2d-agreement-" + hashlib.sha256(agreement_id.lower().encode()).hexdigest()[:40]


class ClusterJobStore:
    def __init__(self, cluster: ClusterApi):
        self.cluster = cluster
        self.core = cluster.core
        self.namespace = cluster.namespace

    def _records(self, **selector: str) -> list[tuple[Job, object]]:
        wanted = {KIND_LABEL: "job-record", **selector}
        listing = _call(self.core.list_namespaced_config_map, self.namespace,
                        label_selector=",".join(f"{k}={v}" for k, v in wanted.items()), missing_ok=True)
        found = []
        for item in (listing.items if listing else []):
            labels = item.metadata.labels or {}
            if all(labels.get(k) == v for k, v in wanted.items()) and item.data and "job" in item.data:
                found.append((Job(**json.loads(item.data["job"])), item))
        return sorted(found, key=lambda pair: pair[0].date_created)

    def create(self, job: Job) -> None:
        """The agreement is claimed first, by creating an object named after it: the API server
        lets one create of a name succeed, so concurrent starts on one order make one job. The
        claim outlives the job (one order starts one job, forever)."""
        claim = {"apiVersion": "v1", "kind": "ConfigMap",
                 "metadata": {"name": _agreement_object(job.agreement_id),
                              "labels": {"app.kubernetes.io/managed-by": MANAGED_BY, KIND_LABEL: "agreement"}},
                 "data": {"agreement": job.agreement_id.lower(), "job": job.job_id}}
        for body in (claim, _body(job)):
            try:
                self.core.create_namespaced_config_map(self.namespace, body)
            except ApiException as exc:
                if exc.status == 409:
                    raise AgreementInUse(job.agreement_id) from None
                raise ClusterError(f"Kubernetes API answered {exc.status}") from exc

    def agreement_used(self, agreement_id: str) -> bool:
        return _call(self.core.read_namespaced_config_map, _agreement_object(agreement_id), self.namespace,
                     missing_ok=True) is not None

    def _read(self, job_id: str):
        item = _call(self.core.read_namespaced_config_map, object_name(job_id, "record"), self.namespace,
                     missing_ok=True)
        if item is None or not item.data or "job" not in item.data:
            return None, None
        return Job(**json.loads(item.data["job"])), item

    def get(self, job_id: str) -> Job | None:
        return self._read(job_id)[0]

    def of_owner(self, owner: str, did: str | None = None) -> list[Job]:
        jobs = [job for job, _ in self._records(**{"ocean.c2d/owner": owner.lower()})]
        return [j for j in jobs if did is None or j.did == did]

    def with_status(self, statuses) -> list[Job]:
        wanted = {int(s) for s in statuses}
        return [job for job, _ in self._records() if job.status in wanted]

    def newest(self, limit: int) -> list[Job]:
        """Sorted here: the cluster lists every job's ConfigMap anyway (one labelled list call)."""
        return sorted((job for job, _ in self._records()), key=lambda j: j.date_created, reverse=True)[:int(limit)]

    def count_active(self, environment: str) -> int:
        return sum(1 for job, _ in self._records() if job.environment == environment and not st.is_terminal(job.status))

    def update(self, job_id: str, *, expect_status: int | None = None, **changes) -> bool:
        job, item = self._read(job_id)
        if job is None or (expect_status is not None and job.status != expect_status):
            return False
        changes = st.with_finish_time(changes, time.time())
        for key, value in changes.items():
            setattr(job, key, value)
        version = item.metadata.resource_version
        try:
            if version:
                self.core.replace_namespaced_config_map(item.metadata.name, self.namespace, _body(job, version))
            else:  # a server without resourceVersions (the test emulator): last writer wins
                self.core.patch_namespaced_config_map(item.metadata.name, self.namespace,
                                                      {"metadata": {"labels": _labels(job)},
                                                       "data": _body(job)["data"]})
        except ApiException as exc:
            if exc.status == 409:  # someone else wrote since we read
                return False
            raise ClusterError(f"Kubernetes API answered {exc.status}") from exc
        return True

    def delete(self, job_id: str) -> None:
        _call(self.core.delete_namespaced_config_map, object_name(job_id, "record"), self.namespace, missing_ok=True)

    def expired(self, now: float, expiry_of) -> list[Job]:
        return [job for job, _ in self._records()
                if job.date_finished and job.date_finished + expiry_of(job.environment) < now]
