"""The compute engine in a process of its own, supervised by the provider.

Request workers only read and write the job store; the engine (scheduler, sandboxes or cluster
Jobs) runs in one `ocean-provider engine` process that the gunicorn master starts, restarts if
it dies (with a growing pause, reset once it has run a while), and stops with a grace period
when the master stops. So a request worker killed by its timeout, a segfault or a restart takes
no job with it; and if the engine process itself is killed, the next one finds every job in
the store and ends each in a defined state (`compute.status.after_restart`).

`ENGINE_SUPERVISED` in the environment tells the workers (which inherit it) not to run an
engine of their own, and `/ready` to check that the supervised one is alive.
"""
from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time

log = logging.getLogger("provider.supervisor")
ENGINE_SUPERVISED = "PROVIDER_ENGINE_SUPERVISED"


def engine_is_supervised() -> bool:
    return os.environ.get(ENGINE_SUPERVISED) == "1"


def _alive(pid: int) -> bool:
    """Is our child still running? gunicorn's master reaps every child it is told of (ours
    too), so a child that was reaped elsewhere counts as gone."""
    try:
        reaped, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return False
    return reaped != pid


class EngineSupervisor:
    """Starts the engine process, starts it again when it dies, stops it on request.

    The process is created with `posix_spawn`, not `subprocess`: subprocess waits on a pipe until
    the child has exec'd, and a gunicorn worker forked in that moment inherits the pipe's other
    end, which would keep that wait going for as long as the worker lives.
    """

    def __init__(self, command: list[str] | None = None, *, first_pause: float = 0.5, max_pause: float = 30.0,
                 healthy_after: float = 60.0):
        self.command = command or [sys.executable, "-m", "provider.cli", "engine"]
        self.first_pause, self.max_pause, self.healthy_after = first_pause, max_pause, healthy_after
        self.pid: int | None = None
        self.restarts = 0
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        os.environ[ENGINE_SUPERVISED] = "1"
        self._spawn()  # now, before the workers fork
        self._thread = threading.Thread(target=self._run, name="engine-supervisor", daemon=True)
        self._thread.start()

    def _spawn(self) -> None:
        self.pid = os.posix_spawn(self.command[0], self.command, dict(os.environ))

    def _run(self) -> None:
        pause = self.first_pause
        started = time.monotonic()
        while not self._stopping.is_set():
            if self._stopping.wait(0.5) or _alive(self.pid):
                continue
            if time.monotonic() - started > self.healthy_after:
                pause = self.first_pause
            log.warning("the compute engine process (pid %s) ended; starting it again in %.1f s", self.pid, pause)
            if self._stopping.wait(pause):
                return
            self.restarts += 1
            self._spawn()
            started = time.monotonic()
            pause = min(pause * 2, self.max_pause)

    def stop(self, grace: float) -> None:
        """SIGTERM the engine (it gives running jobs `grace` seconds), then SIGKILL what is left."""
        self._stopping.set()
        if self.pid is None or not _alive(self.pid):
            return
        os.kill(self.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace + 10
        while _alive(self.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _alive(self.pid):
            os.kill(self.pid, signal.SIGKILL)
