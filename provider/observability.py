"""Structured logs and the request id that ties a request's log lines together.

The request id lives in a context variable, so any module can log inside a request and the
line carries the id without knowing about Flask. `JsonFormatter` writes one JSON object per
line: what log collectors (Loki, Cloud Logging, ELK) parse without configuration.
"""
from __future__ import annotations

import contextvars
import json
import logging
import os
import re
import time

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

# An incoming X-Request-ID is reused (so a proxy's id follows the request) only if it is short
# and plain: anything else could forge log lines or blow up log storage.
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")

# Attributes every LogRecord has; anything else was passed through `extra=` and is logged too.
_RECORD_FIELDS = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


def new_request_id(incoming: str | None) -> str:
    if incoming and _SAFE_REQUEST_ID.match(incoming):
        return incoming
    return os.urandom(16).hex()


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if getattr(record, "request_id", None):
            entry["request_id"] = record.request_id
        for key, value in vars(record).items():
            if key not in _RECORD_FIELDS and key != "request_id":
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s")


def configure_logging(level: str, fmt: str) -> None:
    """One handler on the root logger, replaced (not added to) on every call."""
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_provider_handler", False)]:
        root.removeHandler(old)
    handler._provider_handler = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
