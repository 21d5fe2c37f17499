"""Liveness and readiness checks (no Flask here): is this process able to serve requests?

Ready means: every configured chain answers, the state store answers a read, and the compute
engine can run jobs (bubblewrap present for the local engine; the API server answers for
the Kubernetes engine). Failures are named, never described with URLs or errors' texts.

The probe is public, so it must be cheap: the store is read, not written (a write would take
the database's write lock, shared with every nonce check, once per probe), and the answer is
kept for `CACHE_SECONDS`, so a flood of probes costs at most one round of checks per second.
"""
from __future__ import annotations

import threading
import time

from provider.services import ProviderServices

CACHE_SECONDS = 1.0
_cache: dict[int, tuple[float, dict[str, bool]]] = {}
_cache_lock = threading.Lock()


def cached_readiness(services: ProviderServices) -> dict[str, bool]:
    """`readiness`, answered from the last check when it is younger than CACHE_SECONDS."""
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(id(services))
        if hit is not None and now - hit[0] < CACHE_SECONDS:
            return dict(hit[1])
    checks = readiness(services)
    with _cache_lock:
        _cache[id(services)] = (now, checks)
    return dict(checks)


def unready_reasons(services: ProviderServices) -> dict[str, str]:
    """Why a check fails, where the reason says what to fix (and names nothing secret)."""
    reasons = {}
    if services.engine is not None and (reason := services.engine.why_not_runnable()):
        reasons["engine"] = reason
    return reasons


def readiness(services: ProviderServices) -> dict[str, bool]:
    checks: dict[str, bool] = {}
    for chain in services.chains:
        try:
            chain.w3.eth.block_number
            checks[f"chain:{chain.chain_id}"] = True
        except Exception:
            checks[f"chain:{chain.chain_id}"] = False
    try:
        services.db.read().execute("SELECT COUNT(*) FROM lease").fetchone()
        checks["store"] = True
    except Exception:
        checks["store"] = False
    if services.engine is not None:
        checks["engine"] = services.engine.ready()
    return checks


def chain_index_status(services: ProviderServices, indexer, head: int | None) -> dict:
    """How far one chain's index is behind `head` (None: the node did not answer), and what it holds."""
    last = indexer.last_indexed_block()
    chain_id = indexer.chain.chain_id
    return {"chainId": chain_id, "head": head, "startBlock": indexer.start_block, "lastIndexedBlock": last,
            "lagBlocks": max(0, head - last) if head is not None else None,
            "leaseHolder": indexer.leases.holder_of(indexer.lease_name), **services.assets.counts(chain_id)}


def chain_head(indexer) -> int | None:
    try:
        return indexer.chain.w3.eth.block_number
    except Exception:  # an unreachable node is what the caller reports, by chain id only
        return None


def index_status(services: ProviderServices) -> list[dict]:
    """Every chain's `chain_index_status` against its node's current head."""
    return [chain_index_status(services, indexer, chain_head(indexer)) for indexer in services.indexers]

