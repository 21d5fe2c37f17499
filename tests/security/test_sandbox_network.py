"""Issue "compute guarantees", 3 (network, when allowed): before, a job allowed onto the network
shared the host's network namespace and reached host-only listeners on 127.0.0.1 (Redis with
nonces and revocations, the RPC node) and 169.254.169.254. Now it has a namespace of its own
whose only way out is slirp4netns, with every non-public range unreachable."""
import json
import shutil
import socket
import subprocess
import threading

import pytest

from provider.compute import egress
from tests.integration.test_sandbox import report, run

pytestmark = [
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed"),
    pytest.mark.skipif(bool(egress.egress_problems()), reason="; ".join(egress.egress_problems())),
]

PUBLIC_PROBE = ("151.101.0.223", 443)  # a public address (a CDN's); used only where the host reaches it


def host_address() -> str:
    """The host's own non-loopback address (what a listener on 0.0.0.0 answers on)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.123", 9))  # no packet is sent: this only picks the outgoing address
        return probe.getsockname()[0]


@pytest.fixture
def host_listener():
    """A TCP listener on every host address, as Redis or an RPC node would be (or on loopback)."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("0.0.0.0", 0))
    server.listen(16)
    accepted = []

    def accept():
        while True:
            try:
                conn, peer = server.accept()
            except OSError:
                return
            accepted.append(peer)
            conn.close()
    threading.Thread(target=accept, daemon=True).start()
    yield server.getsockname()[1], accepted
    server.close()


PROBE = """
import json, os, socket, subprocess
port = int(os.environ["PROBE_PORT"])
targets = {name: (host, port) for name, host in json.loads(os.environ["PROBE_TARGETS"]).items()}
targets["public"] = tuple(json.loads(os.environ["PROBE_PUBLIC"]))
r = {}
def attempt(name, address):
    try:
        socket.create_connection(address, timeout=3).close(); r[name] = "connected"
    except OSError as e:
        r[name] = e.strerror
for name, address in targets.items():
    attempt(name, address)
try:
    socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP); r["raw"] = "ok"
except OSError as e:
    r["raw"] = e.strerror
r["route_del"] = subprocess.run(["/usr/sbin/ip", "route", "del", "unreachable", "10.0.0.0/8"],
                                capture_output=True).returncode
attempt("gateway_after_route_del", targets["slirp_gateway"])
r["resolv"] = open("/etc/resolv.conf").read() if os.path.exists("/etc/resolv.conf") else None
r["interfaces"] = [name for _, name in socket.if_nameindex()]
json.dump(r, open("/data/outputs/report.json", "w"))
"""


def test_an_allowed_network_reaches_nothing_of_the_host(sandbox_dir, host_listener):
    port, accepted = host_listener
    targets = {"host_loopback": "127.0.0.1", "host_address": host_address(), "slirp_gateway": egress.GATEWAY,
               "metadata": "169.254.169.254", "private_10": "10.255.255.1", "private_192": "192.168.1.1"}
    outcome, paths, log = run(sandbox_dir, PROBE, network=True, environment={
        "PROBE_PORT": str(port), "PROBE_TARGETS": json.dumps(targets), "PROBE_PUBLIC": json.dumps(PUBLIC_PROBE)})
    assert outcome.exit_code == 0, log
    result = report(paths)
    assert sorted(result["interfaces"]) == ["lo", egress.INTERFACE]
    # loopback is the job's own (nothing listens); everything else of the host has no route
    assert result["host_loopback"] == "Connection refused"
    for name in ("host_address", "slirp_gateway", "metadata", "private_10", "private_192",
                 "gateway_after_route_del"):
        assert result[name] == "No route to host", (name, result)
    assert accepted == []  # not one connection reached the host's listener
    assert result["raw"] == "Operation not permitted"
    assert result["route_del"] != 0  # the algorithm cannot lift its own restrictions
    assert result["resolv"].strip() == f"nameserver {egress.DNS}"
    try:
        socket.create_connection(PUBLIC_PROBE, timeout=3).close()
    except OSError:
        return  # this host reaches no public address itself: nothing more to compare
    assert result["public"] == "connected", result


def test_without_network_the_job_has_only_loopback(sandbox_dir, host_listener):
    port, accepted = host_listener
    outcome, paths, log = run(sandbox_dir, PROBE, network=False, environment={
        "PROBE_PORT": str(port), "PROBE_TARGETS": json.dumps({"slirp_gateway": egress.GATEWAY}),
        "PROBE_PUBLIC": json.dumps(PUBLIC_PROBE)})
    assert outcome.exit_code == 0, log
    result = report(paths)
    assert result["interfaces"] == ["lo"]
    assert result["public"] == "Network is unreachable" and accepted == []


def test_the_sandbox_never_starts_before_the_engine_lets_it_onto_its_network(tmp_path):
    marker = tmp_path / "ran"
    closed = subprocess.run(egress.wrap(["touch", str(marker)]), input=b"", capture_output=True, timeout=10)
    assert closed.returncode == egress.NETWORK_NOT_READY and not marker.exists()
    let_go = subprocess.run(egress.wrap(["touch", str(marker)]), input=b"go\n", capture_output=True, timeout=10)
    assert let_go.returncode == 0 and marker.exists()
