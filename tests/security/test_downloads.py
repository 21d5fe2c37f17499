"""Item: downloads are byte-exact. A gzip origin declared 50 988 bytes and the client got 52 MB
(truncated); an origin that ignored Range answered the whole file to a ranged request."""
import hashlib

import pytest

from provider.devtools.origin import pattern_bytes
from tests.integration.test_access import Shop


@pytest.fixture
def shop(dev_chain, publisher, client):
    return Shop(dev_chain, publisher, client)


def bought(shop, dev_chain, url):
    asset = shop.publish([{"type": "url", "url": url, "method": "GET"}])
    return asset, shop.order(asset, dev_chain.consumer)


def test_an_encoded_body_passes_through_unchanged_with_its_headers(shop, dev_chain, hostile):
    asset, tx = bought(shop, dev_chain, f"{hostile.url}/gzip-bomb/50")
    response = shop.download(asset, dev_chain.consumer, tx)
    sent = hostile.bomb(50)
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert int(response.headers["Content-Length"]) == len(sent)
    assert response.data == sent  # byte for byte what the origin sent; the client decodes it


def test_fileinfo_decodes_with_bounded_memory_and_does_not_report_the_encoded_size(client, hostile):
    response = client.post("/api/services/fileinfo", json={
        "type": "url", "url": f"{hostile.url}/gzip-bomb/50", "method": "GET", "checksum": 1})
    info = response.get_json()[0]
    assert response.status_code == 200 and info["valid"] is True
    assert "checksum" not in info  # 50 MiB decoded is above MAX_CHECKSUM_LENGTH
    assert info["contentLength"] != str(len(hostile.bomb(50)))


def test_a_small_encoded_file_is_checksummed_on_its_decoded_bytes(client, hostile):
    response = client.post("/api/services/fileinfo", json={
        "type": "url", "url": f"{hostile.url}/gzip-bomb/1", "method": "GET", "checksum": 1})
    info = response.get_json()[0]
    assert info["checksum"] == hashlib.sha256(b"\0" * 1024 * 1024).hexdigest()
    assert info["contentLength"] == str(1024 * 1024)


SIZE = 1_000_000


@pytest.mark.parametrize("requested,start,end", [("bytes=1000-1999", 1000, 1999), ("bytes=999990-", 999990, SIZE - 1),
                                                 ("bytes=-10", SIZE - 10, SIZE - 1), ("bytes=5-5", 5, 5),
                                                 ("bytes=999000-2000000", 999000, SIZE - 1)])
def test_a_range_the_origin_ignores_is_served_by_the_provider(shop, dev_chain, hostile, requested, start, end):
    asset, tx = bought(shop, dev_chain, f"{hostile.url}/ignores-range/{SIZE}")
    response = shop.download(asset, dev_chain.consumer, tx, headers={"Range": requested})
    assert response.status_code == 206
    assert response.headers["Content-Range"] == f"bytes {start}-{end}/{SIZE}"
    assert int(response.headers["Content-Length"]) == end - start + 1
    assert response.data == pattern_bytes(start, end + 1)


def test_an_unsatisfiable_range_is_416_and_an_unusable_one_is_ignored(shop, dev_chain, hostile):
    asset, tx = bought(shop, dev_chain, f"{hostile.url}/ignores-range/{SIZE}")
    response = shop.download(asset, dev_chain.consumer, tx, headers={"Range": f"bytes={SIZE}-"})
    assert response.status_code == 416
    whole = shop.download(asset, dev_chain.consumer, tx, headers={"Range": "bytes=0-1,5-9"})
    assert whole.status_code == 200 and len(whole.data) == SIZE
