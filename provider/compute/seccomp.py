"""The sandbox's system-call filter (pure): a classic-BPF program for bubblewrap's `--seccomp`.

A blocklist, after Flatpak's (`common/flatpak-run.c`) and `k8s-and-sandbox.md` §4: calls no
algorithm needs that widen the kernel's attack surface or reach outside the sandbox answer
EPERM: io_uring, keyctl, bpf, userfaultfd, perf_event_open, ptrace and cross-process memory,
module and kexec loading, mount and the new mount API, namespaces (unshare, setns), swap,
reboot, clocks, quotas, handle-based opens, NUMA page moves. `clone3` answers ENOSYS instead,
so the C library falls back to `clone` (which bubblewrap's `--disable-userns` already keeps
from making user namespaces). System calls of another ABI (x32, or i386 on x86_64) are refused
whole: a filter keyed on x86_64 numbers cannot judge them.

The program is assembled here rather than by libseccomp, whose Python binding exists only
for the system interpreter; it is small enough to read: load the architecture, refuse a
foreign one, load the call number, refuse x32 numbers, compare with each blocked number.
"""
from __future__ import annotations

import errno
import platform
import struct

# BPF opcodes (linux/bpf_common.h) and seccomp return values (linux/seccomp.h).
_LD_W_ABS = 0x20     # BPF_LD | BPF_W | BPF_ABS
_JEQ_K = 0x15        # BPF_JMP | BPF_JEQ | BPF_K
_JGE_K = 0x35        # BPF_JMP | BPF_JGE | BPF_K
_RET_K = 0x06        # BPF_RET | BPF_K
RET_ALLOW = 0x7FFF0000
RET_ERRNO = 0x00050000
_OFFSET_NR, _OFFSET_ARCH = 0, 4  # struct seccomp_data
X32_SYSCALL_BIT = 0x40000000

AUDIT_ARCH = {"x86_64": 0xC000003E}

BLOCKED_X86_64 = {
    "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311, "personality": 135,
    "mount": 165, "umount2": 166, "pivot_root": 155, "chroot": 161, "unshare": 272, "setns": 308,
    "keyctl": 250, "add_key": 248, "request_key": 249, "bpf": 321, "perf_event_open": 298,
    "userfaultfd": 323, "init_module": 175, "finit_module": 313, "delete_module": 176,
    "kexec_load": 246, "kexec_file_load": 320, "acct": 163, "syslog": 103, "quotactl": 179,
    "open_by_handle_at": 304, "name_to_handle_at": 303, "fanotify_init": 300, "move_pages": 279,
    "mbind": 237, "migrate_pages": 256, "io_uring_setup": 425, "io_uring_enter": 426,
    "io_uring_register": 427, "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431,
    "fsmount": 432, "fspick": 433, "mount_setattr": 442, "swapon": 167, "swapoff": 168, "reboot": 169,
    "settimeofday": 164, "clock_settime": 227, "adjtimex": 159, "clock_adjtime": 305, "iopl": 172,
    "ioperm": 173, "lookup_dcookie": 212, "vhangup": 153, "uselib": 134, "kcmp": 312,
}
ENOSYS_X86_64 = {"clone3": 435}


def _insn(code: int, jt: int, jf: int, k: int) -> bytes:
    return struct.pack("<HBBI", code, jt, jf, k)


def build_filter(machine: str | None = None) -> bytes | None:
    """The compiled filter for this machine's architecture, or None where we have no table."""
    machine = machine or platform.machine()
    if machine != "x86_64":
        return None
    blocked = sorted(BLOCKED_X86_64.values())
    enosys = sorted(ENOSYS_X86_64.values())
    program: list[tuple] = [
        ("ld", _OFFSET_ARCH),
        ("jne", AUDIT_ARCH[machine], "deny"),
        ("ld", _OFFSET_NR),
        ("jge", X32_SYSCALL_BIT, "deny"),
        *[("jeq", nr, "enosys") for nr in enosys],
        *[("jeq", nr, "deny") for nr in blocked],
        ("ret", RET_ALLOW),
    ]
    labels = {"enosys": len(program), "deny": len(program) + 1}
    program += [("ret", RET_ERRNO | errno.ENOSYS), ("ret", RET_ERRNO | errno.EPERM)]
    out = []
    for index, (op, *args) in enumerate(program):
        if op == "ld":
            out.append(_insn(_LD_W_ABS, 0, 0, args[0]))
        elif op == "ret":
            out.append(_insn(_RET_K, 0, 0, args[0]))
        else:
            value, label = args
            offset = labels[label] - index - 1
            if op == "jeq":
                out.append(_insn(_JEQ_K, offset, 0, value))
            elif op == "jge":
                out.append(_insn(_JGE_K, offset, 0, value))
            else:  # jne: jump to the label when not equal
                out.append(_insn(_JEQ_K, 0, offset, value))
    return b"".join(out)


def container_profile() -> dict:
    """The same blocklist as a seccomp profile in the OCI/Docker JSON format, for the Kubernetes
    algorithm pod (`securityContext.seccompProfile: Localhost`, where the cluster's nodes carry
    it: `deploy/kubernetes/seccomp/ocean-c2d.json`)."""
    return {
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [
            {"names": sorted(BLOCKED_X86_64), "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EPERM},
            {"names": sorted(ENOSYS_X86_64), "action": "SCMP_ACT_ERRNO", "errnoRet": errno.ENOSYS},
        ],
    }

