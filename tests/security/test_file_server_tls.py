"""HTTPS file servers: the provider talks only to one whose certificate a trusted CA issued for
the host named in the file's URL. The verifying TLS context is shared by every connection (one
context per CA bundle, see `verifying_tls_context`), so these check that sharing it kept both
checks: an untrusted certificate (a man in the middle) and a certificate for another name are
refused on every connection, not only on the first."""
import http.server
import ssl
import threading

import pytest
import trustme

from provider.access.fetch import FileUnavailable, SafeFetcher, UpstreamRequest, verifying_tls_context
from provider.access.netpolicy import AddressPolicy


class _Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "5")
        self.end_headers()
        self.wfile.write(b"hello")

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def tls_origin(tmp_path_factory):
    """An HTTPS server on loopback with a certificate for `localhost` from a CA of its own."""
    ca = trustme.CA()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("localhost").configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    bundle = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    yield server.server_address[1], str(bundle)
    server.shutdown()


def fetch(fetcher: SafeFetcher, url: str) -> bytes:
    response = fetcher.open(UpstreamRequest("GET", url))
    try:
        return b"".join(response.iter_content())
    finally:
        response.close()


LOOPBACK_ALLOWED = AddressPolicy(allow_non_public=True)  # the test servers are on loopback


def test_a_file_server_with_a_trusted_certificate_for_its_name_is_read(tls_origin):
    port, bundle = tls_origin
    fetcher = SafeFetcher(LOOPBACK_ALLOWED, ca_bundle=bundle)
    for _ in range(3):  # every connection, through the one shared context
        assert fetch(fetcher, f"https://localhost:{port}/a.txt") == b"hello"
    assert verifying_tls_context(bundle) is verifying_tls_context(bundle)


def test_a_certificate_no_trusted_ca_issued_is_refused_on_every_connection(tls_origin):
    port, bundle = tls_origin
    trusting = SafeFetcher(LOOPBACK_ALLOWED, ca_bundle=bundle)
    default = SafeFetcher(LOOPBACK_ALLOWED)  # certifi's CAs: this server's CA is not among them
    for _ in range(2):
        assert fetch(trusting, f"https://localhost:{port}/a.txt") == b"hello"  # the context is warm
        with pytest.raises(FileUnavailable):
            fetch(default, f"https://localhost:{port}/a.txt")


def test_a_trusted_certificate_for_another_name_is_refused(tls_origin):
    port, bundle = tls_origin
    fetcher = SafeFetcher(LOOPBACK_ALLOWED, ca_bundle=bundle)
    assert fetch(fetcher, f"https://localhost:{port}/a.txt") == b"hello"
    for _ in range(2):  # the certificate names `localhost`, not the address
        with pytest.raises(FileUnavailable):
            fetch(fetcher, f"https://127.0.0.1:{port}/a.txt")
