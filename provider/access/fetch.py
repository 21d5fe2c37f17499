"""Fetching publishers' files safely: every hop checked, the checked address connected to.

The reference checked only the final redirect target with one DNS lookup, then let `requests`
resolve and follow redirects again: a name that answers a public address to the check and
loopback to the fetch (DNS rebinding), or a redirect added between the two passes, got
through. Here each hop is resolved once, every address it resolves to must pass the
`AddressPolicy`, and the connection is made to that exact address (TLS still verifies the
certificate for the host name and sends it as SNI). Redirects are followed by hand, at most
`max_redirects`, each hop checked the same way. Headers from the DDO (API keys) are sent only
to the origin of the first URL; a redirect to another origin drops them.

This module uses urllib3 (the transport under `requests`) directly, because `requests` has no
supported way to connect to a pre-resolved address while verifying TLS for the name. It never
imports Flask; it raises `FileUnavailable` subclasses with client-safe messages.
"""
from __future__ import annotations

import socket
from dataclasses import dataclass, field
from typing import Callable, Iterator
from urllib.parse import urljoin, urlsplit

import certifi
import urllib3
from urllib3.exceptions import HTTPError as Urllib3Error

from provider.access.netpolicy import AddressPolicy
from provider.errors import ProviderError

Resolver = Callable[[str, int], list[str]]
REDIRECT_CODES = {301, 302, 303, 307, 308}
CHUNK = 64 * 1024


class FileUnavailable(ProviderError):
    """The file cannot be fetched; the message never contains the URL."""


class AddressRefused(FileUnavailable):
    pass


def system_resolver(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FileUnavailable("file host cannot be resolved") from exc
    return list(dict.fromkeys(info[4][0] for info in infos))


@dataclass
class UpstreamRequest:
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None


class UpstreamResponse:
    def __init__(self, response: urllib3.BaseHTTPResponse, final_url: str):
        self._response = response
        self.status = response.status
        self.headers = response.headers
        self.final_url = final_url

    def iter_content(self, chunk: int = CHUNK) -> Iterator[bytes]:
        """The body in chunks. Closing the iterator early (client gone) closes the upstream."""
        try:
            # read1 returns what has arrived (up to `chunk`) instead of waiting for a full chunk:
            # first bytes reach the client at once, and a slow origin cannot hide a stop request.
            while data := self._response.read1(chunk):
                yield data
        except (Urllib3Error, OSError) as exc:
            raise FileUnavailable("the file transfer was interrupted") from exc
        finally:
            self.close()

    def read_limited(self, limit: int) -> bytes | None:
        """The whole body if it is at most `limit` bytes, else None."""
        parts, size = [], 0
        for part in self.iter_content():
            size += len(part)
            if size > limit:
                return None
            parts.append(part)
        return b"".join(parts)

    def close(self) -> None:
        # Dropping the connection (not draining it) is what stops a large upstream transfer.
        self._response.close()


class SafeFetcher:
    def __init__(self, policy: AddressPolicy, connect_timeout: float = 10, read_timeout: float = 30,
                 max_redirects: int = 5, resolver: Resolver = system_resolver):
        self.policy = policy
        self.timeout = urllib3.Timeout(connect=connect_timeout, read=read_timeout)
        self.max_redirects = max_redirects
        self.resolver = resolver

    def open(self, request: UpstreamRequest) -> UpstreamResponse:
        method, url, body = request.method.upper(), request.url, request.body
        headers = dict(request.headers)
        origin = _origin(url)
        for _ in range(self.max_redirects + 1):
            response = self._open_one(method, url, headers, body)
            if response.status not in REDIRECT_CODES:
                return UpstreamResponse(response, url)
            location = response.headers.get("Location")
            response.close()
            response.release_conn()
            if not location:
                raise FileUnavailable("redirect without a location")
            url = urljoin(url, location)
            if response.status in (301, 302, 303) and method != "HEAD":
                method, body = "GET", None
                headers = {k: v for k, v in headers.items() if k.lower() not in ("content-type", "content-length")}
            if _origin(url) != origin:
                headers = {k: v for k, v in headers.items() if k.lower() == "range"}
        raise FileUnavailable("too many redirects")

    def _open_one(self, method: str, url: str, headers: dict, body: bytes | None) -> urllib3.BaseHTTPResponse:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FileUnavailable("only http and https file URLs are supported")
        if parts.username or parts.password:
            raise FileUnavailable("credentials in file URLs are not supported")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise FileUnavailable("invalid port in file URL") from None
        addresses = self.resolver(parts.hostname, port)
        if not addresses:
            raise FileUnavailable("file host cannot be resolved")
        refused = [a for a in addresses if not self.policy.allows(a)]
        if refused:
            raise AddressRefused("file host is not a public address")
        target = addresses[0]
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        host_header = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
        if ":" in parts.hostname and not parts.hostname.startswith("["):
            host_header = f"[{parts.hostname}]" + (f":{parts.port}" if parts.port else "")
        send_headers = {"Host": host_header, "User-Agent": "ocean-provider", **headers}
        if parts.scheme == "https":
            pool = urllib3.HTTPSConnectionPool(
                target, port, timeout=self.timeout, retries=False, maxsize=1,
                cert_reqs="CERT_REQUIRED", ca_certs=certifi.where(),
                assert_hostname=parts.hostname, server_hostname=parts.hostname,
            )
        else:
            pool = urllib3.HTTPConnectionPool(target, port, timeout=self.timeout, retries=False, maxsize=1)
        try:
            return pool.urlopen(method, path, body=body, headers=send_headers, redirect=False,
                                preload_content=False, assert_same_host=False, release_conn=False)
        except (Urllib3Error, OSError) as exc:
            raise FileUnavailable("file host cannot be reached") from exc


def _origin(url: str) -> tuple:
    parts = urlsplit(url)
    return parts.scheme, parts.hostname, parts.port
