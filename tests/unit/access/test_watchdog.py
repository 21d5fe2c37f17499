"""The fetch watchdog: deadlines end transfers on time, without a wake per transfer."""
from __future__ import annotations

import socket
import time

from provider.access.fetch import Watchdog


def _pair() -> tuple[socket.socket, socket.socket]:
    left, right = socket.socketpair()
    left.settimeout(5)
    return left, right


def _ended_within(sock: socket.socket, seconds: float) -> float | None:
    """Seconds until a read on `sock` ends (a shut-down socket reads b"" at once), or None."""
    sock.settimeout(seconds)
    started = time.monotonic()
    try:
        assert sock.recv(1) == b""
    except socket.timeout:
        return None
    return time.monotonic() - started


def test_a_deadline_ends_a_blocked_read_within_the_resolution():
    dog = Watchdog(resolution=0.05)
    sock, peer = _pair()
    with sock, peer:
        dog.watch(sock, time.monotonic() + 0.2)
        waited = _ended_within(sock, 3)
        assert waited is not None and 0.1 < waited < 0.2 + 0.05 + 0.3  # the scheduler's slack on top


def test_an_earlier_deadline_wakes_a_watchdog_sleeping_until_a_later_one():
    dog = Watchdog(resolution=0.05)
    late, late_peer = _pair()
    early, early_peer = _pair()
    with late, late_peer, early, early_peer:
        dog.watch(late, time.monotonic() + 30)
        time.sleep(0.1)  # the thread now sleeps until the 30 s deadline
        dog.watch(early, time.monotonic() + 0.2)
        assert _ended_within(early, 3) is not None
        assert _ended_within(late, 0.2) is None  # still open: its time has not come


def test_forgotten_and_rescheduled_transfers_are_not_ended():
    dog = Watchdog(resolution=0.05)
    forgotten, forgotten_peer = _pair()
    moved, moved_peer = _pair()
    with forgotten, forgotten_peer, moved, moved_peer:
        dog.forget(dog.watch(forgotten, time.monotonic() + 0.1))
        dog.reschedule(dog.watch(moved, time.monotonic() + 0.1), None)  # a download: no total deadline
        time.sleep(0.4)
        assert _ended_within(forgotten, 0.1) is None
        assert _ended_within(moved, 0.1) is None


def test_finished_transfers_do_not_grow_the_heap_without_bound():
    """Each finished transfer leaves a stale entry until its deadline; at 30 s timeouts and
    thousands of requests a second they are rebuilt away instead of piling up."""
    dog = Watchdog(resolution=0.05)
    sock, peer = _pair()
    with sock, peer:
        for _ in range(20_000):
            dog.forget(dog.watch(sock, time.monotonic() + 30))
        assert len(dog._heap) <= 4 * 1024 + 1
        assert dog._watched == {}
