"""Against a real cluster, only when KUBECONFIG is set (skipped everywhere else).

1. Every generated manifest and the deploy files are accepted by the API server itself with
   `dryRun=All` in a namespace labelled Pod Security "restricted" (admission included).
2. With K8S_TEST_IMAGE (an image@sha256 digest with /bin/sh) the algorithm Job really runs:
   the engine's manifests, the restricted context, the deadline and the termination state.
"""
from __future__ import annotations

import os
import time
import uuid

import pytest

pytestmark = [pytest.mark.cluster,
              pytest.mark.skipif(not os.environ.get("KUBECONFIG"), reason="KUBECONFIG is not set: no cluster")]


@pytest.fixture(scope="module")
def api():
    from kubernetes import client, config
    config.load_kube_config()
    namespace = f"c2d-test-{uuid.uuid4().hex[:6]}"
    core = client.CoreV1Api()
    core.create_namespace({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace, "labels": {
        "pod-security.kubernetes.io/enforce": "restricted"}}})
    from provider.compute.k8s.cluster import ClusterApi
    yield ClusterApi(client.ApiClient(), namespace)
    core.delete_namespace(namespace)


def test_server_accepts_every_generated_manifest(api):
    from provider.compute.k8s.manifests import JobResources, job_objects
    from provider.config import ClusterSettings
    cluster = ClusterSettings(namespace=api.namespace)
    for phase in ("fetch", "algorithm", "publish"):
        for obj in job_objects("cluster-test", phase, token="t", cluster=cluster,
                               resources=JobResources(cpu=0.5, memory_bytes=128 * 2**20, disk_bytes=2**30),
                               container={"image": "busybox", "checksum": "sha256:" + "0" * 64, "entrypoint": "true"},
                               entrypoint="true", environment={}):
            creator = {"Job": api.batch.create_namespaced_job, "Secret": api.core.create_namespaced_secret,
                       "NetworkPolicy": api.net.create_namespaced_network_policy,
                       "PersistentVolumeClaim": api.core.create_namespaced_persistent_volume_claim}[obj["kind"]]
            creator(api.namespace, obj, dry_run="All")


@pytest.mark.skipif(not os.environ.get("K8S_TEST_IMAGE"), reason="K8S_TEST_IMAGE (image@sha256:...) not set")
def test_algorithm_job_runs_restricted_and_reports_termination(api):
    from provider.compute.k8s.manifests import JobResources, build_algorithm_job, build_pvc
    from provider.config import ClusterSettings
    image, digest = os.environ["K8S_TEST_IMAGE"].split("@")
    cluster = ClusterSettings(namespace=api.namespace)
    resources = JobResources(cpu=0.2, memory_bytes=64 * 2**20, disk_bytes=2**28, max_duration=60)
    job_id = uuid.uuid4().hex
    api.create(build_pvc(job_id, resources, cluster))
    job = build_algorithm_job(job_id, {"image": image, "checksum": digest}, "id -u; exit 3", {}, resources, cluster)
    api.create(job)
    name = job["metadata"]["name"]
    deadline = time.monotonic() + 120
    from provider.compute.k8s.orchestrator import phase_view, termination_from_pods
    while not phase_view(api.job(name)).failed and time.monotonic() < deadline:
        time.sleep(2)
    assert phase_view(api.job(name)).failed
    assert termination_from_pods(api.pods_of(name), False)["exitCode"] == 3
