"""An HTTPS file server on loopback, for the TLS tests and `bench/tls_fetch.py`.

Its certificate, for `localhost`, comes from a CA of its own (trustme, a test dependency); the
CA's certificate is written to `ca_bundle` for a client to trust, or to leave out. Every GET
answers `hello`.
"""
from __future__ import annotations

import http.server
import ssl
import tempfile
import threading
from pathlib import Path

BODY = b"hello"


class _Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, *args):
        pass


class TlsOrigin:
    def __init__(self, extra_cas: bytes = b"") -> None:
        """`extra_cas`: PEM certificates written into the bundle ahead of this server's CA (a
        bundle the size of a real one costs what a real one costs to load)."""
        import trustme  # only the tests and benchmarks have it

        ca = trustme.CA()
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ca.issue_cert("localhost").configure_cert(context)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.port = self._server.server_address[1]
        self.ca_bundle = str(Path(tempfile.mkdtemp(prefix="tls-origin-")) / "ca.pem")
        Path(self.ca_bundle).write_bytes(extra_cas + ca.cert_pem.bytes())

    def url(self, host: str = "localhost", path: str = "/file") -> str:
        return f"https://{host}:{self.port}{path}"

    def stop(self) -> None:
        self._server.shutdown()
