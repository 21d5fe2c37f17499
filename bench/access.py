"""Access benchmark.

1. Download throughput and time to first byte of a large file through the provider (gunicorn,
   2 workers) against Debian's nginx proxying the same origin (proxy_buffering off: the practical
   limit for a proxy here) and against the origin directly, same run, median of several rounds.
2. Peak RSS of the provider's worker processes while streaming 1 GiB (sampled from /proc).
3. initialize and download request rates on a warm order (small file), 4 client processes.

    .venv/bin/python bench/access.py [--size-mb 1024] [--rounds 3] [--seconds 5]
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.core import MNEMONIC, provider_env, start_gunicorn  # noqa: E402
from bench.procs import children, rss_kb  # noqa: E402
from bench.report import row  # noqa: E402
from bench.load import run_load  # noqa: E402
from provider.auth.signatures import sign_message  # noqa: E402
from provider.chain.client import make_web3  # noqa: E402
from provider.devtools.anvil import Anvil, free_port, port_open  # noqa: E402
from provider.devtools.consumer import mint, start_order  # noqa: E402
from provider.devtools.deploy import dev_accounts, ensure_deployed  # noqa: E402
from provider.devtools.publisher import Publisher  # noqa: E402

ORIGIN = """
import sys, time
sys.path.insert(0, {root!r})
from provider.devtools.origin import OriginServer
server = OriginServer()
server.add("small.csv", b"x,y\\n" * 256, "text/csv")
print(server.port, flush=True)
time.sleep(10**6)
"""


MIB = 1024 * 1024


def full_url(url: str, params=None) -> str:
    """The URL with its query, built before the clock starts (the provider's downloads carry a
    signed query, the origin's and nginx's none: encoding it is the client's time)."""
    return requests.Request("GET", url, params=params).prepare().url


def timed_stream(url: str, params=None) -> tuple[float, int, float, float]:
    """(seconds for the whole body, bytes, seconds to the first body byte, to the first MiB).

    The first byte is read on its own: a chunked read (iter_content) waits until its chunk is
    full, which times the first MiB instead (the figures quoted until 2026-12-03 were that)."""
    url = full_url(url, params)
    start = time.perf_counter()
    with requests.get(url, stream=True, timeout=60) as response:
        response.raise_for_status()
        size = len(response.raw.read(1))
        first = time.perf_counter() - start
        first_mib = None
        for chunk in response.iter_content(MIB):
            size += len(chunk)
            if first_mib is None and size >= MIB:
                first_mib = time.perf_counter() - start
    return time.perf_counter() - start, size, first, first_mib or 0.0


def first_byte_only(url: str, params=None) -> float:
    """Seconds to the first body byte; the rest is not read (the connection is closed)."""
    url = full_url(url, params)
    start = time.perf_counter()
    with requests.get(url, stream=True, timeout=60) as response:
        response.raise_for_status()
        response.raw.read(1)
        return time.perf_counter() - start


NGINX_CONF = """
daemon off;
worker_processes 2;
pid {folder}/nginx.pid;
error_log {folder}/nginx-error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass {origin};
            proxy_http_version 1.1;
            proxy_buffering off;
        }}
    }}
}}
"""


def start_nginx(folder: Path, origin_url: str) -> tuple[subprocess.Popen, str]:
    """Debian's nginx as a plain reverse proxy to the origin (make bench-tools installs it): the
    practical limit for any proxy streaming on this machine."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    conf = folder / "nginx.conf"
    conf.write_text(NGINX_CONF.format(folder=folder, port=port, origin=origin_url))
    proc = subprocess.Popen([binary, "-c", str(conf), "-p", str(folder)], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not port_open("127.0.0.1", port):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"nginx did not start: {(folder / 'nginx-error.log').read_text()[-500:]}")
        time.sleep(0.05)
    return proc, f"http://127.0.0.1:{port}"


def initialize_when_indexed(provider_url: str, did: str, consumer: str, deadline_s: float = 30) -> dict:
    """The provider fee of a fresh asset, asked again until the provider's indexer has seen the
    publish (it polls the chain every INDEXER_POLL_INTERVAL): the first ask may come before."""
    deadline = time.monotonic() + deadline_s
    while True:
        answer = requests.get(f"{provider_url}/api/services/initialize", params={
            "documentId": did, "serviceId": "0", "consumerAddress": consumer}, timeout=30)
        if answer.ok:
            return answer.json()["providerFee"]
        if time.monotonic() > deadline:
            raise SystemExit(f"initialize still refused after {deadline_s:.0f} s: {answer.status_code} {answer.text}")
        time.sleep(0.2)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=5)
    args = parser.parse_args()
    size = args.size_mb * 1024 * 1024

    tmp = Path(tempfile.mkdtemp(prefix="bench-access-"))
    origin = subprocess.Popen([sys.executable, "-c", ORIGIN.format(root=str(ROOT))], stdout=subprocess.PIPE, text=True)
    origin_url = f"http://127.0.0.1:{origin.stdout.readline().strip()}"
    with Anvil(free_port(), 8996, MNEMONIC) as anvil:
        w3 = make_web3(anvil.url)
        contracts = ensure_deployed(w3, MNEMONIC, tmp / "address.json")
        accounts = dev_accounts(MNEMONIC)
        env = provider_env(anvil.url, tmp, INDEXER_POLL_INTERVAL="0.5")
        provider, provider_url = start_gunicorn("provider.wsgi:app", env)
        nginx, nginx_url = start_nginx(tmp / "nginx", origin_url)
        try:
            publisher = Publisher(w3, contracts["ERC721Factory"], "0x" + bytes(accounts[8].key).hex(), provider_url)
            big = publisher.publish(accounts[1], [{"type": "url", "url": f"{origin_url}/big/{size}", "method": "GET"}])
            small = publisher.publish(accounts[1], [{"type": "url", "url": f"{origin_url}/files/small.csv", "method": "GET"}])
            consumers = accounts[2:6]
            orders = {}
            for asset in (big, small):
                for consumer in consumers:
                    mint(w3, accounts[1], asset.datatoken_address, consumer.address)
                    fee = initialize_when_indexed(provider_url, asset.did, consumer.address)
                    orders[(asset.did, consumer.address)] = start_order(w3, consumer, asset.datatoken_address, 0, fee)
            # one more order of the big file per round after the first four, so that every round's
            # download is of an order the provider has never read
            fresh = [orders[(big.did, c.address)] for c in consumers]
            for round_no in range(len(consumers), args.rounds):
                consumer = consumers[round_no % len(consumers)]
                fee = initialize_when_indexed(provider_url, big.did, consumer.address)
                fresh.append(start_order(w3, consumer, big.datatoken_address, 0, fee))
            nonces = {c.address: 0 for c in consumers}

            def download_params(asset, consumer, order=None):
                nonces[consumer.address] += 1
                n = nonces[consumer.address]
                return {"documentId": asset.did, "serviceId": "0", "consumerAddress": consumer.address,
                        "transferTxId": order or orders[(asset.did, consumer.address)], "fileIndex": 0, "nonce": n,
                        "signature": sign_message("0x" + bytes(consumer.key).hex(), f"{asset.did}{n}")}

            # 1 + 2: throughput and RSS
            workers = children(provider.pid)
            idle_rss = max(rss_kb(p) for p in workers)
            peak = {"kb": 0}
            stop = threading.Event()

            def sample():
                while not stop.is_set():
                    peak["kb"] = max(peak["kb"], max(rss_kb(p) for p in workers))
                    time.sleep(0.05)

            # Each worker's first request pays for its process's first use of everything (its
            # chain and origin connections, its caches): warm both on the small asset first, so
            # the rounds measure a download, not a worker's start. Each round downloads with a
            # fresh consumer's order, never read before: its first byte includes reading and
            # checking that order on the chain, as a consumer's first download does.
            for i in range(8):
                timed_stream(f"{provider_url}/api/services/download", download_params(small, consumers[i % len(consumers)]))
            direct, via_nginx, proxied = [], [], []
            first = {"direct": [], "nginx": [], "provider": []}
            first_mib = {"direct": [], "nginx": [], "provider": []}
            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            for round_no in range(args.rounds):
                consumer = consumers[round_no % len(consumers)]
                for name, into, url, params in (
                        ("direct", direct, f"{origin_url}/big/{size}", None),
                        ("nginx", via_nginx, f"{nginx_url}/big/{size}", None),
                        ("provider", proxied, f"{provider_url}/api/services/download",
                         download_params(big, consumer, fresh[round_no]))):
                    seconds, got, ttfb, ttfm = timed_stream(url, params)
                    assert got == size
                    into.append(size / seconds / 1e6)
                    first[name].append(ttfb * 1000)
                    first_mib[name].append(ttfm * 1000)
            stop.set()
            sampler.join()
            # the same orders again: what every later download of an order waits for
            again = [first_byte_only(f"{provider_url}/api/services/download",
                                     download_params(big, consumers[i % len(consumers)])) * 1000
                     for i in range(max(args.rounds, 3))]

            # 3: request rates on a warm order
            per_client_init = [[("GET", "/api/services/initialize?" + requests.compat.urlencode({
                "documentId": small.did, "serviceId": "0", "consumerAddress": c.address}))] * 100_000 for c in consumers]
            init = run_load(provider_url, per_client_init, args.seconds)
            per_client_download = [[("GET", "/api/services/download?" + requests.compat.urlencode(download_params(small, c)))
                                    for _ in range(int(args.seconds * 400))] for c in consumers]
            down = run_load(provider_url, per_client_download, args.seconds)
        finally:
            provider.terminate()
            provider.wait()
            nginx.terminate()
            nginx.wait()
            origin.terminate()

    d, n, p = statistics.median(direct), statistics.median(via_nginx), statistics.median(proxied)
    fb = {name: statistics.median(values) for name, values in first.items()}
    fm = {name: statistics.median(values) for name, values in first_mib.items()}
    print(f"download of {args.size_mb} MiB, median of {args.rounds} rounds (gunicorn --workers 2 warmed, loopback origin; "
          f"each round the first download of a fresh order)")
    print(f"  direct from origin          {d:8.0f} MB/s   first byte {fb['direct']:6.2f} ms   first MiB {fm['direct']:6.2f} ms")
    print(f"  through nginx (proxy)       {n:8.0f} MB/s   first byte {fb['nginx']:6.2f} ms   first MiB {fm['nginx']:6.2f} ms"
          "   (proxy_buffering off)")
    print(f"  through the provider        {p:8.0f} MB/s   first byte {fb['provider']:6.2f} ms   first MiB {fm['provider']:6.2f} ms"
          f"   ({p / n:.2f}x nginx, {p / d:.2f}x direct; first byte {fb['provider'] / fb['nginx']:.1f}x nginx's, "
          f"first MiB {fm['provider'] / fm['nginx']:.1f}x)")
    repeat = statistics.median(again)
    print(f"  through the provider, an order downloaded before: first byte {repeat:6.2f} ms   "
          f"({repeat / fb['nginx']:.1f}x nginx's)")
    print(f"  provider worker RSS: idle {idle_rss / 1024:.0f} MB, peak while streaming {peak['kb'] / 1024:.0f} MB")
    row(f"download {args.size_mb} MiB direct from origin", mb_s=round(d), p50_ms=round(fb["direct"], 1))
    row(f"download {args.size_mb} MiB through nginx (baseline)", mb_s=round(n), p50_ms=round(fb["nginx"], 1))
    row(f"download {args.size_mb} MiB through the provider", mb_s=round(p), ratio=round(p / n, 2),
        p50_ms=round(fb["provider"], 1), rss_mb=round(peak["kb"] / 1024),
        note=f"vs nginx; first byte (fresh order) {fb['provider'] / fb['nginx']:.1f}x nginx's (p50 ms column), "
             f"first MiB {fm['provider']:.1f} ms = {fm['provider'] / fm['nginx']:.1f}x nginx's")
    row("first byte, an order downloaded before", p50_ms=round(repeat, 1), ratio=round(repeat / fb["nginx"], 2),
        note="vs nginx's first byte")
    for name, result in (("initialize (warm)", init), ("download 1 KiB, warm order, signed", down)):
        row(name, rps=round(result["rps"]), p50_ms=round(result["p50_ms"], 1), p99_ms=round(result["p99_ms"], 1))
        bad = {k: v for k, v in result["statuses"].items() if k != 200}
        print(f"  {name:36s} {result['rps']:7.0f} req/s  p50 {result['p50_ms']:6.1f} ms  p99 {result['p99_ms']:6.1f} ms"
              + (f"  non-200: {bad}" if bad else ""))
    return 1 if any(set(r["statuses"]) - {200} for r in (init, down)) else 0


if __name__ == "__main__":
    sys.exit(main())
