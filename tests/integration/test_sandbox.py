"""The bubblewrap sandbox against real algorithms: what they can and cannot do."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from provider.compute.pipeline import JobPaths
from provider.compute.contract import entrypoint_for
from provider.compute.sandbox import (
    Cgroup, Limits, SandboxSpec, build_bwrap_args, run_sandboxed, sandbox_identity,
)

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")
MIB = 1024 * 1024
UID, GID = sandbox_identity("ocean-c2d")


@pytest.fixture
def tmp_path(sandbox_dir):
    return sandbox_dir


def run(tmp_path: Path, code: str, *, network=False, memory=256 * MIB, pids=64, wall=20, output=8 * MIB,
        stop=lambda: False, environment: dict | None = None):
    paths = JobPaths(tmp_path / "job")
    paths.create(UID, GID)
    (paths.data / "inputs" / "abc").mkdir()
    (paths.data / "inputs" / "abc" / "0").write_text("1,2,3\n")
    algorithm = paths.data / "transformations" / "algorithm"
    algorithm.write_text(textwrap.dedent(code))
    os.chmod(algorithm, 0o755)
    spec = SandboxSpec(paths.data, entrypoint_for("python3 $ALGO"), {"python3": "/usr/bin/python3"},
                       {"DIDS": '["did:op:abc"]', "OUTPUTS": "/data/outputs", **(environment or {})}, network,
                       Limits(memory, 1, pids, wall, output), UID, GID)
    outcome = run_sandboxed(spec, f"test-{tmp_path.name}", paths.provider_logs / "algorithm.log", stop)
    log = (paths.provider_logs / "algorithm.log").read_text()
    return outcome, paths, log


def report(paths: JobPaths) -> dict:
    return json.loads((paths.data / "outputs" / "report.json").read_text())


PROBE = """
import json, os, socket
r = {"uid": os.getuid(), "env": sorted(os.environ), "input": open("/data/inputs/abc/0").read()}
try:
    open("/data/inputs/abc/0", "w").write("x"); r["input_write"] = "ok"
except OSError as e:
    r["input_write"] = e.strerror
try:
    open("/data/transformations/algorithm", "a").write("#"); r["algo_write"] = "ok"
except OSError as e:
    r["algo_write"] = e.strerror
try:
    s = socket.create_connection(("127.0.0.1", int(os.environ.get("PROBE_PORT", "9"))), timeout=2); r["loopback"] = "connected"
except OSError as e:
    r["loopback"] = e.strerror
try:
    socket.create_connection(("1.1.1.1", 53), timeout=2); r["internet"] = "connected"
except OSError as e:
    r["internet"] = e.strerror
r["visible"] = {p: os.path.exists(p) for p in ("/etc/passwd", "/etc/shadow", "/root", "/home", "/work",
                                               "/sys/fs/cgroup", "/run", "/var")}
r["interfaces"] = [name for _, name in socket.if_nameindex()]
json.dump(r, open("/data/outputs/report.json", "w"))
"""


def test_identity_isolation_readonly_inputs_and_no_network(tmp_path):
    outcome, paths, log = run(tmp_path, PROBE)
    assert outcome.exit_code == 0, log
    r = report(paths)
    assert r["input"] == "1,2,3\n"
    if UID is not None:
        assert r["uid"] == UID and UID != 0
    assert r["env"] == ["DIDS", "HOME", "LANG", "OUTPUTS", "PATH", "PWD"]  # nothing of the provider's
    assert r["input_write"] == "Read-only file system"
    assert r["algo_write"] in ("Read-only file system", "Permission denied")  # root-owned and on a read-only mount
    assert r["internet"] == "Network is unreachable"
    assert r["loopback"] == "Connection refused"  # its own loopback, not the host's
    assert r["interfaces"] == ["lo"]
    assert not any(r["visible"].values()), r["visible"]


def test_the_provider_configuration_key_and_database_are_not_reachable(tmp_path):
    from provider.config import PROJECT_ROOT
    code = f"""
    import json, os
    targets = [{str(PROJECT_ROOT / 'config.ini')!r}, {str(PROJECT_ROOT / '.run')!r}, "/proc/1/environ",
               "/proc/self/environ"]
    out = {{}}
    for t in targets:
        try:
            out[t] = open(t, "rb").read().decode(errors="replace")
        except OSError as e:
            out[t] = "ERR " + e.strerror
    json.dump(out, open("/data/outputs/report.json", "w"))
    """
    outcome, paths, log = run(tmp_path, code)
    r = report(paths)
    assert r[str(PROJECT_ROOT / "config.ini")].startswith("ERR")
    assert r[str(PROJECT_ROOT / ".run")].startswith("ERR")
    assert "PROVIDER_PRIVATE_KEY" not in r["/proc/1/environ"] and "NETWORK_URL" not in r["/proc/self/environ"]


def test_network_is_shared_only_when_allowed(tmp_path):
    args = build_bwrap_args(SandboxSpec(tmp_path, "x", {}, {}, True, Limits(1, 1, 1, 1, 1)))
    assert "--share-net" in args
    args = build_bwrap_args(SandboxSpec(tmp_path, "x", {}, {}, False, Limits(1, 1, 1, 1, 1)))
    assert "--share-net" not in args and "--unshare-all" in args


def test_fork_bomb_is_contained(tmp_path):
    code = """
    import os, time
    n = 0
    try:
        for _ in range(1000):
            if os.fork() == 0:
                time.sleep(5); os._exit(0)
            n += 1
    except OSError as e:
        print("fork failed after", n, e.strerror, flush=True)
    open("/data/outputs/forks", "w").write(str(n))
    """
    outcome, paths, log = run(tmp_path, code, pids=32)
    assert int((paths.data / "outputs" / "forks").read_text()) < 32
    assert "Resource temporarily unavailable" in log


def test_memory_past_the_limit_is_reported_as_oom(tmp_path):
    code = """
    blocks = []
    for _ in range(64):
        blocks.append(bytearray(16 * 1024 * 1024))
    print("allocated", flush=True)
    """
    outcome, paths, log = run(tmp_path, code, memory=128 * MIB)
    assert outcome.exit_code != 0
    cgroup = Cgroup("probe-enforced", Limits(MIB * 64, 1, 8, 1, 1))
    try:
        enforced = cgroup.enforced
    finally:
        cgroup.remove()
    if enforced:
        assert outcome.oom_killed is True and outcome.exit_code == 137
    else:
        assert "MemoryError" in log


def test_output_past_the_quota_stops_the_job(tmp_path):
    code = """
    with open("/data/outputs/big", "wb") as f:
        for _ in range(64):
            f.write(b"x" * 1024 * 1024)
    """
    outcome, paths, log = run(tmp_path, code, output=4 * MIB)
    assert outcome.quota_exceeded
    assert (paths.data / "outputs" / "big").stat().st_size <= 4 * MIB


def test_many_small_files_past_the_quota_stop_the_job(tmp_path):
    code = """
    import time
    for i in range(400):
        open(f"/data/outputs/f{i}", "wb").write(b"y" * 64 * 1024)
        time.sleep(0.005)
    """
    outcome, paths, log = run(tmp_path, code, output=4 * MIB)
    assert outcome.quota_exceeded


def test_wall_clock_limit(tmp_path):
    outcome, paths, log = run(tmp_path, "import time\ntime.sleep(60)\n", wall=2)
    assert outcome.timed_out and outcome.finished - outcome.started < 10


def test_stop_request_kills_the_algorithm_and_its_children(tmp_path):
    code = """
    import subprocess, time
    subprocess.Popen(["/bin/sh", "-c", "sleep 300"])
    time.sleep(300)
    """
    calls = {"n": 0}

    def stop():
        calls["n"] += 1
        return calls["n"] > 4

    outcome, paths, log = run(tmp_path, code, stop=stop)
    assert outcome.stopped
    leftover = subprocess.run(["pgrep", "-u", str(UID if UID is not None else os.getuid()), "-f", "sleep 300"],
                              capture_output=True, text=True).stdout.strip()
    assert leftover == ""


def test_symlinks_planted_in_outputs_are_not_followed_when_publishing(tmp_path):
    from provider.compute.pipeline import publish
    code = """
    import os
    os.symlink("/etc/shadow", "/data/outputs/shadow")
    os.symlink("/", "/data/outputs/root")
    open("/data/outputs/real.txt", "w").write("ok")
    """
    outcome, paths, log = run(tmp_path, code)
    results = publish(paths)
    outputs = [r["filename"] for r in results if r["type"] == "output"]
    assert outputs == ["real.txt"]
