"""Liveness and readiness checks (no Flask here): is this process able to serve requests?

Ready means: every configured chain answers, the state store takes a write, and the compute
engine can run jobs (bubblewrap present for the local engine; the API server answers for
the Kubernetes engine). Failures are named, never described with URLs or errors' texts.
"""
from __future__ import annotations

import shutil

from provider.services import ProviderServices


def readiness(services: ProviderServices) -> dict[str, bool]:
    checks: dict[str, bool] = {}
    for chain in services.chains:
        try:
            chain.w3.eth.block_number
            checks[f"chain:{chain.chain_id}"] = True
        except Exception:
            checks[f"chain:{chain.chain_id}"] = False
    try:
        with services.db.write() as conn:
            conn.execute("SELECT 1")
        checks["store"] = True
    except Exception:
        checks["store"] = False
    if services.engine is not None:
        if services.settings.compute.engine == "kubernetes":
            try:
                services.engine.cluster.read_lease("ocean-provider-compute")
                checks["engine"] = True
            except Exception:
                checks["engine"] = False
        else:
            checks["engine"] = shutil.which("bwrap") is not None
    return checks
