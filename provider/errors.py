"""One exception tree for everything the provider raises on purpose.

Every error is a `ProviderError`, named for what went wrong (an invalid request, a refused
signature, an unknown asset, an unavailable file, a chain node that does not answer), with a
message that is safe to show: no URL, key, path or stack. Which HTTP status each one becomes
is decided in one place, the route layer (`provider.routes.errors.HTTP_STATUS`); nothing below
the routes knows about HTTP. Adapters translate foreign errors (web3, urllib3, sqlite, redis,
kubernetes) into these classes, always `from` the original, so the log keeps the cause while
the client sees only `user_message`.

    ProviderError
    ├── InvalidRequest            malformed input, or a rule refused it
    │   └── ValidationError       the reference's per-field shape
    │       └── InvalidSignature  a signature, nonce or auth token was refused
    ├── NotAuthorized             the caller is known but may not do this
    ├── NotFound                  no such asset, job or result (for this caller)
    ├── FileUnavailable           a publisher's file cannot be fetched
    ├── UpstreamRefused           the file server answered an error status
    ├── RangeNotSatisfiable       a byte range outside the file
    ├── RequestTooLarge           a body above MAX_BODY_BYTES
    ├── RateLimited               a rate limit was reached
    ├── DependencyUnavailable     a chain node, store or cluster did not answer
    └── ConfigurationError        the operator's configuration (start-up only, never a client)

Domain modules subclass these where the difference matters to a caller (`NonceRejected`,
`OrderInvalid`, `UnknownAsset`, `PhaseFailed`, ...).
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
    """Base class: an error with a client-safe message."""

    def __init__(self, user_message: Any = ""):
        super().__init__(user_message)
        self.user_message = user_message

    def body(self) -> dict:
        message = self.user_message
        return {"error": strip_urls(message) if isinstance(message, str) else message}


class InvalidRequest(ProviderError):
    """The request is malformed, or a rule refused it (an order, a credential, a container...)."""


class NotAuthorized(ProviderError):
    """The caller may not do this (a decrypter not on the list, a revoked or ended asset)."""


class NotFound(ProviderError):
    """There is no such thing, or none the caller may see."""


class FileUnavailable(ProviderError):
    """A publisher's file cannot be fetched; the message never contains the URL."""


class UpstreamRefused(ProviderError):
    """The file server answered an error status, which the consumer gets too."""

    def __init__(self, status: int):
        super().__init__(f"Error downloading the file: the file server answered {status}.")
        self.status = status


class RangeNotSatisfiable(ProviderError):
    def __init__(self, length: int | None):
        super().__init__("Requested range not satisfiable.")
        self.length = length


class DependencyUnavailable(ProviderError):
    """A dependency (chain node, Redis, cluster, remote service) failed; the request may be retried."""


class ValidationError(InvalidRequest):
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


class ConfigurationError(ProviderError):
    """The operator's configuration is unusable. Raised at start-up, never to a client."""


class RequestTooLarge(ProviderError):
    pass


class RateLimited(ProviderError):
    """A rate limit was reached; `retry_after` seconds go into the Retry-After header."""

    def __init__(self, user_message: str, retry_after: int):
        super().__init__(user_message)
        self.retry_after = retry_after
