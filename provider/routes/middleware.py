"""What happens around every request: request id, body and rate limits, CORS, metrics, access
log. One WSGI layer below Flask (`RequestEnvelope`) does it all; the order is in its docstring.
The liveness probe and the metrics scrape are not rate limited.
"""
from __future__ import annotations

import logging
import re
import time

from flask import Flask
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.middleware.proxy_fix import ProxyFix

from provider import metrics
from provider.errors import ProviderError, RequestTooLarge
from provider.observability import new_request_id, request_id_var
from provider.stores.audit import client_var
from provider.ratelimit import RateLimiter
from provider.routes.errors import error_answer

access_log = logging.getLogger("provider.access_log")
REQUEST_ID_HEADER = "X-Request-ID"
_UNLIMITED_PATHS = ("/health", "/metrics")
# The reference answers HEAD on these with 405 instead of Flask's implicit HEAD-for-GET.
_NO_HEAD = ("/api/services/nonce", "/api/services/download", "/api/services/decrypt",
            "/api/services/compute", "/api/services/computeResult")


# CORS: browser dApps (ocean.js in a page) call every endpoint cross-origin, with headers that
# need a preflight (`Authorization`, JSON bodies). Nothing is authorised by cookies, so any
# origin may call; credentials are never allowed.
ALLOWED_METHODS = "GET, POST, PUT, DELETE, OPTIONS"
ALLOWED_HEADERS = "Content-Type, Authorization, AuthToken, Range, X-Request-ID"
EXPOSED_HEADERS = "Content-Disposition, Content-Length, Content-Range, Accept-Ranges, X-Request-ID"
_HEADER_NAME = re.compile(r"[A-Za-z0-9-]{1,64}")
_NOT_ROUTED = object()  # no Flask request in the environ (the werkzeug test client puts a plain one there)


def _preflight_headers(requested: str | None) -> list[tuple[str, str]]:
    """Every path answers a preflight (`/` included): 204 with what may be sent. The headers a
    browser asks for are allowed when they are plain header names (never echoed otherwise)."""
    names = [n.strip() for n in (requested or "").split(",") if n.strip()][:32]
    allowed = ALLOWED_HEADERS
    if names and all(_HEADER_NAME.fullmatch(n) for n in names):
        allowed = ", ".join(dict.fromkeys([*ALLOWED_HEADERS.split(", "), *names]))
    return [("Access-Control-Allow-Methods", ALLOWED_METHODS), ("Access-Control-Allow-Headers", allowed),
            ("Access-Control-Max-Age", "86400")]


def _content_length(environ: dict) -> int | None:
    """The declared body size, as werkzeug reads it (none for a chunked body, which Flask caps
    while it is read)."""
    declared = environ.get("CONTENT_LENGTH")
    if not declared or environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked":
        return None
    try:
        return max(0, int(declared))
    except ValueError:
        return None


class RequestEnvelope:
    """The WSGI layer around the Flask app: what every request gets, in order.

    Before the view: a request id (so even a refused request is traceable), the body size
    limit, the per-IP rate limit (the body is not read for it), CORS preflights, and the
    reference's 405 for HEAD on some paths; a request refused here never enters Flask. With the
    answer: the headers every answer carries (CORS, the request id), the metrics and one
    access-log line. After the body is sent (a streamed download included), the request's
    context variables are cleared.

    As Flask hooks this cost a fifth of `GET /` (each hook is dispatched through Flask's
    machinery and reads the request through its proxies); here it is plain code over the
    environ. Refusals are shaped by `routes.errors.error_answer`, as in the views."""

    _CONSTANT = [("Access-Control-Allow-Origin", "*"), ("Access-Control-Expose-Headers", EXPOSED_HEADERS)]

    def __init__(self, app: Flask, limiter: RateLimiter, max_body_bytes: int):
        self._app = app
        self._next = app.wsgi_app
        self._limiter = limiter
        self._per_ip_limited = limiter.limits.rate_per_ip > 0
        self._max_body_bytes = max_body_bytes

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        request_id = new_request_id(environ.get("HTTP_X_REQUEST_ID"))
        client = environ.get("REMOTE_ADDR")
        context = (request_id_var.set(request_id), client_var.set(client))
        method = environ.get("REQUEST_METHOD", "GET")
        answered = []

        def start(status, headers, exc_info=None):
            headers.extend(self._CONSTANT)
            headers.append((REQUEST_ID_HEADER, request_id))
            if not answered:
                answered.append(status)
                self._record(environ, method, int(status[:3]), time.perf_counter() - started)
            return start_response(status, headers, exc_info)

        try:
            refusal = self._refusal(environ, method, client)
            body = self._next(environ, start) if refusal is None else refusal(start)
        except BaseException:
            _forget(context)
            raise
        return _ClosingBody(body, context)

    def _refusal(self, environ, method: str, client: str | None):
        """An answer given without the view, or None."""
        path = "/" + (environ.get("PATH_INFO") or "").lstrip("/")  # as Flask's `request.path`
        internal = path.startswith("/api/internal/")
        try:
            length = _content_length(environ)
            # Result bundles from compute pods are capped by the environment's disk instead.
            if not internal and length is not None and length > self._max_body_bytes:
                raise RequestTooLarge(f"Request body too large: the limit is {self._max_body_bytes} bytes.")
            if self._per_ip_limited and not internal and path not in _UNLIMITED_PATHS:
                # Per IP only, and without reading the body; addresses are counted by the
                # authenticator once their signature has been verified.
                self._limiter.enforce(client_ip=client)
        except ProviderError as exc:
            status, body, headers = error_answer(exc)
            return self._answer(status, self._app.json.dumps(body).encode() + b"\n", headers.items())
        if method == "OPTIONS":
            return self._answer(204, None, _preflight_headers(environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS")))
        if method == "HEAD" and path in _NO_HEAD:
            return self._answer(405, b"", ())  # the headers of a JSON error, without its body
        return None

    @staticmethod
    def _answer(status: int, body: bytes | None, headers):
        """A WSGI answer; `body` None for a status that has none (204)."""
        def send(start):
            listed = list(headers)
            if body is not None:
                listed += [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
            start(f"{status} {HTTP_STATUS_CODES[status]}", listed)
            return [body] if body else []
        return send

    def _record(self, environ, method: str, status: int, elapsed: float) -> None:
        # A request Flask saw carries its match (None: no route); one refused before Flask is
        # still counted by the endpoint its path names, matched here only for it
        rule = getattr(environ.get("werkzeug.request"), "url_rule", _NOT_ROUTED)
        if rule is _NOT_ROUTED:
            rule = self._rule_of(environ)
        metrics.record_request(rule.endpoint if rule is not None else "unmatched", method, status, elapsed)
        if access_log.isEnabledFor(logging.INFO):
            # The path only: query strings carry signatures and tokens.
            path = environ.get("PATH_INFO") or "/"
            access_log.info("%s %s %s", method, path, status, extra={
                "method": method, "path": path, "status": status, "duration_ms": round(elapsed * 1000, 2),
                "remote_addr": environ.get("REMOTE_ADDR")})

    def _rule_of(self, environ):
        try:
            return self._app.url_map.bind_to_environ(environ).match(return_rule=True)[0]
        except HTTPException:
            return None


def _forget(context) -> None:
    try:
        request_id_var.reset(context[0])
        client_var.reset(context[1])
    except ValueError:  # closed from another context than the request's: nothing of ours is set there
        pass


class _ClosingBody:
    """An answer's body as the server iterates it (the body's own iterator: nothing per chunk);
    closed by the server once the body was sent, it clears the request's context variables."""

    __slots__ = ("_body", "_context")

    def __init__(self, body, context):
        self._body = body
        self._context = context

    def __iter__(self):
        return iter(self._body)

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            _forget(self._context)


def init_app(app: Flask, limiter: RateLimiter, max_body_bytes: int, proxy_hops: int) -> None:
    app.config["MAX_CONTENT_LENGTH"] = max_body_bytes
    app.wsgi_app = RequestEnvelope(app, limiter, max_body_bytes)
    if proxy_hops > 0:
        # Behind that many trusted proxies, the client IP is taken from X-Forwarded-For.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxy_hops, x_proto=proxy_hops, x_host=proxy_hops)
