"""`ocean-provider`: the console entry point.

    ocean-provider run                      development stack (as `make run`)
    ocean-provider pod fetch|publish ...    entry points of the compute fetch and publish pods
"""
from __future__ import annotations

import argparse
import io
import os
import sys
from pathlib import Path

import requests


def pod_fetch(provider: str, job: str, data: Path, token: str) -> int:
    """Download the staged inputs bundle into the job volume and prepare the writable folders."""
    from provider.compute.bundles import BundleError, unpack

    response = requests.get(f"{provider}/api/internal/compute/{job}/inputs",
                            headers={"Authorization": f"Bearer {token}"}, stream=True, timeout=(10, 300))
    if response.status_code != 200:
        print(f"fetch refused: HTTP {response.status_code}", file=sys.stderr)
        return 1
    try:
        unpack(response.raw, data, {"inputs", "transformations", "ddos"}, max_bytes=1 << 40)
    except BundleError as exc:
        print(f"fetch failed: {exc}", file=sys.stderr)
        return 1
    for folder in ("outputs", "logs"):
        (data / folder).mkdir(parents=True, exist_ok=True)
    algorithm = data / "transformations" / "algorithm"
    if algorithm.exists():
        os.chmod(algorithm, 0o755)
    return 0


def pod_publish(provider: str, job: str, data: Path, token: str) -> int:
    """Upload outputs and logs from the job volume to the provider."""
    from provider.compute.bundles import pack

    buffer = io.BytesIO()
    pack(data, ["outputs", "logs"], buffer)
    response = requests.put(f"{provider}/api/internal/compute/{job}/outputs", data=buffer.getvalue(),
                            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/gzip"},
                            timeout=(10, 300))
    if response.status_code != 200:
        print(f"publish refused: HTTP {response.status_code}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ocean-provider")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="run the development stack (anvil, contracts, demo asset, provider)")
    pod = commands.add_parser("pod", help="entry points of the compute fetch and publish pods")
    pod.add_argument("phase", choices=["fetch", "publish"])
    pod.add_argument("--provider", required=True, help="the provider's internal URL")
    pod.add_argument("--job", required=True)
    pod.add_argument("--data", type=Path, default=Path("/data"))
    args = parser.parse_args(argv)
    if args.command == "run":
        from provider.devtools.run import main as run_main
        return run_main()
    token = os.environ.get("JOB_TOKEN", "")
    handler = pod_fetch if args.phase == "fetch" else pod_publish
    return handler(args.provider.rstrip("/"), args.job, args.data, token)


if __name__ == "__main__":
    sys.exit(main())
