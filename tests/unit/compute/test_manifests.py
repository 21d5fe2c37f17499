"""Manifest builders: whole manifests, one test per setting, schema and semantic checks."""

import kubernetes_validate
import pytest
import yaml

from provider.access.netpolicy import NON_PUBLIC_IPV4
from provider.compute.k8s.checks import problems
from provider.config import ClusterSettings
from provider.compute.k8s.manifests import (
    JobResources, build_algorithm_job, build_algorithm_network_policy, job_objects,
    label_value, object_name, pinned_image,
)
from provider.config import PROJECT_ROOT

JOB_ID = "4d32c0ffee4d32c0ffee4d32c0ffee12"
DIGEST = "sha256:" + "ab" * 32
CONTAINER = {"entrypoint": "python3 $ALGO", "image": "python", "tag": "3.11", "checksum": DIGEST}
CLUSTER = ClusterSettings(provider_image="registry.example.org/ocean-provider@sha256:" + "cd" * 32)
RESOURCES = JobResources(cpu=1.5, memory_bytes=2 * 1024**3, disk_bytes=1024**3, max_duration=900)
VERSIONS = ["1.27", "1.30", "1.33"]


def all_objects(**overrides):
    resources = JobResources(**{**RESOURCES.__dict__, **overrides})
    objects = []
    for phase in ("fetch", "algorithm", "publish"):
        objects += job_objects(JOB_ID, phase, token="t0k", cluster=CLUSTER, resources=resources,
                               container=CONTAINER, entrypoint="python3 /data/transformations/algorithm",
                               environment={"DIDS": '["did:op:1"]'}, phase_deadline=300)
    return objects


def test_algorithm_job_whole_manifest():
    job = build_algorithm_job(JOB_ID, CONTAINER, "python3 /data/transformations/algorithm", {"DIDS": "[]"},
                              RESOURCES, CLUSTER)
    limits = {"cpu": "1500m", "memory": "2048Mi", "ephemeral-storage": "128Mi"}
    labels = {"app.kubernetes.io/managed-by": "ocean-provider", "app.kubernetes.io/part-of": "ocean-compute",
              "ocean.c2d/job-id": JOB_ID, "ocean.c2d/phase": "algorithm"}
    assert job == {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": f"c2d-{JOB_ID}-algorithm", "namespace": "ocean-compute", "labels": labels,
                     "annotations": {}},
        "spec": {
            "backoffLimit": 0, "activeDeadlineSeconds": 900, "ttlSecondsAfterFinished": 600,
            "template": {"metadata": {"labels": labels}, "spec": {
                "restartPolicy": "Never", "automountServiceAccountToken": False, "enableServiceLinks": False,
                "securityContext": {"runAsNonRoot": True, "runAsUser": 65532, "runAsGroup": 65532,
                                    "fsGroup": 65532, "seccompProfile": {"type": "RuntimeDefault"}},
                "containers": [{
                    "name": "algorithm", "image": f"python@{DIGEST}", "imagePullPolicy": "IfNotPresent",
                    "command": ["/bin/sh", "-c", "python3 /data/transformations/algorithm"],
                    "workingDir": "/data", "env": [{"name": "DIDS", "value": "[]"}],
                    "volumeMounts": [
                        {"name": "data", "mountPath": "/data/inputs", "subPath": "inputs", "readOnly": True},
                        {"name": "data", "mountPath": "/data/transformations", "subPath": "transformations",
                         "readOnly": True},
                        {"name": "data", "mountPath": "/data/ddos", "subPath": "ddos", "readOnly": True},
                        {"name": "data", "mountPath": "/data/outputs", "subPath": "outputs"},
                        {"name": "data", "mountPath": "/data/logs", "subPath": "logs"},
                        {"name": "tmp", "mountPath": "/tmp"},
                    ],
                    "resources": {"requests": limits, "limits": limits},
                    "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                        "runAsNonRoot": True, "privileged": False,
                                        "capabilities": {"drop": ["ALL"]},
                                        "seccompProfile": {"type": "RuntimeDefault"}},
                }],
                "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": f"c2d-{JOB_ID}-data"}},
                            {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}}],
            }},
        },
    }


def test_deny_all_policy_unless_network_is_allowed_then_public_addresses_only():
    kinds = [o["kind"] for o in job_objects(JOB_ID, "algorithm", token="", cluster=CLUSTER, resources=RESOURCES,
                                            container=CONTAINER)]
    assert kinds == ["NetworkPolicy", "Job"]
    policy = build_algorithm_network_policy(JOB_ID, CLUSTER)
    assert policy["spec"]["egress"] == [] and policy["spec"]["ingress"] == []
    allowed = job_objects(JOB_ID, "algorithm", token="", cluster=CLUSTER,
                          resources=JobResources(**{**RESOURCES.__dict__, "network": True}), container=CONTAINER)
    assert [o["kind"] for o in allowed] == ["NetworkPolicy", "Job"]
    # an allowed network is public addresses and DNS only: no pod, node, private range or metadata
    public, dns = allowed[0]["spec"]["egress"]
    block = public["to"][0]["ipBlock"]
    assert block["cidr"] == "0.0.0.0/0" and set(block["except"]) == set(NON_PUBLIC_IPV4)
    assert {"10.0.0.0/8", "169.254.0.0/16", "127.0.0.0/8"} <= set(block["except"])
    assert dns["to"][0]["podSelector"] == {"matchLabels": {"k8s-app": "kube-dns"}}
    assert allowed[0]["spec"]["ingress"] == []


def test_gpu_node_selector_tolerations_and_pull_secret():
    cluster = ClusterSettings(node_selector={"gpu": "a100"}, tolerations=({"key": "gpu", "operator": "Exists"},),
                              image_pull_secret="regcred")
    job = build_algorithm_job(JOB_ID, CONTAINER, "x", {}, JobResources(**{**RESOURCES.__dict__, "gpus": 1}), cluster)
    pod = job["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"gpu": "a100"} and pod["tolerations"][0]["key"] == "gpu"
    assert pod["imagePullSecrets"] == [{"name": "regcred"}]
    assert pod["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"


def test_fetch_and_publish_use_the_provider_image_and_a_token_secret():
    objects = all_objects()
    jobs = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Job"}
    fetch = jobs[f"c2d-{JOB_ID}-fetch"]["spec"]["template"]["spec"]["containers"][0]
    assert fetch["image"] == CLUSTER.provider_image and fetch["command"] == ["ocean-provider", "pod", "fetch"]
    assert fetch["env"][0]["valueFrom"]["secretKeyRef"]["name"] == f"c2d-{JOB_ID}-fetch-token"
    publish = jobs[f"c2d-{JOB_ID}-publish"]["spec"]["template"]["spec"]["containers"][0]
    assert all(m.get("readOnly") for m in publish["volumeMounts"] if m["name"] == "data")
    egress = [o for o in objects if o["kind"] == "NetworkPolicy" and o["metadata"]["name"].endswith("fetch-egress")][0]
    assert egress["spec"]["egress"][0]["ports"] == [{"protocol": "TCP", "port": 8030}]


def test_names_and_labels_stay_valid_for_long_ids():
    long_id = "X" * 100
    assert len(object_name(long_id, "algorithm")) <= 63
    assert len(label_value(long_id)) <= 63
    assert object_name(long_id, "fetch") != object_name("Y" * 100, "fetch")


def test_unpinned_images_are_flagged():
    job = build_algorithm_job(JOB_ID, {**CONTAINER, "checksum": "sha256:short"}, "x", {}, RESOURCES, CLUSTER)
    assert pinned_image({**CONTAINER, "checksum": ""}) == "python:3.11"
    assert any("not pinned by digest" in p for p in problems(job))


@pytest.mark.parametrize("version", VERSIONS)
def test_every_generated_manifest_validates_strictly(version):
    for obj in all_objects() + all_objects(network=True, gpus=2):
        kubernetes_validate.validate(obj, version, strict=True)
        assert problems(obj) == [], (obj["metadata"]["name"], problems(obj))


def deploy_documents():
    for path in sorted((PROJECT_ROOT / "deploy" / "kubernetes").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                yield path.name, doc


@pytest.mark.parametrize("version", VERSIONS)
def test_deploy_files_validate_strictly(version):
    documents = list(deploy_documents())
    assert {d["kind"] for _, d in documents} >= {"Namespace", "ServiceAccount", "Role", "RoleBinding", "Deployment",
                                                "Service", "ResourceQuota", "LimitRange", "NetworkPolicy"}
    for name, doc in documents:
        kubernetes_validate.validate(doc, version, strict=True)


def test_semantic_checks_catch_what_the_schema_misses():
    job = build_algorithm_job(JOB_ID, CONTAINER, "x", {}, RESOURCES, CLUSTER)
    job["metadata"]["name"] = "Bad_Name"
    job["spec"]["activeDeadlineSeconds"] = -5
    job["spec"]["template"]["spec"]["restartPolicy"] = "Always"
    job["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"] = "256MBB"
    job["spec"]["template"]["spec"]["containers"][0]["securityContext"]["capabilities"]["drop"] = ["EVERYTHING"]
    kubernetes_validate.validate(job, "1.30", strict=True)  # the schema accepts all of this
    found = problems(job)
    for fragment in ("DNS-1123", "activeDeadlineSeconds", "restartPolicy", "quantity", "not restricted"):
        assert any(fragment in p for p in found), (fragment, found)


def test_provider_deployment_is_restricted_too():
    deployment = next(d for _, d in deploy_documents() if d["kind"] == "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    for container in pod["containers"]:
        ctx = container["securityContext"]
        assert ctx["allowPrivilegeEscalation"] is False and ctx["capabilities"]["drop"] == ["ALL"]
    role = next(d for _, d in deploy_documents() if d["kind"] == "Role")
    verbs = {v for rule in role["rules"] for v in rule["verbs"]}
    assert "*" not in verbs and "escalate" not in verbs and "bind" not in verbs
    assert all("*" not in rule["resources"] for rule in role["rules"])
