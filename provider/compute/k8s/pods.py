"""The compute pods' side of the internal endpoints (`provider.routes.internal` is the server):
`ocean-provider pod fetch` pulls the staged inputs bundle into the job volume, `pod publish`
uploads outputs and logs. Each call carries the phase's one-time token; nothing else of the
provider (no key, no dataset URL) is in the pod.
"""
from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import requests

from provider.compute import contract
from provider.compute.bundles import BundleError, pack, unpack


def pod_fetch(provider: str, job: str, data: Path, token: str) -> int:
    """Download the staged inputs bundle into the job volume and prepare the writable folders."""
    response = requests.get(f"{provider}/api/internal/compute/{job}/inputs",
                            headers={"Authorization": f"Bearer {token}"}, stream=True, timeout=(10, 300))
    if response.status_code != 200:
        print(f"fetch refused: HTTP {response.status_code}", file=sys.stderr)
        return 1
    try:
        unpack(response.raw, data, set(contract.READ_ONLY), max_bytes=1 << 40)
    except BundleError as exc:
        print(f"fetch failed: {exc}", file=sys.stderr)
        return 1
    for folder in contract.WRITABLE:
        (data / folder).mkdir(parents=True, exist_ok=True)
    algorithm = data / contract.ALGORITHM_PATH.removeprefix(contract.VOLUME + "/")
    if algorithm.exists():
        os.chmod(algorithm, 0o755)
    return 0


def pod_publish(provider: str, job: str, data: Path, token: str) -> int:
    """Upload outputs and logs from the job volume to the provider."""
    buffer = io.BytesIO()
    pack(data, list(contract.WRITABLE), buffer)
    response = requests.put(f"{provider}/api/internal/compute/{job}/outputs", data=buffer.getvalue(),
                            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/gzip"},
                            timeout=(10, 300))
    if response.status_code != 200:
        print(f"publish refused: HTTP {response.status_code}", file=sys.stderr)
        return 1
    return 0
