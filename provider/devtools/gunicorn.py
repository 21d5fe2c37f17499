"""Start the provider (or any WSGI app) under gunicorn with the production hooks, and wait
until it listens. Used by `make run`, the benchmarks and the tests that need real workers."""
from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

from provider.config import PROJECT_ROOT
from provider.devtools.anvil import free_port, port_open


def start_gunicorn(app: str = "provider.wsgi:app", env: dict | None = None, *, workers: int | str = 2,
                   bind: str | None = None, timeout: float = 60, **popen: Any) -> tuple[subprocess.Popen, str]:
    """gunicorn -c python:provider.gunicorn_conf on `bind` (default: a free loopback port).
    Returns the process and its URL once the port accepts connections; raises if it dies first."""
    bind = bind or f"127.0.0.1:{free_port()}"
    host, port = bind.rsplit(":", 1)
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "python:provider.gunicorn_conf", "--workers", str(workers),
         "--bind", bind, app], cwd=PROJECT_ROOT, env=env, **popen)
    deadline = time.monotonic() + timeout
    while not port_open(host, int(port)):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"gunicorn for {app} did not start on {bind}")
        time.sleep(0.1)
    return proc, f"http://{host}:{port}"
