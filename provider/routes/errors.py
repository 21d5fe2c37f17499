"""Errors to JSON in one place: reference shapes, no stack traces, no URLs."""
from __future__ import annotations

import logging

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

from provider.errors import (
    DependencyUnavailable, FileUnavailable, InvalidRequest, NotAuthorized, NotFound, ProviderError, RangeNotSatisfiable,
    RateLimited, RequestTooLarge, UpstreamRefused, strip_urls,
)

log = logging.getLogger("provider.errors")

# The one place where what went wrong becomes an HTTP status (the most specific class wins).
HTTP_STATUS: dict[type[ProviderError], int] = {
    InvalidRequest: 400,
    FileUnavailable: 400,  # the reference answers 400 for files it cannot fetch
    NotAuthorized: 403,
    NotFound: 404,
    RequestTooLarge: 413,
    RangeNotSatisfiable: 416,
    RateLimited: 429,
    DependencyUnavailable: 503,
}


def http_status(exc: ProviderError) -> int:
    if isinstance(exc, UpstreamRefused):
        return exc.status if 400 <= exc.status < 600 else 502
    for cls in type(exc).__mro__:
        if cls in HTTP_STATUS:
            return HTTP_STATUS[cls]
    return 500  # a domain error that should never reach a client (a job phase, a configuration)


def error_answer(exc: ProviderError) -> tuple[int, dict, dict[str, str]]:
    """Status, JSON body and extra headers of a refusal: the one shape, used by the Flask error
    handler and by the request envelope (which refuses before Flask is entered)."""
    status = http_status(exc)
    body = exc.body() if status != 500 else {"error": "Internal error; the request was not completed."}
    headers = {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, RangeNotSatisfiable) and exc.length is not None:
        headers["Content-Range"] = f"bytes */{exc.length}"
    return status, body, headers


def init_app(app: Flask) -> None:
    @app.errorhandler(ProviderError)
    def provider_error(exc: ProviderError):
        status, body, headers = error_answer(exc)
        if status >= 500:
            log.warning("%s %s -> %s: %s", request.method, request.path, status, exc.__cause__ or exc)
        return jsonify(body), status, headers

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        return jsonify({"error": exc.name}), exc.code

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return jsonify({"error": strip_urls("Internal error; the request was not completed.")}), 500

