"""The cluster adapter: the official `kubernetes` client, with its errors translated.

Everything the orchestrator does to the cluster goes through `ClusterApi`, which makes the
calls idempotent (create of an existing object is fine, delete of a missing one is fine),
turns 404 into None, and filters lists by labels on our side too (so a server that ignores
selectors, like the test emulator, cannot make us act on another job's objects).
"""
from __future__ import annotations

from typing import Any, Callable

from kubernetes import client
from kubernetes.client.rest import ApiException

from provider.errors import DependencyUnavailable


class ClusterError(DependencyUnavailable):
    """The API server refused or failed; the orchestrator retries on its next tick."""


def _call(fn: Callable, *args, missing_ok: bool = False, exists_ok: bool = False, **kwargs):
    try:
        return fn(*args, **kwargs)
    except ApiException as exc:
        if exc.status == 404 and missing_ok:
            return None
        if exc.status == 409 and exists_ok:
            return None
        raise ClusterError(f"Kubernetes API answered {exc.status}") from exc
    except Exception as exc:  # urllib3 connection errors and the like
        raise ClusterError("Kubernetes API unreachable") from exc


def _matches(labels: dict[str, str] | None, selector: dict[str, str]) -> bool:
    labels = labels or {}
    return all(labels.get(k) == v for k, v in selector.items())


class ClusterApi:
    def __init__(self, api_client: client.ApiClient, namespace: str):
        self.namespace = namespace
        self.api_client = api_client
        self.core = client.CoreV1Api(api_client)
        self.batch = client.BatchV1Api(api_client)
        self.net = client.NetworkingV1Api(api_client)
        self.coord = client.CoordinationV1Api(api_client)
        self.calls = 0

    def _count(self):
        self.calls += 1

    def create(self, obj: dict[str, Any]) -> None:
        """Create a manifest; an object that already exists (a retried tick) is not an error."""
        self._count()
        kind, ns = obj["kind"], self.namespace
        creators = {
            "Job": self.batch.create_namespaced_job,
            "PersistentVolumeClaim": self.core.create_namespaced_persistent_volume_claim,
            "Secret": self.core.create_namespaced_secret,
            "NetworkPolicy": self.net.create_namespaced_network_policy,
        }
        _call(creators[kind], ns, obj, exists_ok=True)

    def claim(self, name: str, labels: dict[str, str]) -> bool:
        """Create an empty Secret named `name`; False when it exists. The API server lets exactly
        one create of a name succeed, which makes this a check-and-mark in one step."""
        self._count()
        body = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                "metadata": {"name": name, "namespace": self.namespace, "labels": labels}}
        try:
            self.core.create_namespaced_secret(self.namespace, body)
            return True
        except ApiException as exc:
            if exc.status == 409:
                return False
            raise ClusterError(f"Kubernetes API answered {exc.status}") from exc

    def delete(self, kind: str, name: str) -> None:
        self._count()
        deleters = {
            "Job": lambda n: self.batch.delete_namespaced_job(n, self.namespace, propagation_policy="Background"),
            "PersistentVolumeClaim": lambda n: self.core.delete_namespaced_persistent_volume_claim(n, self.namespace),
            "Secret": lambda n: self.core.delete_namespaced_secret(n, self.namespace),
            "NetworkPolicy": lambda n: self.net.delete_namespaced_network_policy(n, self.namespace),
        }
        _call(deleters[kind], name, missing_ok=True)

    def job(self, name: str):
        self._count()
        return _call(self.batch.read_namespaced_job, name, self.namespace, missing_ok=True)

    def pods_of(self, job_name: str) -> list:
        self._count()
        pods = _call(self.core.list_namespaced_pod, self.namespace, label_selector=f"job-name={job_name}",
                     missing_ok=True)
        return [p for p in (pods.items if pods else []) if (p.metadata.labels or {}).get("job-name") == job_name]

    def pod_log(self, pod_name: str, container: str) -> str:
        self._count()
        return _call(self.core.read_namespaced_pod_log, pod_name, self.namespace, container=container,
                     missing_ok=True) or ""

    def objects_of(self, selector: dict[str, str]) -> list[tuple[str, str]]:
        """(kind, name) of every object of ours carrying these labels."""
        self._count()
        found = []
        listers = (("Job", self.batch.list_namespaced_job), ("Secret", self.core.list_namespaced_secret),
                   ("NetworkPolicy", self.net.list_namespaced_network_policy),
                   ("PersistentVolumeClaim", self.core.list_namespaced_persistent_volume_claim))
        label_selector = ",".join(f"{k}={v}" for k, v in selector.items())
        for kind, lister in listers:
            listing = _call(lister, self.namespace, label_selector=label_selector, missing_ok=True)
            for item in (listing.items if listing else []):
                if _matches(item.metadata.labels, selector):
                    found.append((kind, item.metadata.name))
        return found

    def watch_jobs(self, selector: dict[str, str], on_event, stop, timeout_seconds: int = 60) -> None:
        """Call `on_event(kind)` for every change to our Jobs until `stop` is set.

        Lists once for a resourceVersion, then watches from it; when the server says that
        version is gone (410 Gone, as an ERROR event or an exception), lists again and resumes.
        """
        from kubernetes import watch

        label_selector = ",".join(f"{k}={v}" for k, v in selector.items())
        version = None
        while not stop.is_set():
            try:
                if version is None:
                    listing = self.batch.list_namespaced_job(self.namespace, label_selector=label_selector)
                    version = listing.metadata.resource_version if listing.metadata else None
                    on_event("RELIST")
                kwargs = {"label_selector": label_selector, "timeout_seconds": timeout_seconds}
                if version:
                    kwargs["resource_version"] = version
                for event in watch.Watch().stream(self.batch.list_namespaced_job, self.namespace, **kwargs):
                    if stop.is_set():
                        return
                    obj = event.get("object")
                    if event.get("type") == "ERROR":
                        code = obj.get("code") if isinstance(obj, dict) else getattr(obj, "code", None)
                        if code == 410:
                            version = None
                            stop.wait(0.2)  # re-list, without hammering a server that keeps saying Gone
                            break
                        continue
                    if obj is not None and getattr(obj, "metadata", None) and obj.metadata.resource_version:
                        version = obj.metadata.resource_version
                    on_event(event.get("type"))
            except ApiException as exc:
                if exc.status == 410:
                    version = None  # expired: re-list
                    stop.wait(0.2)
                    continue
                stop.wait(1)
            except Exception:
                stop.wait(1)

    # ---- the coordination Lease ----------------------------------------------------------

    def read_lease(self, name: str):
        self._count()
        return _call(self.coord.read_namespaced_lease, name, self.namespace, missing_ok=True)

    def write_lease(self, name: str, holder: str, duration: int, now_iso: str, current) -> bool:
        """Take or renew the lease; False when another replica wrote it first."""
        self._count()
        body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": name, "namespace": self.namespace},
                "spec": {"holderIdentity": holder, "leaseDurationSeconds": duration, "renewTime": now_iso,
                         "acquireTime": now_iso}}
        try:
            if current is None:
                self.coord.create_namespaced_lease(self.namespace, body)
            elif current.metadata.resource_version:
                # Optimistic concurrency: the write fails if someone renewed since we read.
                body["metadata"]["resourceVersion"] = current.metadata.resource_version
                self.coord.replace_namespaced_lease(name, self.namespace, body)
            else:
                self.coord.patch_namespaced_lease(name, self.namespace, {"spec": body["spec"]})
            return True
        except ApiException as exc:
            if exc.status in (409, 422):
                return False
            raise ClusterError(f"Kubernetes API answered {exc.status}") from exc
