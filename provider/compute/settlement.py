"""Settling resource-priced and free jobs once they end (the engine process, lease holder only).

A job ocean.js 8 started is "settling" (node status 71) from the moment it ends until:
1. its outputs are archived as `outputs.tar` (what Ocean Node serves as the one output);
2. its escrow lock is claimed for the time the algorithm really ran, clamped to
   [minJobDuration, granted duration] (`pricing.claim_seconds`): the rest of the lock returns
   to the consumer's available funds at once. A job whose algorithm never ran (provisioning
   failed, stopped while queued, expired in the queue, the provider restarted under it) owes
   nothing: its lock is claimed for 0 where the contract allows that, else cancelled once it
   has expired. Time the provider was down is never billed: only the algorithm's own start and
   stop times count, and a run the provider cut short by restarting is not a run.
Then the job shows 70 (or its failure code) with `payment {lockTx, claimTx, cancelTx, cost}`.

Every transaction goes through the `TransactionOutbox` under a purpose named after the job, so
a restart between any two steps resumes the same transaction, never a second one.
"""
from __future__ import annotations

import json
import logging
import os
import tarfile
import time
from dataclasses import replace
from decimal import Decimal
from typing import Callable

from provider.chain.client import Chains
from provider.chain.escrow import Escrow, EscrowRefused
from provider.chain.outbox import TransactionOutbox
from provider.compute import status as st
from provider.compute.jobs import Job, JobStore
from provider.compute.node_view import OUTPUTS_ARCHIVE, is_node_job
from provider.compute.pipeline import PROVISIONED, JobPaths
from provider.compute.receipts import (
    RECEIPT_FILE, ReceiptStore, build_receipt, document_sha256, file_sha256, sign_receipt,
)
from provider.compute.pricing import Grant, Price, claim_seconds, cost
from provider.compute.remote_output import open_output_target, send_archive
from provider.config import ComputeSettings
from provider.errors import ProviderError

log = logging.getLogger(__name__)


def _receipt_payment(job: Job) -> dict:
    """How the job was paid, for its receipt: escrow (price, lock, claim) or datatoken orders."""
    spec = job.spec or {}
    payment = spec.get("payment")
    if payment:
        return {"model": "escrow", "token": payment.get("token"), "prices": spec.get("prices") or {},
                "locked": payment.get("amount"), "lockTx": payment.get("lockTx"), "claimTx": payment.get("claimTx"),
                "cancelTx": payment.get("cancelTx"), "cost": payment.get("cost")}
    return {"model": "free" if spec.get("free") else "order", "agreement": spec.get("agreementId") or job.agreement_id}


def unpaid(payment: dict | None) -> bool:
    """An escrow payment whose lock is neither claimed nor cancelled yet."""
    return bool(payment) and not (payment.get("claimTx") or payment.get("cancelTx"))


def billable_seconds(job: Job) -> float:
    """How long the algorithm ran, from its own start and stop (0 when it never ran, or the
    provider's restart ended it: then there is no stop time)."""
    termination = job.termination or {}
    start, stop = termination.get("algoStart"), termination.get("algoStop")
    if start is None or stop is None or stop < start:
        return 0.0
    return float(stop) - float(start)


def amount_due(job: Job, min_job_duration: int, decimals: int) -> int:
    """The claim in token base units (pure): zero when the algorithm never ran."""
    ran = billable_seconds(job)
    if ran <= 0:
        return 0
    spec = job.spec
    price = Price(spec["payment"]["token"], {rid: Decimal(str(p)) for rid, p in (spec.get("prices") or {}).items()})
    granted = Grant({rid: Decimal(str(a)) for rid, a in (spec.get("resources") or {}).items()})
    seconds = claim_seconds(ran, min_job_duration, job.max_duration)
    return min(cost(price, granted, seconds, 0, decimals), int(spec["payment"]["amount"]))


def archive_outputs(paths: JobPaths, results: list[dict]) -> dict | None:
    """One tar of the published output files (regular files only, as published), written where
    the algorithm cannot reach; None when there was no output."""
    outputs = [r for r in results if r.get("type") == "output"]
    if not outputs:
        return None
    target = paths.provider_logs / OUTPUTS_ARCHIVE
    partial = target.with_suffix(".partial")
    with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as tar:
        for entry in outputs:
            source = paths.root / entry["path"]
            fd = os.open(source, os.O_RDONLY | os.O_NOFOLLOW)
            with os.fdopen(fd, "rb") as handle:
                info = tarfile.TarInfo("outputs/" + entry["filename"])
                info.size = os.fstat(handle.fileno()).st_size
                info.mtime = int(time.time())
                info.mode = 0o644
                tar.addfile(info, handle)
    os.replace(partial, target)
    return {"filename": OUTPUTS_ARCHIVE, "filesize": target.stat().st_size, "type": "output",
            "path": str(target.relative_to(paths.root))}


class Settlement:
    def __init__(self, settings: ComputeSettings, store: JobStore, chains: Chains, outbox: TransactionOutbox,
                 paths_of: Callable[[str], JobPaths], interval: float = 1.0, fetcher=None,
                 upload_deadline: float = 300.0, receipts: ReceiptStore | None = None):
        self.receipts = receipts
        self.fetcher = fetcher              # SafeFetcher, for results pushed to the consumer's storage
        self.upload_deadline = upload_deadline
        self.settings = settings
        self.store = store
        self.chains = chains
        self.outbox = outbox
        self.paths_of = paths_of
        self.interval = interval
        self._last = 0.0

    def due(self) -> None:
        """A job just ended here: the next pass runs without waiting for the interval."""
        self._last = 0.0

    def settled(self, job: Job) -> bool:
        paid = not is_node_job(job) or bool(job.spec.get("settled"))
        return paid and (self.receipts is None or bool(job.spec.get("receipt")))

    def run(self, now: float) -> None:
        """Settle every ended node job that is not settled yet (at most every `interval`)."""
        if now - self._last < self.interval:
            return
        self._last = now
        self.outbox.recheck(self.chains, now - 60)  # what a crashed process left unconfirmed
        self.release_orphans(now)
        for job in self.store.with_status([st.RESULTS_HELD]):  # its run is paid for, whatever the review says
            if is_node_job(job) and unpaid((job.spec or {}).get("payment")):
                try:
                    spec = json.loads(json.dumps(job.spec))
                    if self._pay(job, spec, spec["payment"]):
                        self.store.update(job.job_id, spec=spec)
                except (ProviderError, OSError) as exc:
                    log.warning("job %s: claim deferred: %s", job.job_id, getattr(exc, "user_message", exc))
        for job in self.store.with_status(st.TERMINAL):
            if self.settled(job):
                continue
            try:
                if is_node_job(job):
                    self.settle(job, now)
                else:
                    self.issue_receipt(job, now)
            except (ProviderError, OSError) as exc:  # retried on the next pass
                log.warning("job %s: settlement deferred: %s", job.job_id, getattr(exc, "user_message", exc))

    def settle(self, job: Job, now: float) -> None:
        spec = json.loads(json.dumps(job.spec))
        if "archive" not in spec:
            paths = self.paths_of(job.job_id)
            spec["archive"] = archive_outputs(paths, job.results or []) if paths.root.exists() else None
            self.store.update(job.job_id, spec=spec)
        if spec.get("output") and "outputUpload" not in spec:
            spec["outputUpload"] = self._upload(job, spec)
            changes = {}
            if spec["outputUpload"]["status"] != "uploaded" and job.status == st.FINISHED:
                changes = {"status": st.PUBLISH_FAILED,
                           "error": f"results could not be sent to the remote storage: {spec['outputUpload']['reason']}"}
            self.store.update(job.job_id, spec=spec, **changes)
        payment = spec.get("payment")
        if unpaid(payment):
            if not self._pay(job, spec, payment):
                return
            self.store.update(job.job_id, spec=spec)
        # the receipt names the claim, and a client sees 70 only once the receipt is listed
        self.issue_receipt(self.store.get(job.job_id), now)
        spec = dict(self.store.get(job.job_id).spec, settled=True)
        self.store.update(job.job_id, spec=spec)
        log.info("job %s settled%s", job.job_id, f": claimed {payment.get('cost')}" if payment else "")

    def release_orphans(self, now: float, grace: float = 120.0) -> None:
        """Locks whose job was never recorded (the provider died between `createLock` and writing
        the job): released at once with a zero claim, so the consumer's funds do not wait for
        the lock to expire. `grace` leaves a start in progress alone."""
        for purpose, details in self.outbox.unanswered("lock", ("claim", "cancel"), now - grace):
            job_id = purpose.split(":", 1)[1]
            if self.store.get(job_id) is not None or not details:
                continue
            chain = self.chains.find(details["chainId"])
            if chain is None:
                continue
            try:
                Escrow(chain, self.outbox).claim(int(details["lockId"]), details["token"], details["payer"], 0,
                                                 json.dumps({"jobId": job_id, "never started": True}).encode(),
                                                 purpose=f"claim:{job_id}")
                log.warning("escrow lock of job %s released: the job was never recorded", job_id)
            except (ProviderError, OSError) as exc:
                log.warning("escrow lock of job %s not released yet: %s", job_id, getattr(exc, "user_message", exc))

    def with_receipt(self, job_id: str, status: int, changes: dict) -> dict:
        """The changes that end a classic job, with its receipt issued for the state they make
        (resource-priced jobs get theirs once settled: the receipt names the claim)."""
        job = self.store.get(job_id)
        if job is None or self.receipts is None or is_node_job(job) or job.spec.get("receipt"):
            return changes
        final = replace(job, status=status, **{k: v for k, v in changes.items() if hasattr(job, k)})
        if final.date_finished is None:
            final.date_finished = time.time()
        try:
            spec, results = self._receipt_for(final, time.time())
        except (ProviderError, OSError) as exc:  # the next settlement pass issues it
            log.warning("job %s: receipt deferred: %s", job_id, getattr(exc, "user_message", exc))
            return changes
        return {**changes, "spec": spec, "results": results, "date_finished": final.date_finished}

    def issue_receipt(self, job: Job, now: float) -> None:
        """Sign the job's receipt (chained to the provider's previous one), keep it, and list it
        in the job's results as `receipt.json`."""
        if self.receipts is None or job.spec.get("receipt"):
            return
        spec, results = self._receipt_for(job, now)
        self.store.update(job.job_id, spec=spec, results=results)

    def _receipt_for(self, job: Job, now: float) -> tuple[dict, list]:
        """(spec, results) of the job once its receipt is issued."""
        chain = self.chains.find(job.chain_id) or next(iter(self.chains))
        paths = self.paths_of(job.job_id)
        provisioned_file = paths.provider_logs / PROVISIONED
        provisioned = json.loads(provisioned_file.read_text()) if provisioned_file.exists() else {}
        results = [r for r in job.results or [] if r.get("type") != "receipt"]

        def hashed(entry: dict) -> dict:
            path = paths.root / entry["path"]
            return {"name": entry["filename"], "size": entry["filesize"],
                    "sha256": file_sha256(path) if path.is_file() else None}

        outputs = [hashed(r) for r in results if r["type"] == "output"]
        logs = [hashed(r) for r in results if r["type"] != "output"]
        payment = _receipt_payment(job)

        def build(previous: str) -> dict:
            receipt = build_receipt(job=job, provider=chain.provider_address, chain_id=chain.chain_id,
                                    provisioned=provisioned, outputs=outputs, logs=logs, payment=payment,
                                    previous=previous, issued_at=now)
            return sign_receipt(chain.settings.private_key, chain.provider_address, receipt)

        document = self.receipts.append(job.job_id, build)
        entry = None
        if paths.provider_logs.exists():
            target = paths.provider_logs / RECEIPT_FILE
            target.write_text(json.dumps(document, indent=2))
            entry = {"filename": RECEIPT_FILE, "filesize": target.stat().st_size, "type": "receipt",
                     "index": len(results), "path": str(target.relative_to(paths.root))}
        return dict(job.spec, receipt=document_sha256(document)), results + ([entry] if entry else [])

    def _upload(self, job: Job, spec: dict) -> dict:
        """Send outputs.tar where the consumer asked (the target decrypted only now)."""
        archive = spec.get("archive")
        if not archive:
            return {"status": "uploaded", "reason": "no output to send"}
        try:
            target = open_output_target(next(iter(self.chains)).settings.private_key, spec["output"])
            code = send_archive(self.fetcher, target, self.paths_of(job.job_id).root / archive["path"],
                                self.upload_deadline)
        except (ProviderError, OSError) as exc:
            return {"status": "failed", "reason": str(getattr(exc, "user_message", "")) or type(exc).__name__}
        if 200 <= code < 300:
            return {"status": "uploaded", "httpStatus": code}
        return {"status": "failed", "httpStatus": code, "reason": f"the storage answered HTTP {code}"}

    def _pay(self, job: Job, spec: dict, payment: dict) -> bool:
        """Claim what is due, 0 included (the contract then releases the whole lock at once); a
        lock that expired first is cancelled. False when it must be tried again later."""
        chain = self.chains.find(payment["chainId"])
        if chain is None:
            raise EscrowRefused(f"chain {payment['chainId']} is not configured any more")
        escrow = Escrow(chain, self.outbox)
        env = self.settings.environment(job.environment)
        token, lock_id, claim = payment["token"], int(payment["lockId"]), f"claim:{job.job_id}"
        due = amount_due(job, env.min_job_duration if env else 0, chain.token_decimals(token))
        if self.outbox.find(claim) is None and escrow.lock_of(lock_id, token, job.owner) is None:
            payment.update(claimTx="nolock", cancelTx="nolock", cost="0")  # released by someone else
            return True
        proof = json.dumps({"jobId": job.job_id, "status": job.status, "termination": job.termination,
                            "resources": spec.get("resources"), "cost": str(due)}, sort_keys=True).encode()
        try:
            payment["claimTx"] = escrow.claim(lock_id, token, job.owner, due, proof, purpose=claim)
            payment["cost"] = str(due)
            return True
        except EscrowRefused:
            lock = escrow.lock_of(lock_id, token, job.owner)
            if lock is not None and not escrow.expired(lock):
                raise
        try:
            payment["cancelTx"] = escrow.cancel_expired(lock_id, token, job.owner, purpose=f"cancel:{job.job_id}")
            payment["cost"] = "0"
            return True
        except EscrowRefused:
            return False
