"""Fetching publishers' files safely: every hop checked, the checked address connected to, and
every transfer bounded in time.

The reference checked only the final redirect target with one DNS lookup, then let `requests`
resolve and follow redirects again: a name that answers a public address to the check and
loopback to the fetch (DNS rebinding), or a redirect added between the two passes, got
through. Here each hop is resolved once, every address it resolves to must pass the
`AddressPolicy`, and the connection is made to that exact address (TLS still verifies the
certificate for the host name and sends it as SNI). Redirects are followed by hand, at most
`max_redirects`, each hop checked the same way. Headers from the DDO (API keys) are sent only
to the origin of the first URL; a redirect to another origin drops them.

Time: per-read timeouts do not stop an origin that sends one byte a second (every read
succeeds). Each transfer therefore has a total deadline, enforced by a watchdog thread that
shuts the socket down when it passes, whatever the transfer is doing (connecting, waiting for
headers, reading the body); the caller sees `FetchDeadline`. A download, whose body may
legitimately take long, is given a minimum rate instead once its headers are in.

Bodies are read as sent (`decode_content=False`): a download passes an encoded body through
with its own headers, byte for byte, and code that needs the file's bytes decodes it with
`decoded`, whose output per step is bounded (a gzip bomb cannot expand in one read).

This module uses urllib3 (the transport under `requests`) directly, because `requests` has no
supported way to connect to a pre-resolved address while verifying TLS for the name. It never
imports Flask; it raises `FileUnavailable` subclasses with client-safe messages.
"""
from __future__ import annotations

import functools
import heapq
import http.client
import itertools
import socket
import ssl
import threading
import time
import zlib
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator
from urllib.parse import SplitResult, urljoin, urlsplit

import certifi
import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.util.ssl_ import create_urllib3_context

from provider.access.netpolicy import AddressPolicy
from provider.errors import FileUnavailable

Resolver = Callable[[str, int], list[str]]
REDIRECT_CODES = {301, 302, 303, 307, 308}
CHUNK = 64 * 1024


class AddressRefused(FileUnavailable):
    pass


class FetchDeadline(FileUnavailable):
    """The file server did not deliver within the time allowed."""


def split_url(url: str) -> tuple[SplitResult, int]:
    """(parts, port) of an http(s) URL; FileUnavailable for anything unusable (a malformed IPv6
    host, a port outside 1-65535, another scheme, credentials)."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        host = parts.hostname
    except ValueError:
        raise FileUnavailable("malformed file URL") from None
    if parts.scheme not in ("http", "https") or not host:
        raise FileUnavailable("only http and https file URLs are supported")
    if parts.username or parts.password:
        raise FileUnavailable("credentials in file URLs are not supported")
    if not 0 < port < 65536:
        raise FileUnavailable("invalid port in file URL")
    return parts, port


def system_resolver(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FileUnavailable("file host cannot be resolved") from exc
    return list(dict.fromkeys(info[4][0] for info in infos))


# ---- deadlines -------------------------------------------------------------------------------

class Watchdog:
    """One thread for every transfer in the process: at each watched socket's deadline it shuts
    the socket down, which ends any read or write blocked on it at once.

    The thread is woken only when a deadline comes before the time it sleeps until (every
    transfer of one kind has the same timeout, so a new one almost never does), and it sleeps at
    least `resolution` seconds between rounds, ending every deadline that has passed in each. A
    wake per transfer (a thread switch, the GIL handed over twice) cost about 0.1 ms of CPU, a
    sixth of a whole fetch. A deadline is therefore kept to within `resolution`. Finished
    transfers leave their entries in the heap until their time; the heap is rebuilt from what
    is still watched when stale entries outnumber live ones, so it stays bounded."""

    def __init__(self, resolution: float = 0.05) -> None:
        self.resolution = resolution
        self._heap: list[tuple[float, int]] = []
        self._watched: dict[int, tuple[float, socket.socket]] = {}
        self._ids = itertools.count()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._wake_at = float("inf")  # when the thread next looks (inf: when told)

    def watch(self, sock: socket.socket, deadline: float) -> int:
        with self._cond:
            handle = next(self._ids)
            self._watched[handle] = (deadline, sock)
            self._push(deadline, handle)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="fetch-watchdog", daemon=True)
                self._thread.start()
            return handle

    def reschedule(self, handle: int, deadline: float | None) -> None:
        with self._cond:
            entry = self._watched.get(handle)
            if entry is None:
                return
            if deadline is None:
                del self._watched[handle]
                return
            self._watched[handle] = (deadline, entry[1])
            self._push(deadline, handle)

    def forget(self, handle: int) -> None:
        with self._cond:
            self._watched.pop(handle, None)

    def _push(self, deadline: float, handle: int) -> None:
        """(Lock held.) Add an entry, compacting a heap that is mostly finished transfers, and
        wake the thread only if it would otherwise look too late."""
        if len(self._heap) > 1024 and len(self._heap) > 4 * len(self._watched):
            self._heap = [(d, h) for h, (d, _) in self._watched.items()]
            heapq.heapify(self._heap)
        heapq.heappush(self._heap, (deadline, handle))
        if deadline < self._wake_at:
            self._cond.notify()

    def _run(self) -> None:
        while True:
            due = []
            with self._cond:
                now = time.monotonic()
                while self._heap and self._heap[0][0] <= now:
                    deadline, handle = heapq.heappop(self._heap)
                    entry = self._watched.get(handle)
                    if entry is not None and entry[0] == deadline:  # not forgotten or rescheduled
                        del self._watched[handle]
                        due.append(entry[1])
                if not due:
                    self._wake_at = max(self._heap[0][0], now + self.resolution) if self._heap else float("inf")
                    self._cond.wait(self._wake_at - now if self._heap else None)
                    self._wake_at = 0.0  # awake: whoever adds a deadline now need not wake it
                    continue
            for sock in due:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


WATCHDOG = Watchdog()


@dataclass
class _Watch:
    """The deadline of one transfer, shared by the connections it opens (one per redirect hop)."""
    deadline: float | None
    handles: list[int] = field(default_factory=list)

    def attach(self, sock: socket.socket) -> None:
        if self.deadline is not None:
            self.handles.append(WATCHDOG.watch(sock, self.deadline))

    def set(self, deadline: float | None) -> None:
        self.deadline = deadline
        for handle in self.handles:
            WATCHDOG.reschedule(handle, deadline)

    def release(self) -> None:
        for handle in self.handles:
            WATCHDOG.forget(handle)
        self.handles.clear()

    @property
    def passed(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline


class _Watched:
    """Mixed into urllib3's connection classes: each new socket is put under the transfer's watch."""

    def __init__(self, *args, watch: _Watch, **kwargs):
        super().__init__(*args, **kwargs)
        self._watch = watch

    def connect(self) -> None:
        super().connect()
        self._watch.attach(self.sock)


class _WatchedHTTPConnection(_Watched, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_Watched, HTTPSConnection):
    pass


# ---- requests and responses ------------------------------------------------------------------

@dataclass
class UpstreamRequest:
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None


@dataclass(frozen=True)
class MinimumRate:
    """A transfer slower than `bytes_per_second`, measured over `window` seconds, is ended."""
    bytes_per_second: float
    window: float = 30.0


class _Exchange:
    """One request on its own connection, and the answer's head; closing it drops the
    connection (never reused: the next request may go to another address)."""

    __slots__ = ("connection", "response")

    def __init__(self, connection: HTTPConnection, response: urllib3.HTTPResponse):
        self.connection = connection
        self.response = response

    def close(self) -> None:
        try:
            self.response.close()
        finally:
            self.connection.close()


class UpstreamResponse:
    def __init__(self, exchange: _Exchange, final_url: str, watch: _Watch):
        response = exchange.response
        self._exchange = exchange
        self._response = response
        self._watch = watch
        self.status = response.status
        self.headers = response.headers
        self.final_url = final_url
        self.minimum_rate: MinimumRate | None = None

    @property
    def content_encoding(self) -> str:
        """The body's Content-Encoding, lower-case ("" when the body is sent as is)."""
        value = (self.headers.get("Content-Encoding") or "").strip().lower()
        return "" if value == "identity" else value

    def set_deadline(self, seconds: float | None) -> None:
        """From now, the rest of the transfer may take `seconds` (None: no total deadline)."""
        self._watch.set(None if seconds is None else time.monotonic() + seconds)

    def iter_content(self, chunk: int = CHUNK) -> Iterator[bytes]:
        """The body as sent, in chunks. Closing the iterator early (client gone) closes the upstream."""
        rate = self.minimum_rate
        window_start, window_bytes = time.monotonic(), 0
        try:
            # read1 returns what has arrived (up to `chunk`) instead of waiting for a full chunk:
            # first bytes reach the client at once, and a slow origin cannot hide a stop request.
            while data := self._response.read1(chunk, decode_content=False):
                if rate is not None:
                    window_bytes += len(data)
                    now = time.monotonic()
                    if now - window_start >= rate.window:
                        if window_bytes < rate.bytes_per_second * (now - window_start):
                            raise FetchDeadline("the file server is sending too slowly")
                        window_start, window_bytes = now, 0
                yield data
            if self._watch.passed:
                raise FetchDeadline("the file server did not deliver the file in time")
        except (Urllib3Error, OSError) as exc:
            if self._watch.passed:
                raise FetchDeadline("the file server did not deliver the file in time") from exc
            raise FileUnavailable("the file transfer was interrupted") from exc
        finally:
            self.close()

    def decoded(self, chunk: int = CHUNK) -> Iterator[bytes]:
        """The file's bytes: the body with its Content-Encoding undone, at most `chunk` bytes of
        output per step whatever the compression ratio."""
        return decode_body(self.iter_content(chunk), self.content_encoding, chunk)

    def read_limited(self, limit: int) -> bytes | None:
        """The whole (decoded) body if it is at most `limit` bytes, else None."""
        parts, size = [], 0
        for part in self.decoded():
            size += len(part)
            if size > limit:
                self.close()
                return None
            parts.append(part)
        return b"".join(parts)

    def close(self) -> None:
        # Dropping the connection (not draining it) is what stops a large upstream transfer.
        self._watch.release()
        self._exchange.close()


def decode_body(chunks: Iterable[bytes], encoding: str, step: int = CHUNK) -> Iterator[bytes]:
    """Undo gzip or deflate with bounded output per step; other encodings cannot be read."""
    if not encoding:
        yield from chunks
        return
    if encoding in ("gzip", "x-gzip"):
        decoder = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    elif encoding == "deflate":
        decoder = zlib.decompressobj(wbits=32 + zlib.MAX_WBITS)  # zlib or raw headers, detected
    else:
        raise FileUnavailable(f"the file server sent an unsupported content encoding ({encoding[:20]})")
    try:
        for data in chunks:
            while data:
                out = decoder.decompress(data, step)
                data = decoder.unconsumed_tail
                if out:
                    yield out
        while not decoder.eof and (out := decoder.decompress(b"", step)):
            yield out
    except zlib.error as exc:
        raise FileUnavailable("the file server sent a body that does not decode") from exc


@functools.lru_cache(maxsize=8)
def verifying_tls_context(ca_bundle: str) -> ssl.SSLContext:
    """One certificate-verifying TLS context per CA bundle and process, shared by every HTTPS
    connection to a file server. Handed only CA file names, urllib3 built a context and loaded the
    bundle for each connection: 40 ms of CPU for certifi's, paid by every HTTPS download,
    fileinfo and upload. The host name is still checked on each connection (urllib3 matches the
    certificate against `assert_hostname`), and what urllib3 sets on the context (verification
    required, its own host name check) is the same for every connection."""
    context = create_urllib3_context(cert_reqs=ssl.CERT_REQUIRED)
    context.load_verify_locations(cafile=ca_bundle)
    return context


class SafeFetcher:
    def __init__(self, policy: AddressPolicy, connect_timeout: float = 10, read_timeout: float = 30,
                 max_redirects: int = 5, resolver: Resolver = system_resolver, ca_bundle: str | None = None):
        self.policy = policy
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_redirects = max_redirects
        self.resolver = resolver
        self.ca_bundle = ca_bundle or certifi.where()  # the CAs file servers are trusted by

    def open(self, request: UpstreamRequest, deadline: float | None = None) -> UpstreamResponse:
        """Send the request, following redirects; `deadline` (seconds from now) bounds the whole
        transfer, headers and body, until the caller changes it (`set_deadline`)."""
        watch = _Watch(None if deadline is None else time.monotonic() + deadline)
        try:
            return self._open(request, watch)
        except BaseException:
            watch.release()
            raise

    def upload(self, method: str, url: str, headers: dict[str, str], body, length: int,
               deadline: float) -> int:
        """Send a file (`body`, a binary file object of `length` bytes) to `url` with the same
        address checks as every fetch, and answer the HTTP status. No redirect is followed: the
        body cannot be sent twice, and a redirect could point anywhere."""
        watch = _Watch(time.monotonic() + deadline)
        try:
            exchange = self._open_one(method.upper(), url, {**headers, "Content-Length": str(length)}, body, watch)
            try:
                return exchange.response.status
            finally:
                exchange.close()
        finally:
            watch.release()

    def _open(self, request: UpstreamRequest, watch: _Watch) -> UpstreamResponse:
        method, url, body = request.method.upper(), request.url, request.body
        headers = dict(request.headers)
        origin = _origin(url)
        for _ in range(self.max_redirects + 1):
            exchange = self._open_one(method, url, headers, body, watch)
            status = exchange.response.status
            if status not in REDIRECT_CODES:
                return UpstreamResponse(exchange, url, watch)
            location = exchange.response.headers.get("Location")
            exchange.close()
            if not location:
                raise FileUnavailable("redirect without a location")
            try:
                url = urljoin(url, location)
            except ValueError:
                raise FileUnavailable("redirect to a malformed URL") from None
            if status in (301, 302, 303) and method != "HEAD":
                method, body = "GET", None
                headers = {k: v for k, v in headers.items() if k.lower() not in ("content-type", "content-length")}
            if _origin(url) != origin:
                headers = {k: v for k, v in headers.items() if k.lower() == "range"}
        raise FileUnavailable("too many redirects")

    def _open_one(self, method: str, url: str, headers: dict, body, watch: _Watch) -> _Exchange:
        parts, port = split_url(url)
        host = parts.hostname
        addresses = self.resolver(host, port)
        if not addresses:
            raise FileUnavailable("file host cannot be resolved")
        refused = [a for a in addresses if not self.policy.allows(a)]
        if refused:
            raise AddressRefused("file host is not a public address")
        if watch.passed:
            raise FetchDeadline("the file server did not answer in time")
        target = addresses[0]
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        host_header = host if parts.port is None else f"{host}:{parts.port}"
        if ":" in host and not host.startswith("["):
            host_header = f"[{host}]" + (f":{parts.port}" if parts.port else "")
        send_headers = {"Host": host_header, "User-Agent": "ocean-provider", **headers}
        # One connection to the checked address, without a pool: a pool per request (its queue,
        # locks, retry and timeout objects) cost about 0.1 ms of CPU, a fifth of a fetch, and a
        # shared one would reuse a connection made to an address checked for another request.
        if parts.scheme == "https":
            connection = _WatchedHTTPSConnection(
                target, port, timeout=self.connect_timeout, cert_reqs="CERT_REQUIRED",
                ssl_context=verifying_tls_context(self.ca_bundle), assert_hostname=host, server_hostname=host,
                watch=watch)
        else:
            connection = _WatchedHTTPConnection(target, port, timeout=self.connect_timeout, watch=watch)
        try:
            try:
                connection.request(method, path, body=body, headers=send_headers, preload_content=False,
                                   decode_content=False)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server answered before it read the whole body: its answer is still read
            connection.timeout = self.read_timeout  # per read, from here on
            return _Exchange(connection, connection.getresponse())
        except (Urllib3Error, OSError, ValueError, http.client.HTTPException) as exc:
            connection.close()
            if watch.passed:
                raise FetchDeadline("the file server did not answer in time") from exc
            raise FileUnavailable("file host cannot be reached") from exc


def _origin(url: str) -> tuple:
    parts, port = split_url(url)
    return parts.scheme, parts.hostname, port
