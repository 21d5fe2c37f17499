"""Issue "compute guarantees", 3 (disk): outputs and logs count against the environment's disk,
enforced by the kernel. Before: a periodic size check that `fallocate` outran (168 MiB written
under an 8 MiB quota), and 22 000 empty files counted as 0 bytes."""
import os
import shutil

import pytest

from tests.integration.test_sandbox import MIB, run

pytestmark = [pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed"),
              pytest.mark.skipif(os.geteuid() != 0, reason="quota volumes need root (loop devices)")]


def test_fallocate_cannot_outrun_the_quota(sandbox_dir):
    code = """
    import os
    fd = os.open("/data/outputs/huge", os.O_CREAT | os.O_WRONLY)
    try:
        os.posix_fallocate(fd, 0, 168 * 1024 * 1024)
        print("allocated")
    except OSError as exc:
        print("refused", exc.errno)
    """
    outcome, paths, log = run(sandbox_dir, code, output=8 * MIB)
    assert "allocated" not in log, log
    assert sum(f.stat().st_blocks * 512 for f in (paths.data / "outputs").glob("*")) <= 8 * MIB


def test_empty_files_count_against_the_file_cap(sandbox_dir):
    code = """
    made = 0
    try:
        for i in range(22000):
            open(f"/data/outputs/f{i}", "w").close()
            made += 1
    except OSError as exc:
        print("stopped at", made, exc.errno)
    """
    outcome, paths, log = run(sandbox_dir, code, output=8 * MIB)
    assert "stopped at" in log, log
    assert outcome.quota_exceeded
    assert len(list((paths.data / "outputs").iterdir())) < 22000


def test_logs_count_against_the_disk_too(sandbox_dir):
    code = """
    with open("/data/logs/chatty.log", "wb") as f:
        for _ in range(64):
            f.write(b"y" * 1024 * 1024)
    """
    outcome, paths, log = run(sandbox_dir, code, output=8 * MIB)
    assert outcome.quota_exceeded and "No space left on device" in log
    assert (paths.data / "logs" / "chatty.log").stat().st_size <= 8 * MIB


def test_what_fits_is_copied_out_and_the_volume_is_gone(sandbox_dir):
    outcome, paths, log = run(sandbox_dir, "open('/data/outputs/small', 'w').write('ok')\n", output=8 * MIB)
    assert outcome.exit_code == 0 and not outcome.quota_exceeded
    assert (paths.data / "outputs" / "small").read_text() == "ok"
    assert not (paths.root / "volume.img").exists() and not os.path.ismount(paths.root / "volume")


def test_nothing_else_in_the_sandbox_is_writable_or_unbounded(sandbox_dir):
    """/dev/shm held 200 MiB under a 64 MiB memory limit without cgroups; / and /dev were
    writable tmpfs without a size."""
    code = """
    import json, os
    result = {}
    for path in ("/rootfile", "/dev/x", "/data/x", "/usr/x"):
        try:
            open(path, "w").write("x"); result[path] = "writable"
        except OSError as exc:
            result[path] = exc.strerror
    try:
        for index in range(50):  # 200 MiB in files below the per-file size limit
            with open(f"/dev/shm/fill{index}", "wb") as f:
                f.write(b"z" * 4 * 1024 * 1024)
        result["shm"] = "200 MiB"
    except OSError as exc:
        result["shm"] = exc.strerror
    json.dump(result, open("/data/outputs/report.json", "w"))
    """
    outcome, paths, log = run(sandbox_dir, code, output=8 * MIB)
    import json
    result = json.loads((paths.data / "outputs" / "report.json").read_text())
    assert all(result[p] == "Read-only file system" for p in ("/rootfile", "/dev/x", "/data/x", "/usr/x")), result
    assert result["shm"] == "No space left on device"
