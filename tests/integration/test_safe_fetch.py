"""SafeFetcher against real servers on loopback: every hop checked, checked address used."""
import pytest

from provider.access.fetch import AddressRefused, FileUnavailable, SafeFetcher, UpstreamRequest, system_resolver
from provider.access.netpolicy import AddressPolicy
from provider.devtools.origin import OriginServer


@pytest.fixture(scope="module")
def origin():
    server = OriginServer()
    server.add("a.txt", b"hello", "text/plain")
    yield server
    server.stop()


STRICT = SafeFetcher(AddressPolicy())


def fetch(fetcher, url, **kw):
    response = fetcher.open(UpstreamRequest("GET", url, **kw))
    try:
        return response.status, b"".join(response.iter_content())
    finally:
        response.close()


@pytest.mark.parametrize("host", ["127.0.0.1", "169.254.169.254", "[::ffff:127.0.0.1]", "2130706433",
                                  "0177.0.0.1", "0x7f.1", "localhost", "[::1]"])
def test_private_targets_are_refused(origin, host):
    with pytest.raises(FileUnavailable):
        fetch(STRICT, f"http://{host}:{origin.port}/files/a.txt")
    assert origin.hits["files"] == 0


def test_numeric_host_forms_resolve_to_loopback_and_are_refused_for_that_reason():
    assert system_resolver("2130706433", 80) == ["127.0.0.1"]
    with pytest.raises(AddressRefused):
        fetch(STRICT, "http://2130706433/x")


def test_a_public_looking_name_that_resolves_to_loopback_is_refused(origin):
    fetcher = SafeFetcher(AddressPolicy(), resolver=lambda host, port: ["127.0.0.1"])
    with pytest.raises(AddressRefused):
        fetch(fetcher, f"http://data.example.com:{origin.port}/files/a.txt")


def test_a_name_with_one_private_answer_among_public_ones_is_refused():
    fetcher = SafeFetcher(AddressPolicy(), resolver=lambda host, port: ["93.184.216.34", "10.0.0.5"])
    with pytest.raises(AddressRefused):
        fetch(fetcher, "http://mixed.example.com/x")


def test_redirect_to_a_private_address_is_refused_at_that_hop(origin):
    # 127.0.0.2 stands in for a public host (the first hop); the redirect goes to 127.0.0.1.
    fetcher = SafeFetcher(AddressPolicy(treat_as_public=frozenset({"127.0.0.2"})))
    second = OriginServer("127.0.0.2")
    try:
        target = f"http://127.0.0.1:{origin.port}/files/a.txt"
        with pytest.raises(AddressRefused):
            fetch(fetcher, f"{second.url}/redirect?n=3&to={target}")
        assert second.hits["redirect"] == 3 and origin.hits["files"] == 0
        # the same chain ending on the allowed host works
        assert fetch(fetcher, f"{second.url}/redirect?n=2&to={second.url}/echo")[0] == 200
    finally:
        second.stop()


def test_more_than_five_redirects_are_refused(origin):
    fetcher = SafeFetcher(AddressPolicy(allow_non_public=True))
    assert fetch(fetcher, f"{origin.url}/redirect?n=5&to=/files/a.txt") == (200, b"hello")
    with pytest.raises(FileUnavailable, match="too many redirects"):
        fetch(fetcher, f"{origin.url}/redirect?n=6&to=/files/a.txt")


def test_dns_rebinding_cannot_switch_the_address_after_the_check(origin):
    """The resolver answers a "public" address first (127.0.0.3, treated as public, where nothing
    listens) and the origin's loopback address afterwards: the connection must go to the
    address that was checked, never to the origin. No traffic leaves loopback."""
    answers = iter([["127.0.0.3"], ["127.0.0.1"], ["127.0.0.1"]])
    calls = []

    def rebinding(host, port):
        calls.append(host)
        return next(answers)

    fetcher = SafeFetcher(AddressPolicy(treat_as_public=frozenset({"127.0.0.3"})), connect_timeout=0.5,
                          resolver=rebinding)
    before = origin.hits["files"]
    with pytest.raises(FileUnavailable):
        fetch(fetcher, f"http://rebind.example.com:{origin.port}/files/a.txt")
    assert calls == ["rebind.example.com"]  # resolved once per hop
    assert origin.hits["files"] == before


def test_publisher_headers_are_not_sent_to_another_origin(origin):
    second = OriginServer("127.0.0.2")
    try:
        fetcher = SafeFetcher(AddressPolicy(allow_non_public=True))
        status, body = fetch(fetcher, f"{origin.url}/redirect?to={second.url}/echo",
                             headers={"X-Api-Key": "k1", "Authorization": "Bearer s"})
        import json
        received = json.loads(body)["headers"]
        assert status == 200 and "x-api-key" not in received and "authorization" not in received
        status, body = fetch(fetcher, f"{origin.url}/redirect?to=/echo", headers={"X-Api-Key": "k1"})
        assert json.loads(body)["headers"]["x-api-key"] == "k1"  # same origin keeps them
    finally:
        second.stop()


def test_non_http_schemes_and_credentials_are_refused():
    fetcher = SafeFetcher(AddressPolicy(allow_non_public=True))
    for url in ("file:///etc/passwd", "ftp://example.com/x", "gopher://x", "http://user:pw@127.0.0.1/"):
        with pytest.raises(FileUnavailable):
            fetch(fetcher, url)
