"""Issue "compute guarantees", 3 (system calls): a seccomp filter in the sandbox. Before it,
`io_uring_setup` succeeded inside the sandbox (as did keyctl, bpf, userfaultfd, ...)."""
import json
import shutil

import pytest

from provider.compute.seccomp import BLOCKED_X86_64, build_filter
from tests.integration.test_sandbox import report, run

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")

PROBE = """
import ctypes, errno, json, os, threading
libc = ctypes.CDLL(None, use_errno=True)
def call(nr, *args):
    result = libc.syscall(nr, *args)
    return "ok" if result >= 0 else errno.errorcode.get(ctypes.get_errno(), str(ctypes.get_errno()))
params = ctypes.create_string_buffer(120)
report = {
    "io_uring_setup": call(425, 8, params),
    "keyctl": call(250, 0, 0, 0, 0, 0),
    "bpf": call(321, 0, 0, 0),
    "userfaultfd": call(323, 0),
    "perf_event_open": call(298, 0, 0, -1, -1, 0),
    "ptrace": call(101, 0, 0, 0, 0),
    "unshare": call(272, 0x10000000),
    "mount": call(165, b"none", b"/tmp", b"tmpfs", 0, 0),
    "clone3": call(435, 0, 0),
    "x32_getpid": call(0x40000000 + 39),
}
# what algorithms do keeps working: threads (clone), files, processes
box = []
thread = threading.Thread(target=lambda: box.append(os.getpid()))
thread.start(); thread.join()
report["thread"] = bool(box)
report["subprocess"] = os.system("true") == 0
json.dump(report, open("/data/outputs/report.json", "w"))
"""


def test_the_filter_is_well_formed():
    program = build_filter("x86_64")
    assert len(program) % 8 == 0 and len(program) // 8 == 4 + 1 + len(BLOCKED_X86_64) + 1 + 2
    assert build_filter("riscv64") is None


def test_dangerous_system_calls_are_refused_inside_the_sandbox(sandbox_dir):
    outcome, paths, log = run(sandbox_dir, PROBE)
    assert outcome.exit_code == 0, log
    result = report(paths)
    for name in ("io_uring_setup", "keyctl", "bpf", "userfaultfd", "perf_event_open", "ptrace", "unshare", "mount",
                 "x32_getpid"):
        assert result[name] == "EPERM", (name, json.dumps(result))
    assert result["clone3"] == "ENOSYS"  # so the C library falls back to clone
    assert result["thread"] is True and result["subprocess"] is True
