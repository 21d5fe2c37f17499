"""gunicorn settings and hooks for the provider: `gunicorn -c python:provider.gunicorn_conf provider.wsgi:app`.

Compute: the master starts the engine in a process of its own (`provider.supervisor`) and
stops it last, so no job dies with a request worker.

Graceful shutdown: on SIGTERM gunicorn stops accepting connections and lets each worker finish
its requests; then `worker_exit` stops that worker's indexer and compute scheduler, lets its
running compute jobs finish for SHUTDOWN_GRACE seconds, and releases its leases, so another
process takes the work over at once. `graceful_timeout` leaves room for both.

Metrics: every worker writes its samples to PROMETHEUS_MULTIPROC_DIR (a fresh folder per
start unless given), and `child_exit` retires a dead worker's live gauges.
"""
from __future__ import annotations

import os
import shutil
import tempfile

from gunicorn import glogging

from provider.config import load_server_settings
from provider.supervisor import EngineSupervisor

# config.ini with environment overrides, as the workers read them (SHUTDOWN_GRACE, LOG_FORMAT).
_server = load_server_settings()
# The compute engine runs in its own process, started and restarted by the master.
_engine = EngineSupervisor()

timeout = _server.worker_timeout  # downloads and results stream for long
graceful_timeout = int(_server.shutdown_grace) + 10
keepalive = 5
# Threads per worker: most request time is spent waiting on the chain node, so a few threads
# keep the CPU busy while others wait (every store and chain client is per-thread).
threads = _server.threads
# One access line per request, written by the app (path without the query string, which
# carries signatures and tokens). gunicorn's own access logger is silenced below: with a
# logconfig it would log every request a second time, query string included.
accesslog = None
# ...and since a logconfig turns gunicorn's access logging back on (it would format every
# request's atoms only to drop the line), its logger's access() does nothing at all.
class _NoAccessLogger(glogging.Logger):
    def access(self, resp, req, environ, request_time) -> None:
        return None


logger_class = _NoAccessLogger

# gunicorn's own lines (start, workers, signals) in the same JSON shape as the app's, unless
# LOG_FORMAT=text: one log stream a collector can parse whole.
if _server.log_format == "json":
    # A whole dictConfig: gunicorn merges it shallowly into its defaults, whose root logger
    # would otherwise print every app line a second time. The root logger is left to the app.
    _json_stderr = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "root": {"level": "WARNING", "handlers": []},
        "formatters": {"json": {"()": "provider.observability.JsonFormatter"}},
        "handlers": {"error_console": _json_stderr},
        "loggers": {
            "gunicorn.error": {"handlers": ["error_console"], "level": "INFO", "propagate": False},
            "gunicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
        },
    }


def on_starting(server) -> None:
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder, exist_ok=True)
    else:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="ocean-provider-metrics-")
    if _server.compute_enabled:
        _engine.start()  # before the workers fork: they inherit ENGINE_SUPERVISED


def on_exit(server) -> None:
    _engine.stop(_server.shutdown_grace)


def post_worker_init(worker) -> None:
    """The worker has loaded the app. With PROVIDER_READY_DIR set (by the launcher that waits
    for the workers, `provider.devtools.gunicorn`), say so with a file named after its pid."""
    folder = os.environ.get("PROVIDER_READY_DIR")
    if folder:
        try:
            with open(os.path.join(folder, str(worker.pid)), "w"):
                pass
        except OSError:  # the launcher stopped waiting (a worker restarted later): nobody to tell
            pass


def worker_exit(server, worker) -> None:
    app = getattr(worker, "wsgi", None)
    services = getattr(app, "extensions", {}).get("provider") if app is not None else None
    if services is not None:
        services.stop_background(grace=services.settings.shutdown_grace)


def child_exit(server, worker) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
