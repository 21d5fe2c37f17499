"""One exception tree for everything a client may be told.

Every error a request can end in is a `ProviderError`: it carries the HTTP status and a
message that is safe to show (no URL, key, path or stack). `provider.routes.errors` turns
them into the reference Provider's JSON shapes in one place. Adapters translate foreign
errors (web3, requests, sqlite, redis) into these classes, always `from` the original, so
the log keeps the cause while the client sees only `user_message`.
"""
from __future__ import annotations

import re
from typing import Any

_URL = re.compile(r"(?i)\b(?:[a-z][a-z0-9+.-]*://|www\.)[^\s'\"<>]+")
URL_PLACEHOLDER = "<URL stripped for security reasons>"


def strip_urls(text: str) -> str:
    """Replace URL-like tokens, as the reference Provider does, before text leaves us."""
    return _URL.sub(URL_PLACEHOLDER, text)


class ProviderError(Exception):
    """Base class: an error with a client-safe message and an HTTP status."""

    http_status = 400

    def __init__(self, user_message: Any = "", *, http_status: int | None = None):
        super().__init__(user_message)
        self.user_message = user_message
        if http_status is not None:
            self.http_status = http_status

    def body(self) -> dict:
        message = self.user_message
        return {"error": strip_urls(message) if isinstance(message, str) else message}


class BadRequest(ProviderError):
    http_status = 400


class Forbidden(ProviderError):
    http_status = 403


class NotFound(ProviderError):
    http_status = 404


class Unavailable(ProviderError):
    """A dependency (chain node, Redis, remote service) failed; the request may be retried."""

    http_status = 503


class ValidationError(ProviderError):
    """Request parameters failed validation: the reference's flask-sieve 400 shape."""

    def __init__(self, errors: dict[str, Any]):
        super().__init__("Validation error")
        self.errors = errors

    def body(self) -> dict:
        return {"errors": self.errors, "message": "Validation error", "success": False}

    @classmethod
    def field(cls, name: str, message: str) -> "ValidationError":
        return cls({name: [message]})


class InvalidSignature(ValidationError):
    """A signature, nonce or auth token was refused.

    The reference reports these under `errors.signature` as a plain string (nonce and
    recovery failures) or a one-element list (nothing usable supplied); both are kept.
    """

    def __init__(self, message: str, *, as_list: bool = False):
        super().__init__({"signature": [message] if as_list else message})
        self.user_message = message


class ConfigurationError(Exception):
    """The operator's configuration is unusable. Raised at start-up, never to a client."""


class PayloadTooLarge(ProviderError):
    http_status = 413


class TooManyRequests(ProviderError):
    """A rate limit was reached; `retry_after` seconds go into the Retry-After header."""

    http_status = 429

    def __init__(self, user_message: str, retry_after: int):
        super().__init__(user_message)
        self.retry_after = retry_after
