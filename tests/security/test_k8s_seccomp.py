"""Issue "compute guarantees", 3 (system calls), on Kubernetes: the algorithm pod keeps
RuntimeDefault, or, where the nodes carry it, the sandbox's own list as a Localhost profile."""
import json

import kubernetes_validate

from provider.compute import contract
from provider.compute.k8s.checks import problems
from provider.compute.k8s.manifests import JobResources, build_algorithm_job
from provider.compute.seccomp import BLOCKED_X86_64, container_profile
from provider.config import PROJECT_ROOT, ClusterSettings

CONTAINER = {"image": "python", "tag": "3.11", "checksum": "sha256:" + "ab" * 32, "entrypoint": "python3 $ALGO"}


def algorithm_job(cluster: ClusterSettings) -> dict:
    return build_algorithm_job("job1", CONTAINER, contract.entrypoint_for("python3 $ALGO"), {},
                               JobResources(cpu=1, memory_bytes=2 ** 28, disk_bytes=2 ** 28), cluster)


def seccomp_of(job: dict) -> dict:
    return job["spec"]["template"]["spec"]["containers"][0]["securityContext"]["seccompProfile"]


def test_runtime_default_unless_a_profile_is_configured():
    assert seccomp_of(algorithm_job(ClusterSettings())) == {"type": "RuntimeDefault"}


def test_the_sandbox_list_as_a_localhost_profile_is_a_valid_restricted_pod():
    job = algorithm_job(ClusterSettings(seccomp_profile="ocean-c2d.json"))
    assert seccomp_of(job) == {"type": "Localhost", "localhostProfile": "ocean-c2d.json"}
    assert problems(job) == []
    for version in ("1.27", "1.30", "1.33"):
        kubernetes_validate.validate(job, version, strict=True)


def test_the_shipped_profile_is_the_sandbox_list():
    shipped = json.loads((PROJECT_ROOT / "deploy/kubernetes/seccomp/ocean-c2d.json").read_text())
    assert shipped == container_profile()
    refused = shipped["syscalls"][0]["names"]
    assert set(refused) == set(BLOCKED_X86_64) and "io_uring_setup" in refused and "bpf" in refused
