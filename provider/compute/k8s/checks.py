"""What a schema cannot see but an API server (or a careful operator) refuses (pure).

`kubernetes-validate` checks the OpenAPI schema only; these checks cover the rest that we
rely on: DNS-1123 names within 63 characters, valid label values, quantities that parse,
`restartPolicy` legal for a Job, images pinned by digest, and the Pod Security "restricted"
settings present on every container.
"""
from __future__ import annotations

import re
from typing import Any

DNS_1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
QUANTITY = re.compile(r"^([0-9]+(\.[0-9]+)?)(m|Ki|Mi|Gi|Ti|k|M|G|T)?$")
DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


def _containers(pod_spec: dict[str, Any]) -> list[dict[str, Any]]:
    return list(pod_spec.get("initContainers", [])) + list(pod_spec.get("containers", []))


def problems(obj: dict[str, Any]) -> list[str]:
    """Everything wrong with one manifest; empty when it is fine."""
    found = []
    meta = obj.get("metadata", {})
    name = meta.get("name", "")
    if not DNS_1123.match(name) or len(name) > 63:
        found.append(f"name {name!r} is not a DNS-1123 label of at most 63 characters")
    for key, value in (meta.get("labels") or {}).items():
        if len(value) > 63 or not LABEL_VALUE.match(value):
            found.append(f"label {key}={value!r} is not a valid label value")
    if obj.get("kind") == "PersistentVolumeClaim":
        storage = obj["spec"]["resources"]["requests"]["storage"]
        if not QUANTITY.match(storage):
            found.append(f"storage {storage!r} is not a quantity")
    if obj.get("kind") == "Job":
        spec = obj["spec"]
        pod = spec["template"]["spec"]
        if pod.get("restartPolicy") not in ("Never", "OnFailure"):
            found.append("a Job's restartPolicy must be Never or OnFailure")
        if spec.get("backoffLimit") != 0:
            found.append("backoffLimit must be 0")
        if not isinstance(spec.get("activeDeadlineSeconds"), int) or spec["activeDeadlineSeconds"] <= 0:
            found.append("activeDeadlineSeconds must be a positive integer")
        if pod.get("automountServiceAccountToken") is not False:
            found.append("the service-account token must not be mounted")
        pod_ctx = pod.get("securityContext") or {}
        if pod_ctx.get("runAsNonRoot") is not True or (pod_ctx.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
            found.append("pod securityContext must be runAsNonRoot with RuntimeDefault seccomp")
        for container in _containers(pod):
            cname = container.get("name")
            if not DIGEST.search(container.get("image", "")):
                found.append(f"container {cname}: image is not pinned by digest")
            ctx = container.get("securityContext") or {}
            if (ctx.get("allowPrivilegeEscalation") is not False or ctx.get("readOnlyRootFilesystem") is not True
                    or ctx.get("runAsNonRoot") is not True or (ctx.get("capabilities") or {}).get("drop") != ["ALL"]
                    or ctx.get("privileged")):
                found.append(f"container {cname}: securityContext is not restricted")
            resources = container.get("resources") or {}
            if resources.get("requests") != resources.get("limits") or not resources.get("limits"):
                found.append(f"container {cname}: requests must equal limits")
            for value in (resources.get("limits") or {}).values():
                if not QUANTITY.match(str(value)):
                    found.append(f"container {cname}: {value!r} is not a quantity")
    return found
