"""Start the provider (or any WSGI app) under gunicorn with the production hooks, and wait
until every worker has loaded the app. Used by `make run`, the benchmarks and the tests that
need real workers.

The port opens as soon as the master binds it, long before a busy machine has imported the app
in each worker: a request sent then waits in the accept queue and can outlast a client's
timeout. So this waits for the workers themselves: each one writes a file named after its pid
into PROVIDER_READY_DIR once its app is loaded (`provider.gunicorn_conf.post_worker_init`).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any

from provider.config import PROJECT_ROOT
from provider.devtools.anvil import free_port, port_open


def start_gunicorn(app: str = "provider.wsgi:app", env: dict | None = None, *, workers: int | str = 2,
                   bind: str | None = None, timeout: float = 90, **popen: Any) -> tuple[subprocess.Popen, str]:
    """gunicorn -c python:provider.gunicorn_conf on `bind` (default: a free loopback port).
    Returns the process and its URL once the port accepts connections and every worker has loaded
    the app; raises if it dies first."""
    bind = bind or f"127.0.0.1:{free_port()}"
    host, port = bind.rsplit(":", 1)
    ready_dir = tempfile.mkdtemp(prefix="provider-ready-")
    env = dict(os.environ if env is None else env, PROVIDER_READY_DIR=ready_dir)
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "python:provider.gunicorn_conf", "--workers", str(workers),
         "--bind", bind, app], cwd=PROJECT_ROOT, env=env, **popen)
    deadline = time.monotonic() + timeout
    try:
        while not (port_open(host, int(port)) and len(os.listdir(ready_dir)) >= int(workers)):
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"gunicorn for {app} did not start on {bind}")
            time.sleep(0.1)
    finally:
        shutil.rmtree(ready_dir, ignore_errors=True)
    return proc, f"http://{host}:{port}"
