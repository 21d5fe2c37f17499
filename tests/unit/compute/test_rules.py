"""Pure compute rules: fees, trust, containers, status transitions, sandbox command."""
from decimal import Decimal
from pathlib import Path

import pytest

from provider.compute import status as st
from provider.compute.environments import Environment, Runtime, compute_fee
from provider.compute.contract import entrypoint_for
from provider.compute.sandbox import Limits, SandboxSpec, build_bwrap_args, build_command
from provider.compute.validation import check_container, check_trust, container_section_checksum


def test_fee_counts_whole_duration_without_wrapping_at_a_day():
    assert compute_fee(Decimal(60), 3600, 18) == 3600 * 10**18  # priceMin 60 over 1 h (reference test)
    assert compute_fee(Decimal(1), 25 * 3600, 18) == 1500 * 10**18  # the reference wrapped this to 60
    assert compute_fee(Decimal(1), 61, 6) == 2 * 10**6  # minutes rounded up, token decimals
    assert compute_fee(Decimal(0), 3600, 18) == 0 and compute_fee(Decimal(1), -5, 18) == 0


def test_runtime_matching():
    env = Environment("e", "", 1, 1, 1, 60, 1, Decimal(0), runtimes=(Runtime("python:3*", {"python3": "/usr/bin/python3"}),))
    assert env.runtime_for("python", "3.11-slim") is not None
    assert env.runtime_for("python", "2.7") is None
    assert env.runtime_for("oceanprotocol/algo_dockers", "python-branin") is None


@pytest.mark.parametrize("container,code", [
    ({"entrypoint": "python $ALGO", "image": "python", "checksum": "sha256:ab"}, None),
    ({"entrypoint": "python $ALGO", "image": "python"}, "missing_entrypoint_image_checksum"),
    ({"entrypoint": "", "image": "python", "checksum": "sha256:ab"}, "missing_entrypoint_image_checksum"),
    ({"entrypoint": "x", "image": "python", "checksum": "ab"}, "checksum_prefix"),
    ("not a dict", "missing_entrypoint_image_checksum"),
])
def test_container_check(container, code):
    assert check_container(container) == code


CONTAINER = {"entrypoint": "python $ALGO", "checksum": "sha256:00"}
TRUSTED = {"did": "did:op:a", "filesChecksum": "f1", "containerSectionChecksum": container_section_checksum(CONTAINER)}


@pytest.mark.parametrize("compute,kwargs,code", [
    ({"allowRawAlgorithm": False}, {"algorithm_did": None}, "no_raw_algo_allowed"),
    ({"allowRawAlgorithm": True}, {"algorithm_did": None}, None),
    ({}, {}, "not_trusted_algo"),
    ({}, {"allow_any_published": True}, None),
    ({"publisherTrustedAlgorithms": [TRUSTED]}, {}, None),
    ({"publisherTrustedAlgorithms": [TRUSTED]}, {"algorithm_did": "did:op:b"}, "not_trusted_algo"),
    ({"publisherTrustedAlgorithms": [TRUSTED]}, {"files_checksum": "f2"}, "algorithm_file_checksum_mismatch"),
    ({"publisherTrustedAlgorithms": [TRUSTED]}, {"container_checksum": "x"}, "algorithm_container_checksum_mismatch"),
    ({"publisherTrustedAlgorithmPublishers": ["0xAbC"]}, {}, None),
    ({"publisherTrustedAlgorithmPublishers": ["0xdef"]}, {}, "not_trusted_algo_publisher"),
    ({"publisherTrustedAlgorithms": ["garbage"]}, {}, "no_publisherTrustedAlgorithms"),
])
def test_trust_rules(compute, kwargs, code):
    args = dict(algorithm_did="did:op:a", algorithm_owner="0xabc", files_checksum="f1",
                container_checksum=container_section_checksum(CONTAINER), allow_any_published=False)
    args.update(kwargs)
    assert check_trust(compute, **args) == code


def test_status_texts_and_restart_rules():
    assert st.text(40) == "Running algorithm "
    assert st.text(1) == "Warming up" and st.text(70) == "Job finished"
    assert st.after_restart(st.QUEUED) == (st.QUEUED, None)
    assert st.after_restart(st.CONFIGURING) == (st.QUEUED, None)
    assert st.after_restart(st.RUNNING)[0] == st.RUN_FAILED
    assert st.after_restart(st.PUBLISHING) == (st.PUBLISHING, None)
    assert st.after_restart(st.FINISHED) == (st.FINISHED, None)


def test_entrypoint_replaces_algo_macro():
    assert entrypoint_for("python3 $ALGO --x") == "python3 /data/transformations/algorithm --x"
    assert entrypoint_for("node") == "node /data/transformations/algorithm"


def test_sandbox_command_layers():
    spec = SandboxSpec(Path("/jobs/j/data"), "python3 /data/transformations/algorithm", {"python3": "/usr/bin/python3"},
                       {"DIDS": "[]"}, False, Limits(256, 1.5, 32, 10, 1024), uid=999, gid=998)
    command = build_command(spec, ["/sys/fs/cgroup/memory/x/cgroup.procs"], cgroup_enforced=True)
    assert command[:2] == ["/bin/sh", "-c"] and "cgroup.procs" in command[2]
    prlimit = command.index("prlimit")
    assert "--fsize=1024" in command and "--core=0" in command
    assert not any(a.startswith("--nproc") for a in command)  # the cgroup caps processes
    setpriv = command.index("setpriv")
    assert prlimit < setpriv < command.index("bwrap")
    assert "--reuid=999" in command and "--no-new-privs" in command
    no_cgroup = build_command(spec, [], cgroup_enforced=False)
    assert no_cgroup[0] == "prlimit" and "--nproc=32" in no_cgroup and any(a.startswith("--as=") for a in no_cgroup)
    args = build_bwrap_args(spec)
    ro = [args[i + 1] for i, a in enumerate(args) if a == "--ro-bind"]
    rw = [args[i + 1] for i, a in enumerate(args) if a == "--bind"]
    assert rw == ["/jobs/j/data/outputs", "/jobs/j/data/logs"]
    assert "/jobs/j/data/inputs" in ro and "/usr" in ro
    assert "--clearenv" in args and "--die-with-parent" in args and "--disable-userns" in args
    assert args[args.index("--cap-drop") + 1] == "ALL"


def test_input_folders_are_the_did_without_its_method_for_both_ddo_generations():
    from provider.compute.contract import did_folder
    digits = "ab" * 32
    assert did_folder("did:op:" + digits) == digits and did_folder("did:ope:" + digits) == digits
