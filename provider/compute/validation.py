"""Compute workflow rules (pure): containers and which algorithms a dataset admits.

Error codes are the reference's (provider-api.md §8.2); failures raise `WorkflowError`, which
answers 400 `{"error": {"<resource>": "<code>"}}`.
"""
from __future__ import annotations

import hashlib
from typing import Any

from provider.errors import InvalidRequest


class WorkflowError(InvalidRequest):
    def __init__(self, resource: str, code: str):
        super().__init__({resource: code})
        self.resource = resource
        self.code = code


def container_section_checksum(container: dict[str, Any]) -> str:
    """sha256(entrypoint + checksum), as ocean.py computes `containerSectionChecksum`."""
    return hashlib.sha256((str(container.get("entrypoint", "")) + str(container.get("checksum", ""))).encode()).hexdigest()


def check_container(container: Any) -> str | None:
    """None if the container is usable, else the reference's code."""
    if not isinstance(container, dict) or not all(container.get(k) for k in ("entrypoint", "image", "checksum")):
        return "missing_entrypoint_image_checksum"
    if not str(container["checksum"]).startswith("sha256:"):
        return "checksum_prefix"
    return None


def check_trust(compute: dict[str, Any] | None, *, algorithm_did: str | None, algorithm_owner: str | None,
                files_checksum: str | None, container_checksum: str | None, allow_any_published: bool) -> str | None:
    """Does this compute service admit this algorithm? None if yes, else the code.

    Raw algorithms need `allowRawAlgorithm`. A published algorithm must satisfy every non-empty
    list: its publisher in `publisherTrustedAlgorithmPublishers` (any letter case), its DID in
    `publisherTrustedAlgorithms` with matching file and container checksums when those are
    set. With both lists empty, no published algorithm is admitted unless the operator
    restores the reference's admit-all behaviour (`allow_any_published`).
    """
    compute = compute if isinstance(compute, dict) else {}
    if algorithm_did is None:
        return None if compute.get("allowRawAlgorithm") else "no_raw_algo_allowed"
    publishers = compute.get("publisherTrustedAlgorithmPublishers") or []
    algorithms = compute.get("publisherTrustedAlgorithms") or []
    if not isinstance(publishers, list) or not isinstance(algorithms, list):
        return "no_publisherTrustedAlgorithms"
    if not publishers and not algorithms:
        return None if allow_any_published else "not_trusted_algo"
    if publishers and str(algorithm_owner or "").lower() not in {str(p).lower() for p in publishers}:
        return "not_trusted_algo_publisher"
    if algorithms:
        entry = next((a for a in algorithms if isinstance(a, dict) and a.get("did") == algorithm_did), None)
        if entry is None:
            if any(not isinstance(a, dict) for a in algorithms):
                return "no_publisherTrustedAlgorithms"
            return "not_trusted_algo"
        if entry.get("filesChecksum") and entry["filesChecksum"].lower() != (files_checksum or "").lower():
            return "algorithm_file_checksum_mismatch"
        if entry.get("containerSectionChecksum") and entry["containerSectionChecksum"].lower() != (
                container_checksum or "").lower():
            return "algorithm_container_checksum_mismatch"
    return None
