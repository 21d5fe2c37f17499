"""What happens around every request: request id, body and rate limits, metrics, access log.

Order: the id is assigned first (so even a refused request is traceable), then the body size
limit, then the rate limits, then the view. After the view: the id header, the metrics and
one access-log line. Probes and the metrics scrape are not rate limited.
"""
from __future__ import annotations

import logging
import time

from flask import Flask, g, request
from werkzeug.middleware.proxy_fix import ProxyFix

from provider import metrics
from provider.errors import PayloadTooLarge, TooManyRequests
from provider.observability import new_request_id, request_id_var
from provider.ratelimit import RateLimiter, addresses_in

access_log = logging.getLogger("provider.access_log")
REQUEST_ID_HEADER = "X-Request-ID"
_UNLIMITED_PATHS = ("/health", "/ready", "/metrics")


def init_app(app: Flask, limiter: RateLimiter, max_body_bytes: int, proxy_hops: int) -> None:
    app.config["MAX_CONTENT_LENGTH"] = max_body_bytes
    if proxy_hops > 0:
        # Behind that many trusted proxies, the client IP is taken from X-Forwarded-For.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxy_hops, x_proto=proxy_hops, x_host=proxy_hops)

    @app.before_request
    def begin():
        g.started = time.perf_counter()
        g.request_id = new_request_id(request.headers.get(REQUEST_ID_HEADER))
        g.request_id_token = request_id_var.set(g.request_id)
        if request.path.startswith("/api/internal/"):
            # Result bundles from compute pods: capped by the environment's disk while unpacking.
            request.max_content_length = None
        elif request.content_length is not None and request.content_length > max_body_bytes:
            raise PayloadTooLarge(f"Request body too large: the limit is {max_body_bytes} bytes.")
        if limiter.enabled and request.path not in _UNLIMITED_PATHS and not request.path.startswith("/api/internal/"):
            fields = dict(request.args)
            if request.is_json:
                body = request.get_json(silent=True)
                if isinstance(body, dict):
                    fields.update({k: v for k, v in body.items() if isinstance(v, str)})
            result = limiter.check(request.remote_addr, addresses_in(fields))
            if not result.allowed:
                metrics.RATE_LIMITED.labels(scope=result.scope).inc()
                per = "this client" if result.scope == "ip" else "this address"
                raise TooManyRequests(f"Too many requests from {per}; retry in {result.retry_after} s.",
                                      result.retry_after)

    @app.after_request
    def finish(response):
        request_id = g.get("request_id")
        if request_id:
            response.headers[REQUEST_ID_HEADER] = request_id
        started = g.get("started")
        if started is not None:
            elapsed = time.perf_counter() - started
            endpoint = request.url_rule.endpoint if request.url_rule is not None else "unmatched"
            metrics.REQUESTS.labels(endpoint=endpoint, method=request.method, status=str(response.status_code)).inc()
            metrics.LATENCY.labels(endpoint=endpoint).observe(elapsed)
            # The path only: query strings carry signatures and tokens.
            access_log.info("%s %s %s", request.method, request.path, response.status_code, extra={
                "method": request.method, "path": request.path, "status": response.status_code,
                "duration_ms": round(elapsed * 1000, 2), "remote_addr": request.remote_addr})
        return response

    @app.teardown_request
    def forget(_exc=None):
        token = g.pop("request_id_token", None)
        if token is not None:
            request_id_var.reset(token)
