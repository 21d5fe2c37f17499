"""What happens around every request: request id, body and rate limits, metrics, access log.

Order: the id is assigned first (so even a refused request is traceable), then the body size
limit, then the per-IP rate limit (the body is not read for it), then the view. After the
view: the id header, the metrics and one access-log line. The liveness probe and the metrics
scrape are not rate limited.
"""
from __future__ import annotations

import logging
import re
import time

from flask import Flask, Response, jsonify, request
from werkzeug.middleware.proxy_fix import ProxyFix

from provider import metrics
from provider.errors import RequestTooLarge
from provider.observability import new_request_id, request_id_var
from provider.stores.audit import client_var
from provider.ratelimit import RateLimiter

access_log = logging.getLogger("provider.access_log")
REQUEST_ID_HEADER = "X-Request-ID"
_UNLIMITED_PATHS = ("/health", "/metrics")
# The reference answers HEAD on these with 405 instead of Flask's implicit HEAD-for-GET.
_NO_HEAD = ("/api/services/nonce", "/api/services/download", "/api/services/decrypt",
            "/api/services/compute", "/api/services/computeResult")
REQUEST_ID_ENVIRON = "provider.request_id"


# CORS: browser dApps (ocean.js in a page) call every endpoint cross-origin, with headers that
# need a preflight (`Authorization`, JSON bodies). Nothing is authorised by cookies, so any
# origin may call; credentials are never allowed.
ALLOWED_METHODS = "GET, POST, PUT, DELETE, OPTIONS"
ALLOWED_HEADERS = "Content-Type, Authorization, AuthToken, Range, X-Request-ID"
EXPOSED_HEADERS = "Content-Disposition, Content-Length, Content-Range, Accept-Ranges, X-Request-ID"
_HEADER_NAME = re.compile(r"[A-Za-z0-9-]{1,64}")


def _preflight(requested: str | None) -> Response:
    """Every path answers a preflight (`/` included): 204 with what may be sent. The headers a
    browser asks for are allowed when they are plain header names (never echoed otherwise)."""
    names = [n.strip() for n in (requested or "").split(",") if n.strip()][:32]
    allowed = ALLOWED_HEADERS
    if names and all(_HEADER_NAME.fullmatch(n) for n in names):
        allowed = ", ".join(dict.fromkeys([*ALLOWED_HEADERS.split(", "), *names]))
    return Response(status=204, headers={
        "Access-Control-Allow-Methods": ALLOWED_METHODS, "Access-Control-Allow-Headers": allowed,
        "Access-Control-Max-Age": "86400"})


class EveryAnswerHeaders:
    """WSGI layer that adds the headers every answer carries: CORS and the request id.

    Set on each Flask response instead, werkzeug validated and de-duplicated each of them (a
    fifth of the hooks' time on GET /); here they are appended to the list the server sends.
    Views leave these names alone, so nothing is sent twice."""

    _CONSTANT = [("Access-Control-Allow-Origin", "*"), ("Access-Control-Expose-Headers", EXPOSED_HEADERS)]

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        def start(status, headers, exc_info=None):
            headers.extend(self._CONSTANT)
            request_id = environ.get(REQUEST_ID_ENVIRON)
            if request_id:
                headers.append((REQUEST_ID_HEADER, request_id))
            return start_response(status, headers, exc_info)
        return self.wsgi_app(environ, start)


def init_app(app: Flask, limiter: RateLimiter, max_body_bytes: int, proxy_hops: int) -> None:
    app.config["MAX_CONTENT_LENGTH"] = max_body_bytes
    app.wsgi_app = EveryAnswerHeaders(app.wsgi_app)
    if proxy_hops > 0:
        # Behind that many trusted proxies, the client IP is taken from X-Forwarded-For.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxy_hops, x_proto=proxy_hops, x_host=proxy_hops)

    per_ip_limited = limiter.limits.rate_per_ip > 0

    @app.before_request
    def begin():
        # State lives on the request object, not on `g`: each `g` attribute is a proxy lookup,
        # and these hooks run on every request (about a tenth of GET / was spent in them).
        req = request._get_current_object()
        req.provider_started = time.perf_counter()
        environ = req.environ
        request_id = environ[REQUEST_ID_ENVIRON] = new_request_id(environ.get("HTTP_X_REQUEST_ID"))
        req.provider_context = (request_id_var.set(request_id), client_var.set(req.remote_addr))
        path = req.path
        internal = path.startswith("/api/internal/")
        if internal:
            # Result bundles from compute pods: capped by the environment's disk while unpacking.
            req.max_content_length = None
        elif req.content_length is not None and req.content_length > max_body_bytes:
            raise RequestTooLarge(f"Request body too large: the limit is {max_body_bytes} bytes.")
        if per_ip_limited and not internal and path not in _UNLIMITED_PATHS:
            # Per IP only, and without reading the body; addresses are counted by the
            # authenticator once their signature has been verified.
            limiter.enforce(client_ip=req.remote_addr)
        method = req.method
        if method == "OPTIONS":
            return _preflight(req.headers.get("Access-Control-Request-Headers"))
        if method == "HEAD" and path in _NO_HEAD:
            return jsonify({"error": "Method Not Allowed"}), 405
        return None

    @app.after_request
    def finish(response):
        req = request._get_current_object()
        started = getattr(req, "provider_started", None)
        if started is not None:
            elapsed = time.perf_counter() - started
            rule = req.url_rule
            metrics.record_request(rule.endpoint if rule is not None else "unmatched", req.method,
                                   response.status_code, elapsed)
            if access_log.isEnabledFor(logging.INFO):
                # The path only: query strings carry signatures and tokens.
                access_log.info("%s %s %s", req.method, req.path, response.status_code, extra={
                    "method": req.method, "path": req.path, "status": response.status_code,
                    "duration_ms": round(elapsed * 1000, 2), "remote_addr": req.remote_addr})
        return response

    @app.teardown_request
    def forget(_exc=None):
        # After the body was sent (a streamed download still logs with its request id).
        tokens = request._get_current_object().__dict__.pop("provider_context", None)
        if tokens is not None:
            request_id_var.reset(tokens[0])
            client_var.reset(tokens[1])
