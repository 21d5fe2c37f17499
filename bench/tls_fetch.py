"""HTTPS file servers: what one fetch costs the provider, with the verifying TLS context shared by
every connection (as the provider fetches) against a context built, and the CA bundle loaded,
for each connection (what urllib3 does when handed only a CA file, and what the provider did).

Each fetch opens its own connection either way: the provider pins every fetch to the address it
checked (no connection reuse across fetches), so this is the cost of every HTTPS download,
fileinfo and upload's first byte. The server is on loopback with a certificate from a CA of its
own (trustme), trusted through a bundle the size of certifi's plus that CA.

    .venv/bin/python bench/tls_fetch.py [--fetches 40]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import certifi

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.report import row  # noqa: E402
from provider.access import fetch as fetch_module  # noqa: E402
from provider.access.fetch import SafeFetcher, UpstreamRequest  # noqa: E402
from provider.access.netpolicy import AddressPolicy  # noqa: E402
from provider.devtools.tls_origin import BODY, TlsOrigin  # noqa: E402


def median_fetch_ms(fetcher: SafeFetcher, url: str, fetches: int) -> float:
    times = []
    for _ in range(fetches):
        started = time.perf_counter()
        response = fetcher.open(UpstreamRequest("GET", url))
        assert b"".join(response.iter_content()) == BODY
        response.close()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fetches", type=int, default=40)
    args = parser.parse_args()
    server = TlsOrigin(extra_cas=Path(certifi.where()).read_bytes())
    url = server.url()
    fetcher = SafeFetcher(AddressPolicy(allow_non_public=True), ca_bundle=server.ca_bundle)
    try:
        shared = median_fetch_ms(fetcher, url, args.fetches)
        kept = fetch_module.verifying_tls_context
        # the same context, built afresh for every connection (the cache taken away)
        fetch_module.verifying_tls_context = kept.__wrapped__
        try:
            per_connection = median_fetch_ms(fetcher, url, args.fetches)
        finally:
            fetch_module.verifying_tls_context = kept
    finally:
        server.stop()
    print(f"HTTPS fetch from a loopback file server, median of {args.fetches} (each on its own connection)")
    print(f"  context built per connection (baseline)   {per_connection:7.2f} ms")
    print(f"  shared verifying context (the provider)   {shared:7.2f} ms   ({per_connection / shared:.1f}x faster)")
    row("HTTPS fetch, context per connection (baseline)", p50_ms=round(per_connection, 2))
    row("HTTPS fetch, shared verifying context", p50_ms=round(shared, 2), ratio=round(shared / per_connection, 3),
        note="time vs the baseline's")
    return 0


if __name__ == "__main__":
    sys.exit(main())
