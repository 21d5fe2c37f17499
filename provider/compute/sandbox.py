"""The local sandbox: an algorithm runs under bubblewrap as an unprivileged user, with limits.

What the algorithm sees: host `/usr` read-only (and the /bin, /lib symlinks into it), a
private /proc, /dev and a small /tmp, the container contract's folders (`contract.READ_ONLY`
read-only, `contract.WRITABLE` writable), and nothing else of the host: no /etc,
/home, /root, /run, /sys, no provider files, no environment but what the job defines. It has
its own user, PID, IPC, UTS, cgroup and network namespaces; the network namespace has only
loopback unless the job may use the network (dataset `allowNetworkAccess` AND the environment),
and then only a way to public addresses (`compute.egress`), never the host's own network.
All capabilities are dropped, nested user namespaces are disabled, a seccomp filter refuses
the system calls no algorithm needs (`provider.compute.seccomp`: io_uring, bpf, keyctl, ptrace,
mount, ...), and the sandbox dies with its supervisor (--die-with-parent), so a killed provider
leaves no orphan.

Limits, cgroups first: memory (no swap), CPU quota and a PID cap per job in its own cgroup
(v1 or v2, whichever the host lets us write); rlimits as a second layer (file size = output
quota, open files, no core dumps, and where no cgroup is available: processes, address space,
CPU time). Outputs and logs live on a filesystem of their own of the environment's disk size
and file count (`compute.volume`), so the kernel enforces the disk; where that cannot be made
(not root, no loop devices) the supervisor watches the outputs' size instead. Wall-clock time
is enforced by the supervisor.

`build_command` is pure; `Cgroup` and `run_sandboxed` do the I/O. This module never imports
Flask and never follows a symlink the algorithm created.
"""
from __future__ import annotations

import logging
import os
import pwd
import shlex
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from provider.compute import contract, egress
from provider.compute.seccomp import build_filter
from provider.compute.volume import QuotaVolume

log = logging.getLogger(__name__)

CGROUP_ROOT = Path("/sys/fs/cgroup")
CGROUP_PARENT = "ocean-c2d"


@dataclass(frozen=True)
class Limits:
    memory_bytes: int
    cpus: float
    pids: int
    wall_seconds: float
    output_bytes: int
    tmp_bytes: int = 64 * 1024 * 1024
    open_files: int = 256
    max_files: int = 10000      # files and folders the algorithm may create (its volume's inodes)


@dataclass(frozen=True)
class SandboxSpec:
    data_dir: Path                      # host folder with inputs/ transformations/ ddos/ outputs/ logs/
    entrypoint: str                     # with $ALGO already replaced
    commands: dict[str, str]            # name inside the sandbox -> host executable under /usr
    environment: dict[str, str]
    network: bool
    limits: Limits
    uid: int | None = None              # drop to this host user first (when we are root)
    gid: int | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    seccomp_fd: int | None = None       # an open file with the compiled filter (`compute.seccomp`)
    writable_root: Path | None = None   # where the writable folders are bound from (a quota volume)
    devices: tuple[str, ...] = ()       # host device files bound in (the GPUs the job was granted)


def build_bwrap_args(spec: SandboxSpec) -> list[str]:
    data = spec.data_dir
    args = [
        "bwrap", "--unshare-all", "--unshare-user", "--die-with-parent", "--new-session", "--hostname", "sandbox",
        "--disable-userns", "--cap-drop", "ALL",
        "--ro-bind", "/usr", "/usr",
        "--symlink", "usr/bin", "/bin", "--symlink", "usr/sbin", "/sbin",
        "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
        "--proc", "/proc", "--dev", "/dev",
        "--size", str(spec.limits.tmp_bytes), "--tmpfs", "/dev/shm",
        "--size", str(spec.limits.tmp_bytes), "--tmpfs", "/tmp",
        "--dir", contract.VOLUME,
    ]
    for folder in contract.READ_ONLY:
        args += ["--ro-bind", str(data / folder), f"{contract.VOLUME}/{folder}"]
    for folder in contract.WRITABLE:
        args += ["--bind", str((spec.writable_root or data) / folder), f"{contract.VOLUME}/{folder}"]
    args += ["--dir", "/opt/runtime/bin"]
    if spec.network:
        # The namespace shared is the job's own (`egress.wrap` made it), never the host's.
        args[2:2] = ["--share-net"]
        args += ["--ro-bind", str(data.parent / "resolv.conf"), "/etc/resolv.conf",
                 "--ro-bind", str(data.parent / "hosts"), "/etc/hosts", "--ro-bind-try", "/etc/ssl", "/etc/ssl"]
    for name, target in sorted(spec.commands.items()):
        args += ["--symlink", target, f"/opt/runtime/bin/{name}"]
    for device in spec.devices:  # only these: the rest of the host's /dev stays out
        args += ["--dev-bind-try", device, device]
    env = {
        "PATH": "/opt/runtime/bin:/usr/local/bin:/usr/bin:/bin",
        "HOME": "/tmp",
        "LANG": "C.UTF-8",
        **spec.environment,
        **spec.extra_env,
    }
    args += ["--clearenv"]
    for key, value in env.items():
        args += ["--setenv", key, value]
    # Nothing else is writable: the sandbox's own root and /dev are tmpfs without a size, so they
    # are made read-only once everything is mounted (/tmp and /dev/shm are small mounts of their own).
    args += ["--remount-ro", "/dev", "--remount-ro", "/"]
    if spec.seccomp_fd is not None:
        args += ["--seccomp", str(spec.seccomp_fd)]
    args += ["--chdir", contract.VOLUME, "--", "/bin/sh", "-c", spec.entrypoint]
    return args


def build_command(spec: SandboxSpec, cgroup_procs: list[str], *, cgroup_enforced: bool) -> list[str]:
    """The whole argv: join the cgroup, set rlimits, drop to the sandbox user, then bwrap."""
    limits = spec.limits
    rlimits = [f"--fsize={limits.output_bytes}", f"--nofile={limits.open_files}", "--core=0"]
    if not cgroup_enforced:
        rlimits += [f"--nproc={limits.pids}", f"--as={limits.memory_bytes + 256 * 1024 * 1024}",
                    f"--cpu={int(limits.wall_seconds * max(limits.cpus, 1)) + 1}"]
    command = ["prlimit", *rlimits, "--"]
    if spec.uid is not None:
        command += ["setpriv", f"--reuid={spec.uid}", f"--regid={spec.gid}", "--clear-groups",
                    "--no-new-privs", "--"]
    command += build_bwrap_args(spec)
    if spec.network:
        command = egress.wrap(command)  # as root, before anything drops privileges
    if cgroup_procs:
        joins = "; ".join(f"echo $$ > {shlex.quote(p)}" for p in cgroup_procs)
        return ["/bin/sh", "-c", f'{joins}; exec "$@"', "sandbox-join", *command]
    return command


# ---- cgroups -----------------------------------------------------------------------------

class Cgroup:
    """A per-job cgroup with memory, pids and cpu limits (v1 or v2), or a no-op when the host
    does not let us create one (then the rlimit layer is all there is)."""

    def __init__(self, name: str, limits: Limits | None):
        self.name = name
        self.version = None
        self.dirs: dict[str, Path] = {}
        if limits is None:
            return
        try:
            if (CGROUP_ROOT / "memory").is_dir() and os.access(CGROUP_ROOT / "memory", os.W_OK):
                self._create_v1(limits)
            elif (CGROUP_ROOT / "cgroup.controllers").exists() and os.access(CGROUP_ROOT, os.W_OK):
                self._create_v2(limits)
        except OSError:
            self.remove()
            self.version = None
            self.dirs = {}

    @classmethod
    def left_by(cls, name: str) -> "Cgroup":
        """The cgroup a job left behind (its supervisor died): found, never created."""
        found = cls(name, None)
        for controller in ("memory", "pids", "cpu"):
            path = CGROUP_ROOT / controller / CGROUP_PARENT / name
            if path.is_dir():
                found.dirs[controller], found.version = path, 1
        unified = CGROUP_ROOT / CGROUP_PARENT / name
        if not found.dirs and (unified / "cgroup.procs").exists():
            found.dirs["unified"], found.version = unified, 2
        return found

    @property
    def enforced(self) -> bool:
        return self.version is not None

    def procs_files(self) -> list[str]:
        return [str(d / "cgroup.procs") for d in self.dirs.values()]

    def _create_v1(self, limits: Limits) -> None:
        for controller in ("memory", "pids", "cpu"):
            path = CGROUP_ROOT / controller / CGROUP_PARENT / self.name
            path.mkdir(parents=True, exist_ok=True)
            self.dirs[controller] = path
        memory = self.dirs["memory"]
        (memory / "memory.limit_in_bytes").write_text(str(limits.memory_bytes))
        swap = memory / "memory.memsw.limit_in_bytes"
        if swap.exists():
            swap.write_text(str(limits.memory_bytes))
        (self.dirs["pids"] / "pids.max").write_text(str(limits.pids))
        (self.dirs["cpu"] / "cpu.cfs_period_us").write_text("100000")
        (self.dirs["cpu"] / "cpu.cfs_quota_us").write_text(str(int(limits.cpus * 100000)))
        self.version = 1

    def _create_v2(self, limits: Limits) -> None:
        parent = CGROUP_ROOT / CGROUP_PARENT
        parent.mkdir(exist_ok=True)
        (parent / "cgroup.subtree_control").write_text("+memory +pids +cpu")
        path = parent / self.name
        path.mkdir(exist_ok=True)
        self.dirs["unified"] = path
        (path / "memory.max").write_text(str(limits.memory_bytes))
        if (path / "memory.swap.max").exists():
            (path / "memory.swap.max").write_text("0")
        (path / "pids.max").write_text(str(limits.pids))
        (path / "cpu.max").write_text(f"{int(limits.cpus * 100000)} 100000")
        self.version = 2

    def oom_killed(self) -> bool:
        try:
            if self.version == 1:
                text = (self.dirs["memory"] / "memory.oom_control").read_text()
                counters = dict(line.split() for line in text.splitlines() if len(line.split()) == 2)
                return int(counters.get("oom_kill", 0)) > 0
            if self.version == 2:
                text = (self.dirs["unified"] / "memory.events").read_text()
                counters = dict(line.split() for line in text.splitlines())
                return int(counters.get("oom_kill", 0)) > 0
        except (OSError, ValueError):
            pass
        return False

    def usage(self) -> dict:
        """What the job used, read before the cgroup is removed: CPU seconds and peak memory
        (None where this kernel does not keep the figure, e.g. memory.peak before 5.19)."""
        cpu = peak = None
        try:
            if self.version == 1:
                cpu = int((self.dirs["cpu"] / "cpuacct.usage").read_text()) / 1e9 \
                    if (self.dirs["cpu"] / "cpuacct.usage").exists() else None
                peak = int((self.dirs["memory"] / "memory.max_usage_in_bytes").read_text())
            elif self.version == 2:
                stat = dict(line.split() for line in (self.dirs["unified"] / "cpu.stat").read_text().splitlines())
                cpu = int(stat["usage_usec"]) / 1e6
                if (self.dirs["unified"] / "memory.peak").exists():
                    peak = int((self.dirs["unified"] / "memory.peak").read_text())
        except (OSError, ValueError, KeyError):
            pass
        return {"cpuSeconds": round(cpu, 3) if cpu is not None else None, "peakMemoryBytes": peak}

    def kill_all(self) -> None:
        for procs in self.procs_files():
            try:
                for pid in Path(procs).read_text().split():
                    try:
                        os.kill(int(pid), signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            except OSError:
                pass

    def remove(self) -> None:
        for path in self.dirs.values():
            for _ in range(50):
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    self.kill_all()
                    time.sleep(0.05)


# ---- running -----------------------------------------------------------------------------

@dataclass
class Outcome:
    exit_code: int | None
    oom_killed: bool
    timed_out: bool
    quota_exceeded: bool
    stopped: bool
    started: float
    finished: float
    usage: dict = field(default_factory=dict)   # cpuSeconds, peakMemoryBytes (from the cgroup)

    def termination(self) -> dict:
        return {"exitCode": self.exit_code, "OOMKilled": self.oom_killed, "timedOut": self.timed_out,
                "stopped": self.stopped, "algoStart": self.started, "algoStop": self.finished, **self.usage}


def sandbox_identity(user: str) -> tuple[int | None, int | None]:
    """(uid, gid) to drop to when running as root; (None, None) when we are not root."""
    if os.geteuid() != 0:
        return None, None
    try:
        entry = pwd.getpwnam(user)
        return entry.pw_uid, entry.pw_gid
    except KeyError:
        return 65534, 65534  # nobody: still unprivileged, though shared


def isolation_problems(sandbox_user: str) -> list[str]:
    """What keeps this host from isolating algorithms as promised (empty when nothing does):
    without a cgroup, memory in tmpfs and processes are not limited; without root, algorithms
    would run as the provider's own user."""
    problems = []
    if shutil.which("bwrap") is None:
        problems.append("bubblewrap is not installed")
    probe = Cgroup(f"probe-{os.getpid()}-{time.monotonic_ns()}", Limits(64 * 1024 * 1024, 1, 8, 1, 1))
    if not probe.enforced:
        problems.append("no writable cgroup: memory, CPU and process limits cannot be enforced")
    probe.remove()
    if sandbox_identity(sandbox_user)[0] is None:
        problems.append("the provider does not run as root: algorithms would run as its own user")
    return problems


def directory_size(path: Path) -> int:
    """Bytes in regular files below `path`, without following symlinks."""
    total = 0
    stack = [str(path)]
    while stack:
        try:
            with os.scandir(stack.pop()) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                    elif entry.is_file(follow_symlinks=False):
                        total += entry.stat(follow_symlinks=False).st_blocks * 512
        except OSError:
            continue
    return total


def run_sandboxed(spec: SandboxSpec, name: str, log_path: Path, should_stop,
                  poll: float = 0.25, on_start=None) -> Outcome:
    """Run the algorithm to completion, a limit, or a stop request; stdout+stderr go to log_path."""
    cgroup = Cgroup(name, spec.limits)
    volume = QuotaVolume.create(spec.data_dir.parent, spec.limits.output_bytes, spec.limits.max_files, spec.uid,
                                spec.gid)
    if volume is not None:
        spec = replace(spec, writable_root=volume.mountpoint)
    filter_fd = _seccomp_file()
    if filter_fd is not None:
        spec = replace(spec, seccomp_fd=filter_fd)
    if spec.network:
        for filename, text in (("resolv.conf", egress.RESOLV_CONF), ("hosts", egress.HOSTS)):
            (spec.data_dir.parent / filename).write_text(text)
            os.chmod(spec.data_dir.parent / filename, 0o644)
    command = build_command(spec, cgroup.procs_files(), cgroup_enforced=cgroup.enforced)
    try:
        outcome = _supervise(spec, command, cgroup, log_path, should_stop, poll, on_start, filter_fd,
                             watch_size=volume is None)
    except BaseException:
        if volume is not None:
            volume.remove()
        raise
    if volume is not None:
        outcome.quota_exceeded = outcome.quota_exceeded or volume.full()
        try:
            volume.copy_out(spec.data_dir)
        finally:
            volume.remove()
    # A single file stops at the RLIMIT_FSIZE cap (= the quota): reaching it counts as exceeding it.
    elif directory_size(spec.data_dir / "outputs") >= spec.limits.output_bytes:
        outcome.quota_exceeded = True
    return outcome


def _supervise(spec: SandboxSpec, command: list[str], cgroup: Cgroup, log_path: Path, should_stop, poll: float,
               on_start, filter_fd: int | None, *, watch_size: bool) -> Outcome:
    started = time.time()
    timed_out = quota = stopped = False
    network = None
    with open(log_path, "ab") as log:
        try:
            process = subprocess.Popen(command, stdin=subprocess.PIPE if spec.network else subprocess.DEVNULL,
                                       stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True, close_fds=True, env={"PATH": "/usr/bin:/bin"},
                                       pass_fds=(filter_fd,) if filter_fd is not None else ())
        finally:
            if filter_fd is not None:
                os.close(filter_fd)  # the child has its copy
        if on_start:
            on_start(process.pid)
        try:
            if spec.network:
                network = _let_onto_network(process, cgroup)
            while process.poll() is None:
                if time.time() - started > spec.limits.wall_seconds:
                    timed_out = True
                elif watch_size and directory_size(spec.data_dir / "outputs") > spec.limits.output_bytes:
                    quota = True  # without a quota volume, the size is watched instead
                elif should_stop():
                    stopped = True
                if timed_out or quota or stopped:
                    _kill(process, cgroup)
                    break
                try:
                    process.wait(timeout=poll)
                except subprocess.TimeoutExpired:
                    pass
        finally:
            if process.poll() is None:
                _kill(process, cgroup)
            exit_code = process.wait()
            oom = cgroup.oom_killed()
            usage = cgroup.usage()
            cgroup.kill_all()
            cgroup.remove()
            if network is not None:
                network.close()
    return Outcome(exit_code, oom, timed_out, quota, stopped, started, time.time(), usage)


def _let_onto_network(process: subprocess.Popen, cgroup: Cgroup) -> egress.PrivateNetwork:
    """Set up the job's own network, then let the waiting sandbox start. On failure the
    sandbox is killed before the algorithm ran, and EgressUnavailable says why."""
    try:
        network = egress.PrivateNetwork.attach(process.pid)
    except egress.EgressUnavailable:
        _kill(process, cgroup)
        raise
    try:
        process.stdin.write(b"go\n")
        process.stdin.close()
    except OSError:
        pass  # the sandbox already ended: its exit code says how
    return network


def _seccomp_file() -> int | None:
    """An in-memory file holding the system-call filter, for bubblewrap to read (None where the
    architecture has no table: the sandbox then runs without the filter, and says so)."""
    program = build_filter()
    if program is None:
        log.warning("no seccomp filter for this architecture; sandboxes run without one")
        return None
    fd = os.memfd_create("ocean-c2d-seccomp", 0)
    os.write(fd, program)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def _kill(process: subprocess.Popen, cgroup: Cgroup) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    cgroup.kill_all()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


def bwrap_available() -> bool:
    return subprocess.run(["which", "bwrap"], capture_output=True).returncode == 0
