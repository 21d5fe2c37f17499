"""A job's own network, for jobs allowed onto it: public addresses only, nothing of the host.

Sharing the host's network namespace would hand the algorithm everything the host reaches:
its loopback listeners (Redis with nonces and revocations, the RPC node), the private network
behind it, cloud metadata at 169.254.169.254. Instead each such job gets a network namespace of
its own, created as root before the sandbox user is dropped to, whose only way out is
`slirp4netns`: a user-mode TCP/IP stack on the host side that opens ordinary sockets on the
job's behalf (so the host sees connections from a process, never routed packets), with the
host's loopback refused (`--disable-host-loopback`) and DNS answered at 10.0.2.3. Inside, every
range the file fetcher refuses (`access.netpolicy.NON_PUBLIC_IPV4`) and slirp's own gateway
(the host) are unreachable routes, added before the algorithm starts; the algorithm holds no
capability over that namespace, so it cannot change them. IPv6 is not offered.

The pieces: `wrap` (pure) puts `unshare --net` and a wait in front of the sandbox command, so
the algorithm starts only once the engine has set the network up; `PrivateNetwork.attach` does
that set-up for a started process, and `close` tears it down (slirp also exits by itself when
its engine dies: it watches a pipe only the engine holds).
"""
from __future__ import annotations

import os
import select
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from provider.access.netpolicy import NON_PUBLIC_IPV4

INTERFACE = "tap0"
GATEWAY = "10.0.2.2"      # slirp's host side: never a destination
DNS = "10.0.2.3"          # slirp's resolver, forwarding to the host's
MTU = 65520
RESOLV_CONF = f"nameserver {DNS}\n"
HOSTS = "127.0.0.1 localhost\n::1 localhost\n"
NETWORK_NOT_READY = 111    # the sandbox's exit code when it was never let onto its network

# Runs as root inside the new namespace: waits for the engine's "go", then becomes the sandbox.
_WAIT_FOR_NETWORK = 'read -r go && [ "$go" = go ] && exec "$@" </dev/null; exit %d' % NETWORK_NOT_READY


class EgressUnavailable(RuntimeError):
    """The job's network could not be set up; the algorithm did not start."""


def blocked_routes() -> list[str]:
    """`ip -batch` lines making every non-public range and the host unreachable."""
    return [f"route add unreachable {network}" for network in (*NON_PUBLIC_IPV4, f"{GATEWAY}/32")]


def wrap(command: list[str]) -> list[str]:
    """`command` in a network namespace of its own, started only once stdin says "go"."""
    return ["unshare", "--net", "--", "/bin/sh", "-c", _WAIT_FOR_NETWORK, "sandbox-network", *command]


def egress_problems() -> list[str]:
    """Why jobs cannot be given an isolated network here (empty when they can)."""
    problems = [f"{tool} is not installed" for tool in ("slirp4netns", "unshare", "nsenter", "ip")
                if _tool(tool) is None]
    if os.geteuid() != 0:
        problems.append("the provider does not run as root: it cannot create network namespaces")
    return problems


def _tool(name: str) -> str | None:
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")


def _netns(pid: int | str) -> tuple[int, int] | None:
    try:
        stat = os.stat(f"/proc/{pid}/ns/net")
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


@dataclass
class PrivateNetwork:
    slirp: subprocess.Popen
    exit_pipe: int          # slirp exits when this, the engine's end, closes

    @classmethod
    def attach(cls, pid: int, timeout: float = 15.0) -> "PrivateNetwork":
        """Give the process `pid` (started from `wrap`) its network; raises EgressUnavailable."""
        deadline = time.monotonic() + timeout
        own = _netns("self")
        while _netns(pid) in (own, None):
            if time.monotonic() > deadline or _netns(pid) is None and not Path(f"/proc/{pid}").exists():
                raise EgressUnavailable("the sandbox did not enter its network namespace")
            time.sleep(0.005)
        ready_read, ready_write = os.pipe()
        exit_read, exit_write = os.pipe()
        try:
            slirp = subprocess.Popen(
                [_tool("slirp4netns"), "--configure", f"--mtu={MTU}", "--disable-host-loopback",
                 "--enable-sandbox", "--enable-seccomp", f"--ready-fd={ready_write}", f"--exit-fd={exit_read}",
                 str(pid), INTERFACE],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                pass_fds=(ready_write, exit_read), close_fds=True, start_new_session=True)
        except OSError as exc:
            for fd in (ready_read, ready_write, exit_read, exit_write):
                os.close(fd)
            raise EgressUnavailable(f"slirp4netns could not start: {exc.strerror}") from None
        os.close(ready_write)
        os.close(exit_read)
        network = cls(slirp, exit_write)
        try:
            readable, _, _ = select.select([ready_read], [], [], max(0.1, deadline - time.monotonic()))
            if not readable or os.read(ready_read, 1) != b"1":
                raise EgressUnavailable("slirp4netns did not configure the job's network")
            network._block_non_public(pid)
        except BaseException:
            network.close()
            raise
        finally:
            os.close(ready_read)
        return network

    def _block_non_public(self, pid: int) -> None:
        enter = [_tool("nsenter"), f"--net=/proc/{pid}/ns/net", "--", _tool("ip")]
        added = subprocess.run([*enter, "-batch", "-"], input="\n".join(blocked_routes()) + "\n",
                               capture_output=True, text=True, timeout=10)
        shown = subprocess.run([*enter, "-4", "route", "show", "type", "unreachable"], capture_output=True,
                               text=True, timeout=10)
        if added.returncode != 0 or len(shown.stdout.splitlines()) != len(blocked_routes()):
            raise EgressUnavailable("the job's network could not be restricted to public addresses")

    def close(self) -> None:
        try:
            os.close(self.exit_pipe)
        except OSError:
            pass
        try:
            self.slirp.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.slirp.kill()
            self.slirp.wait()
