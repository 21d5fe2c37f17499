"""Kubernetes manifests for one compute job (pure: dicts in, dicts out, no client).

Per job: a PersistentVolumeClaim shared by three Jobs, run one after another:
- fetch (the provider's own image): pulls the staged inputs bundle from the provider's
  internal endpoint with a one-time token and unpacks it into the volume; dataset URLs and
  publisher keys never enter the cluster;
- algorithm (the algorithm's image, pinned by digest): inputs, algorithm and DDOs mounted
  read-only, outputs and logs writable, nothing else writable (read-only root filesystem, a
  small in-memory /tmp), requests = limits, a deadline, no retries, no service-account token,
  the Pod Security "restricted" profile; a deny-all NetworkPolicy unless network is allowed;
- publish (the provider's own image): uploads outputs and logs to the provider, with a
  one-time token.
Fetch and publish pods may reach only the provider's pods (and DNS).
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from provider.access.netpolicy import NON_PUBLIC_IPV4
from provider.compute import contract
from provider.config import ClusterSettings

MANAGED_BY = "ocean-provider"
LABEL_JOB = "ocean.c2d/job-id"
LABEL_PHASE = "ocean.c2d/phase"
ANNOTATION_PREFIX = "ocean.c2d/"
PHASES = ("fetch", "algorithm", "publish")
SANDBOX_UID = 65532


@dataclass(frozen=True)
class JobResources:
    cpu: float
    memory_bytes: int
    disk_bytes: int
    gpus: int = 0
    max_duration: int = 3600
    network: bool = False


def label_value(value: str) -> str:
    """A valid label value (<= 63, alphanumerics at both ends), hashed when too long."""
    cleaned = re.sub(r"[^A-Za-z0-9_.-]", "-", value).strip("-_.")
    if len(cleaned) <= 63:
        return cleaned
    digest = hashlib.sha256(value.encode()).hexdigest()[:10]
    return cleaned[:52].rstrip("-_.") + "-" + digest


def object_name(job_id: str, suffix: str) -> str:
    """DNS-1123 name for a job's object: `c2d-<job id>-<suffix>`, at most 63 characters."""
    base = re.sub(r"[^a-z0-9-]", "-", job_id.lower()).strip("-")
    name = f"c2d-{base}-{suffix}"
    if len(name) <= 63:
        return name
    digest = hashlib.sha256(job_id.encode()).hexdigest()[:12]
    return f"c2d-{digest}-{suffix}"[:63].rstrip("-")


def job_labels(job_id: str, phase: str | None = None) -> dict[str, str]:
    labels = {"app.kubernetes.io/managed-by": MANAGED_BY, "app.kubernetes.io/part-of": "ocean-compute",
              LABEL_JOB: label_value(job_id)}
    if phase:
        labels[LABEL_PHASE] = phase
    return labels


def quantity(bytes_: int) -> str:
    """Bytes as a Kubernetes quantity in Mi (rounded up)."""
    return f"{-(-bytes_ // (1024 * 1024))}Mi"


def cpu_quantity(cpus: float) -> str:
    return f"{int(round(cpus * 1000))}m"


def pinned_image(container: dict[str, Any]) -> str:
    """`image@sha256:...` when the DDO has a digest, else `image:tag` (refused by `checks`)."""
    image = str(container.get("image", ""))
    checksum = str(container.get("checksum") or "")
    if checksum.startswith("sha256:") and re.fullmatch(r"sha256:[0-9a-f]{64}", checksum):
        return f"{image}@{checksum}"
    tag = container.get("tag") or "latest"
    return f"{image}:{tag}"


def _restricted_container_context() -> dict[str, Any]:
    return {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "runAsNonRoot": True,
            "privileged": False, "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}


def _algorithm_seccomp(cluster: ClusterSettings) -> dict[str, str]:
    """The runtime's default filter, or the sandbox's own list where the nodes carry it."""
    if cluster.seccomp_profile:
        return {"type": "Localhost", "localhostProfile": cluster.seccomp_profile}
    return {"type": "RuntimeDefault"}


def _pod_security_context() -> dict[str, Any]:
    return {"runAsNonRoot": True, "runAsUser": SANDBOX_UID, "runAsGroup": SANDBOX_UID, "fsGroup": SANDBOX_UID,
            "seccompProfile": {"type": "RuntimeDefault"}}


def build_pvc(job_id: str, resources: JobResources, cluster: ClusterSettings) -> dict[str, Any]:
    spec: dict[str, Any] = {"accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": quantity(resources.disk_bytes * 2)}}}
    if cluster.storage_class:
        spec["storageClassName"] = cluster.storage_class
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": object_name(job_id, "data"), "namespace": cluster.namespace,
                         "labels": job_labels(job_id)},
            "spec": spec}


def build_token_secret(job_id: str, phase: str, token: str, cluster: ClusterSettings) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": object_name(job_id, f"{phase}-token"), "namespace": cluster.namespace,
                         "labels": job_labels(job_id, phase)},
            "stringData": {"token": token}}


def _job(job_id: str, phase: str, pod_spec: dict[str, Any], deadline: int, cluster: ClusterSettings,
         annotations: dict[str, str] | None = None) -> dict[str, Any]:
    pod_spec = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": _pod_security_context(),
        **pod_spec,
    }
    if cluster.node_selector:
        pod_spec["nodeSelector"] = dict(cluster.node_selector)
    if cluster.tolerations:
        pod_spec["tolerations"] = [dict(t) for t in cluster.tolerations]
    if cluster.image_pull_secret:
        pod_spec["imagePullSecrets"] = [{"name": cluster.image_pull_secret}]
    return {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": object_name(job_id, phase), "namespace": cluster.namespace,
                     "labels": job_labels(job_id, phase), "annotations": dict(annotations or {})},
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": int(deadline),
            "ttlSecondsAfterFinished": cluster.ttl_seconds_after_finished,
            "template": {"metadata": {"labels": job_labels(job_id, phase)}, "spec": pod_spec},
        },
    }


def _phase_resources(cluster: ClusterSettings) -> dict[str, Any]:
    values = {"cpu": cluster.phase_cpu, "memory": cluster.phase_memory, "ephemeral-storage": "64Mi"}
    return {"requests": dict(values), "limits": dict(values)}


def _provider_pod(job_id: str, phase: str, args: list[str], mounts: list[dict], cluster: ClusterSettings) -> dict:
    return {
        "containers": [{
            "name": phase,
            "image": cluster.provider_image,
            "imagePullPolicy": "IfNotPresent",
            "command": ["ocean-provider", "pod", phase],
            "args": args,
            "env": [{"name": "JOB_TOKEN", "valueFrom": {"secretKeyRef": {
                "name": object_name(job_id, f"{phase}-token"), "key": "token"}}}],
            "volumeMounts": mounts + [{"name": "tmp", "mountPath": "/tmp"}],
            "resources": _phase_resources(cluster),
            "securityContext": _restricted_container_context(),
        }],
        "volumes": [
            {"name": "data", "persistentVolumeClaim": {"claimName": object_name(job_id, "data")}},
            {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}},
        ],
    }


def build_fetch_job(job_id: str, deadline: int, cluster: ClusterSettings) -> dict[str, Any]:
    pod = _provider_pod(job_id, "fetch", ["--provider", cluster.internal_url, "--job", job_id, "--data", "/data"],
                        [{"name": "data", "mountPath": "/data"}], cluster)
    return _job(job_id, "fetch", pod, deadline, cluster)


def build_publish_job(job_id: str, deadline: int, cluster: ClusterSettings) -> dict[str, Any]:
    pod = _provider_pod(job_id, "publish", ["--provider", cluster.internal_url, "--job", job_id, "--data", "/data"],
                        [{"name": "data", "mountPath": f"{contract.VOLUME}/{sub}", "subPath": sub, "readOnly": True}
                         for sub in contract.WRITABLE], cluster)
    return _job(job_id, "publish", pod, deadline, cluster)


def build_algorithm_job(job_id: str, container: dict[str, Any], entrypoint: str, environment: dict[str, str],
                        resources: JobResources, cluster: ClusterSettings) -> dict[str, Any]:
    limits: dict[str, str] = {"cpu": cpu_quantity(resources.cpu), "memory": quantity(resources.memory_bytes),
                              "ephemeral-storage": "128Mi"}
    if resources.gpus:
        limits["nvidia.com/gpu"] = str(resources.gpus)
    mounts = [{"name": "data", "mountPath": f"{contract.VOLUME}/{sub}", "subPath": sub, "readOnly": True}
              for sub in contract.READ_ONLY]
    mounts += [{"name": "data", "mountPath": f"{contract.VOLUME}/{sub}", "subPath": sub} for sub in contract.WRITABLE]
    mounts.append({"name": "tmp", "mountPath": "/tmp"})
    pod = {
        "containers": [{
            "name": "algorithm",
            "image": pinned_image(container),
            "imagePullPolicy": "IfNotPresent",
            "command": ["/bin/sh", "-c", entrypoint],
            "workingDir": contract.VOLUME,
            "env": [{"name": k, "value": v} for k, v in environment.items()],
            "volumeMounts": mounts,
            "resources": {"requests": dict(limits), "limits": dict(limits)},
            "securityContext": _restricted_container_context() | {"seccompProfile": _algorithm_seccomp(cluster)},
        }],
        "volumes": [
            {"name": "data", "persistentVolumeClaim": {"claimName": object_name(job_id, "data")}},
            {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}},
        ],
    }
    return _job(job_id, "algorithm", pod, resources.max_duration, cluster)


_DNS_EGRESS = {"to": [{"namespaceSelector": {}, "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
               "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}


def build_algorithm_network_policy(job_id: str, cluster: ClusterSettings) -> dict[str, Any]:
    """Deny all traffic in and out of the algorithm pod (no DNS either)."""
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": object_name(job_id, "algorithm-deny"), "namespace": cluster.namespace,
                         "labels": job_labels(job_id, "algorithm")},
            "spec": {"podSelector": {"matchLabels": {LABEL_JOB: label_value(job_id), LABEL_PHASE: "algorithm"}},
                     "policyTypes": ["Ingress", "Egress"], "ingress": [], "egress": []}}


def build_algorithm_egress_policy(job_id: str, cluster: ClusterSettings) -> dict[str, Any]:
    """A job allowed onto the network reaches public addresses and the cluster's DNS, nothing
    else: no pod, no node, no private range, no cloud metadata (the file fetcher's address rule,
    `access.netpolicy.NON_PUBLIC_IPV4`, as the local sandbox applies it)."""
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": object_name(job_id, "algorithm-egress"), "namespace": cluster.namespace,
                         "labels": job_labels(job_id, "algorithm")},
            "spec": {
                "podSelector": {"matchLabels": {LABEL_JOB: label_value(job_id), LABEL_PHASE: "algorithm"}},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [],
                "egress": [
                    {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": list(NON_PUBLIC_IPV4)}}]},
                    _DNS_EGRESS,
                ],
            }}


def build_phase_network_policy(job_id: str, phase: str, cluster: ClusterSettings) -> dict[str, Any]:
    """Fetch and publish pods may talk only to the provider's pods (and resolve names)."""
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": object_name(job_id, f"{phase}-egress"), "namespace": cluster.namespace,
                         "labels": job_labels(job_id, phase)},
            "spec": {
                "podSelector": {"matchLabels": {LABEL_JOB: label_value(job_id), LABEL_PHASE: phase}},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [],
                "egress": [
                    {"to": [{"podSelector": {"matchLabels": dict(cluster.provider_pod_labels)}}],
                     "ports": [{"protocol": "TCP", "port": 8030}]},
                    _DNS_EGRESS,
                ],
            }}


def job_objects(job_id: str, phase: str, *, token: str, cluster: ClusterSettings, resources: JobResources,
                container: dict | None = None, entrypoint: str = "", environment: dict | None = None,
                phase_deadline: int = 600) -> list[dict[str, Any]]:
    """Every object a phase needs, in creation order."""
    if phase == "fetch":
        return [build_pvc(job_id, resources, cluster), build_token_secret(job_id, "fetch", token, cluster),
                build_phase_network_policy(job_id, "fetch", cluster), build_fetch_job(job_id, phase_deadline, cluster)]
    if phase == "algorithm":
        policy = build_algorithm_egress_policy if resources.network else build_algorithm_network_policy
        objects = [policy(job_id, cluster)]
        return objects + [build_algorithm_job(job_id, container or {}, entrypoint, environment or {}, resources, cluster)]
    if phase == "publish":
        return [build_token_secret(job_id, "publish", token, cluster),
                build_phase_network_policy(job_id, "publish", cluster),
                build_publish_job(job_id, phase_deadline, cluster)]
    raise ValueError(f"unknown phase {phase}")
