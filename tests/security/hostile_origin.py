"""A file server that misbehaves on purpose, on loopback, for the attack tests.

/trickle-body/<seconds>     200 with headers at once, then one byte a second for <seconds>
/trickle-headers/<seconds>  the status line and headers one byte a second
/gzip-bomb/<mib>            a gzip body of <mib> MiB of zeros sent with Content-Encoding: gzip
                            whatever the request asked for (Content-Length = compressed size)
/ignores-range/<size>       <size> pattern bytes, always 200 and whole, Range ignored
/redirect?location=<raw>    302 with that exact Location header (malformed ones included)
Every handler gives up after at most 60 s, so no test can leave it running.
"""
from __future__ import annotations

import gzip
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from provider.devtools.origin import pattern_bytes

MAX_SECONDS = 60


class HostileOrigin:
    def __init__(self) -> None:
        self.connections_open = 0
        self._bombs: dict[int, bytes] = {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                server.connections_open += 1
                try:
                    self._route()
                except (BrokenPipeError, ConnectionResetError, socket.timeout):
                    self.close_connection = True
                finally:
                    server.connections_open -= 1

            def _route(self):
                parts = urlsplit(self.path)
                name, _, arg = parts.path.strip("/").partition("/")
                if name == "trickle-body":
                    self.send_response(200)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", str(int(arg)))
                    self.end_headers()
                    self._trickle(b"s" * int(arg))
                elif name == "trickle-headers":
                    self.wfile.write(b"")  # nothing buffered: write the status line by hand
                    self._trickle(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok",
                                  limit=int(arg))
                    self.close_connection = True
                elif name == "gzip-bomb":
                    body = server.bomb(int(arg))
                    self.send_response(200)
                    self.send_header("Content-Type", "application/octet-stream")
                    self.send_header("Content-Encoding", "gzip")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                elif name == "ignores-range":
                    size = int(arg)
                    self.send_response(200)
                    self.send_header("Content-Type", "application/octet-stream")
                    self.send_header("Content-Length", str(size))
                    self.end_headers()
                    position = 0
                    while position < size:
                        chunk = pattern_bytes(position, min(size, position + 65536))
                        self.wfile.write(chunk)
                        position += len(chunk)
                elif name == "redirect":
                    location = parse_qs(parts.query)["location"][0]
                    self.wfile.write(f"HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n"
                                     .encode("latin-1"))
                else:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()

            def _trickle(self, data: bytes, limit: int | None = None):
                started = time.monotonic()
                for index, byte in enumerate(data):
                    if limit is not None and index >= limit or time.monotonic() - started > MAX_SECONDS:
                        break
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(1)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def bomb(self, mib: int) -> bytes:
        if mib not in self._bombs:
            self._bombs[mib] = gzip.compress(b"\0" * (mib * 1024 * 1024), compresslevel=9)
        return self._bombs[mib]

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
