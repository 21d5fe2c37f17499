"""The Ocean Node dialect of compute (ocean.js 8), as pure views over the shared records.

One environment and one job record serve both client generations; this module only shapes
them the way Ocean Node does (`ocean-node.md` §3.5, §5): the flat environment listing with
resources, fees per chain, the free tier and queue figures; the `ComputeJob` object with node
status texts, its resources, payment and timestamps; and the results indexed as the node
indexes them (logs, then one `outputs.tar` of `/data/outputs`, then the publish log).
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any, Iterable

from provider.compute import status as st
from provider.compute.environments import Environment
from provider.compute.pricing import plain_number
from provider.compute.scheduling import in_use, is_free_job

NODE_DIALECT = "node"
OUTPUTS_ARCHIVE = "outputs.tar"


def is_node_job(job: Any) -> bool:
    return (job.spec or {}).get("dialect") == NODE_DIALECT


def environment_view(env: Environment, *, fee_tokens: dict[int, str], consumer_address: str,
                     live_jobs: Iterable[Any], now: float) -> dict[str, Any]:
    """One entry of the flat `computeEnvironments` array (§3.5)."""
    live = [job for job in live_jobs if job.environment == env.id]
    running = [job for job in live if job.status != st.QUEUED]
    queued = [job for job in live if job.status == st.QUEUED]
    used = in_use(live, env)
    used_free = in_use([job for job in live if is_free_job(job)], env)
    prices = [{"id": rid, "price": plain_number(price)} for rid, price in env.unit_prices.items()]
    view: dict[str, Any] = {
        "id": env.id,
        "description": env.description,
        "consumerAddress": consumer_address,
        "platform": {"architecture": "x86_64", "os": "linux"},
        "access": {"addresses": list(env.access), "accessLists": None},
        "fees": {str(chain_id): [{"feeToken": token, "prices": prices}] for chain_id, token in fee_tokens.items()},
        "storageExpiry": env.storage_expiry,
        "minJobDuration": env.min_job_duration,
        "maxJobDuration": env.max_job_duration,
        "maxJobs": env.max_jobs,
        "maxJobsPerConsumer": env.consumer_job_limit,
        "enableNetwork": env.allow_network,
        "resources": [{"id": r.id, "type": r.type or r.id, "total": plain_number(r.total), "max": plain_number(r.job_max),
                       "min": plain_number(r.min), "inUse": plain_number(used.get(r.id, Decimal(0))),
                       **({"constraints": [{"id": c.id, **({"min": plain_number(c.min)} if c.min is not None else {}),
                                            **({"max": plain_number(c.max)} if c.max is not None else {})}
                                           for c in r.constraints]} if r.constraints else {})}
                      for r in env.offered_resources],
        "runningJobs": sum(1 for job in running if not is_free_job(job)),
        "runningfreeJobs": sum(1 for job in running if is_free_job(job)),
        "queuedJobs": sum(1 for job in queued if not is_free_job(job)),
        "queuedFreeJobs": sum(1 for job in queued if is_free_job(job)),
        "queMaxWaitTime": _longest_wait(queued, now, free=False),
        "queMaxWaitTimeFree": _longest_wait(queued, now, free=True),
        "runMaxWaitTime": _longest_run(running, now, free=False),
        "runMaxWaitTimeFree": _longest_run(running, now, free=True),
        "priceMin": float(env.price_per_minute),
    }
    tier = env.free_tier
    if tier is not None:
        view["free"] = {
            "access": {"addresses": list(tier.access), "accessLists": None},
            "maxJobDuration": tier.max_job_duration,
            "minJobDuration": tier.min_job_duration,
            "maxJobs": tier.max_jobs,
            "resources": [{"id": r.id, "max": plain_number(r.job_max), "inUse": plain_number(used_free.get(r.id, Decimal(0)))}
                          for r in env.free_resources()],
            "allowImageBuild": False,
        }
    return view


def _longest_wait(queued: list[Any], now: float, *, free: bool) -> int:
    return int(max((now - job.date_created for job in queued if is_free_job(job) == free), default=0))


def _longest_run(running: list[Any], now: float, *, free: bool) -> int:
    """Seconds until the longest-running job of this kind must end (what a new one may wait)."""
    return int(max((job.max_duration - (now - (job.date_started or now)) for job in running
                    if is_free_job(job) == free), default=0))


def node_status(job: Any) -> int:
    """The code ocean.js sees: a finished job stays at 71 ("Job settling") until its payment
    and its outputs archive are done, so 70 means results and claim are both final."""
    if st.is_terminal(job.status) and not (job.spec or {}).get("settled"):
        return st.SETTLING
    return job.status


def node_results(job: Any) -> list[dict[str, Any]]:
    """Results as Ocean Node indexes them: configuration.log, algorithm.log, outputs.tar (a tar
    of /data/outputs, when the algorithm wrote anything), publish.log; indexes 0, 1, 2...
    Each entry keeps the `path` the provider serves it from."""
    if not (job.spec or {}).get("settled"):
        return []
    by_type: dict[str, dict] = {}
    for entry in job.results or []:
        by_type.setdefault(entry["type"], entry)
    sent = (job.spec.get("outputUpload") or {}).get("status") == "uploaded"  # delivered elsewhere
    ordered = [by_type.get("configurationLog"), by_type.get("algorithmLog"),
               None if sent else job.spec.get("archive"), by_type.get("publishLog"), by_type.get("receipt")]
    return [dict(entry, index=index) for index, entry in enumerate(e for e in ordered if e)]


def _seconds(value: float | None) -> str:
    return f"{value:.3f}" if value else "0"


def job_view(job: Any, *, full: bool) -> dict[str, Any]:
    """The `ComputeJob` of §5. Without `full` (an unsigned status request: anyone may name any
    address) only what says where the job is: no results, metadata, viewers or payment."""
    spec = job.spec or {}
    code = node_status(job)
    termination = job.termination or {}
    body: dict[str, Any] = {
        "owner": job.owner,
        "jobId": job.job_id,
        "dateCreated": _seconds(job.date_created),
        "dateFinished": _seconds(job.date_finished) if job.date_finished else None,
        "status": code,
        "statusText": st.NODE_TEXTS.get(code, st.TEXTS.get(code, "")),
        "environment": job.environment,
        "isFree": bool(spec.get("free")),
        "stopRequested": bool(job.stop_requested),
    }
    if not full:
        return body
    algo_start, algo_stop = termination.get("algoStart"), termination.get("algoStop")
    payment = spec.get("payment")
    body.update(
        jobIdHash=spec.get("jobIdHash"),
        agreementId=spec.get("agreementId"),
        results=[{k: r[k] for k in ("filename", "filesize", "type", "index")} for r in node_results(job)],
        maxJobDuration=job.max_duration,
        metadata=spec.get("metadata"),
        additionalViewers=spec.get("additionalViewers") or [],
        resources=[{"id": rid, "amount": amount, **({"price": spec.get("prices", {}).get(rid)}
                                                    if spec.get("prices", {}).get(rid) is not None else {})}
                   for rid, amount in (spec.get("resources") or {}).items()],
        algoStartTimestamp=_seconds(algo_start),
        algoStopTimestamp=_seconds(algo_stop),
        algoDuration=round(algo_stop - algo_start, 3) if algo_start and algo_stop else 0,
        queueMaxWaitTime=spec.get("queueMaxWaitTime") or 0,
        terminationDetails={"exitCode": termination.get("exitCode"), "OOMKilled": bool(termination.get("OOMKilled"))},
    )
    if payment:
        body["payment"] = {k: payment.get(k) for k in ("chainId", "token", "lockTx", "claimTx", "cancelTx", "cost")}
    if job.error:
        body["error"] = job.error
    return body
