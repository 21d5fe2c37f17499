"""What every engine shares: job folders, environment lookup, and the background tick loop."""
from __future__ import annotations

import logging
import threading

from provider.compute.environments import Environment
from provider.compute.pipeline import JobPaths
from provider.config import ComputeSettings
from provider.metrics import ENGINE_ERRORS

log = logging.getLogger(__name__)


class TickingEngine:
    """Calls `tick()` every `scheduler_interval` in a daemon thread until `shutdown()`."""

    thread_name = "compute-engine"

    def __init__(self, settings: ComputeSettings):
        self.settings = settings
        self._stop = threading.Event()
        self._wake = threading.Event()  # set by a watcher to tick before the interval is over
        self._thread: threading.Thread | None = None

    def tick(self) -> bool:
        raise NotImplementedError

    def paths(self, job_id: str) -> JobPaths:
        return JobPaths(self.settings.jobs_path / job_id)

    def environment(self, env_id: str) -> Environment | None:
        return self.settings.environment(env_id)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name=self.thread_name, daemon=True)
            self._thread.start()

    def shutdown(self, grace: float = 0.0) -> None:
        """Stop ticking, give running work up to `grace` seconds to end, then let go."""
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout=5)
        self._drain(grace)
        self._released()

    def _drain(self, grace: float) -> None:
        """Hook: wait (at most `grace` seconds) for work this process runs."""

    def _released(self) -> None:
        """Hook: give up whatever the engine holds (a lease) once it has stopped ticking."""

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:
                ENGINE_ERRORS.labels(engine=self.thread_name).inc()
                log.exception("%s tick failed", self.thread_name)
            self._wake.wait(self.settings.scheduler_interval)
            self._wake.clear()
