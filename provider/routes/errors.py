"""Errors to JSON in one place: reference shapes, no stack traces, no URLs."""
from __future__ import annotations

import logging

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

from provider.errors import ProviderError, TooManyRequests, strip_urls

log = logging.getLogger("provider.errors")

# The reference answers HEAD on these with 405 instead of Flask's implicit HEAD-for-GET.
_NO_HEAD = ("/api/services/nonce", "/api/services/download", "/api/services/decrypt",
            "/api/services/compute", "/api/services/computeResult")


def init_app(app: Flask) -> None:
    @app.errorhandler(ProviderError)
    def provider_error(exc: ProviderError):
        if exc.http_status >= 500:
            log.warning("%s %s -> %s: %s", request.method, request.path, exc.http_status, exc.__cause__ or exc)
        response = jsonify(exc.body())
        if isinstance(exc, TooManyRequests):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response, exc.http_status

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        return jsonify({"error": exc.name}), exc.code

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return jsonify({"error": strip_urls("Internal error; the request was not completed.")}), 500

    @app.before_request
    def refuse_head():
        if request.method == "HEAD" and request.path in _NO_HEAD:
            return jsonify({"error": "Method Not Allowed"}), 405
        return None

    @app.after_request
    def cors(response):
        # Browser dApps call the provider from any origin, as with the reference (flask-cors).
        response.headers.setdefault("Access-Control-Allow-Origin", "*")
        if request.method == "OPTIONS":
            response.headers["Access-Control-Allow-Headers"] = request.headers.get(
                "Access-Control-Request-Headers", "Content-Type, AuthToken")
            response.headers["Access-Control-Allow-Methods"] = "GET, POST, PUT, DELETE, OPTIONS"
        return response
