"""HTTPS file servers: the provider talks only to one whose certificate a trusted CA issued for
the host named in the file's URL. The verifying TLS context is shared by every connection (one
context per CA bundle, see `verifying_tls_context`), so these check that sharing it kept both
checks: an untrusted certificate (a man in the middle) and a certificate for another name are
refused on every connection, not only on the first."""
import pytest

from provider.access.fetch import FileUnavailable, SafeFetcher, UpstreamRequest, verifying_tls_context
from provider.access.netpolicy import AddressPolicy
from provider.devtools.tls_origin import BODY, TlsOrigin


@pytest.fixture(scope="module")
def tls_origin():
    server = TlsOrigin()
    yield server
    server.stop()


def fetch(fetcher: SafeFetcher, url: str) -> bytes:
    response = fetcher.open(UpstreamRequest("GET", url))
    try:
        return b"".join(response.iter_content())
    finally:
        response.close()


LOOPBACK_ALLOWED = AddressPolicy(allow_non_public=True)  # the test server is on loopback


def test_a_file_server_with_a_trusted_certificate_for_its_name_is_read(tls_origin):
    fetcher = SafeFetcher(LOOPBACK_ALLOWED, ca_bundle=tls_origin.ca_bundle)
    for _ in range(3):  # every connection, through the one shared context
        assert fetch(fetcher, tls_origin.url()) == BODY
    assert verifying_tls_context(tls_origin.ca_bundle) is verifying_tls_context(tls_origin.ca_bundle)


def test_a_certificate_no_trusted_ca_issued_is_refused_on_every_connection(tls_origin):
    trusting = SafeFetcher(LOOPBACK_ALLOWED, ca_bundle=tls_origin.ca_bundle)
    default = SafeFetcher(LOOPBACK_ALLOWED)  # certifi's CAs: this server's CA is not among them
    for _ in range(2):
        assert fetch(trusting, tls_origin.url()) == BODY  # the context is warm
        with pytest.raises(FileUnavailable):
            fetch(default, tls_origin.url())


def test_a_trusted_certificate_for_another_name_is_refused(tls_origin):
    fetcher = SafeFetcher(LOOPBACK_ALLOWED, ca_bundle=tls_origin.ca_bundle)
    assert fetch(fetcher, tls_origin.url()) == BODY
    for _ in range(2):  # the certificate names `localhost`, not the address
        with pytest.raises(FileUnavailable):
            fetch(fetcher, tls_origin.url(host="127.0.0.1"))
