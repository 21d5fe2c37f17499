"""Manual review of a job's outputs (the output gate's `review: manual`), by the publisher.

A held job (51) shows its owner where it is and nothing it made. The dataset's publisher (its
NFT owner, asked of the chain) lists the held jobs of its asset, reads any of their results
to decide, and releases (the job becomes 70 and its results readable) or rejects (63, with
the reason) it. Each request is signed by the publisher (or made with its auth token) and its
nonce consumed; each decision goes to the audit trail and into the job's receipt. The
operator decides the same way from the command line (`ocean-provider review`).
"""
from __future__ import annotations

import time
from typing import Any, Iterator

from provider.audit import publisher_of
from provider.auth.messages import signed_message
from provider.auth.signatures import same_address
from provider.compute import status as st
from provider.compute.jobs import Job
from provider.compute.service import ComputeService
from provider.errors import InvalidRequest, NotAuthorized, NotFound
from provider.validation import address_field, integer_field, require

DECISIONS = ("release", "reject")


class OutputReview:
    def __init__(self, compute: ComputeService):
        self.compute = compute

    def _publisher(self, params: dict[str, Any], action: str, auth_token: str | None, **fields) -> str:
        address = address_field(params, "address")
        self.compute.authenticator.authorize(
            signer=address, message=signed_message(action, address=address, **fields), nonce=params.get("nonce"),
            signature=params.get("signature"), auth_token=auth_token)
        return address

    def _held_job(self, job_id: Any, publisher: str) -> Job:
        job = self.compute.jobs.get(job_id) if isinstance(job_id, str) and job_id else None
        if job is None or job.status != st.RESULTS_HELD:
            raise NotFound("No job held for review with this id.")
        if not same_address(publisher_of(self.compute.access.asset(job.did)), publisher):
            raise NotAuthorized("Only the dataset's publisher reviews this job's outputs.")
        return job

    def held(self, params: dict[str, Any], auth_token: str | None) -> list[dict[str, Any]]:
        require(params, "address", "did")
        publisher = self._publisher(params, "heldResults", auth_token, did=params["did"])
        asset = self.compute.access.asset(params["did"])
        if not same_address(publisher_of(asset), publisher):
            raise NotAuthorized("Only the asset's publisher lists the jobs held on it.")
        return [held_view(job) for job in self.compute.jobs.with_status([st.RESULTS_HELD]) if job.did == asset.did]

    def preview(self, params: dict[str, Any], auth_token: str | None) -> tuple[Iterator[bytes], str, int]:
        require(params, "address", "jobId", "index")
        index = integer_field(params, "index", minimum=0)
        publisher = self._publisher(params, "heldResult", auth_token, jobId=params["jobId"], index=params["index"])
        job = self._held_job(params["jobId"], publisher)
        entry = self.compute.result_entry(job.results, index)
        chunks = self.compute.result_chunks(job, entry)
        self.compute.audit.record("review.preview", did=job.did, address=publisher, jobId=job.job_id,
                                  filename=entry["filename"])
        return chunks, entry["filename"], entry["filesize"]

    def decide(self, params: dict[str, Any], auth_token: str | None) -> dict[str, Any]:
        require(params, "address", "jobId", "decision")
        if params["decision"] not in DECISIONS:
            raise InvalidRequest("decision must be release or reject")
        publisher = self._publisher(params, "reviewResults", auth_token, jobId=params["jobId"],
                                    decision=params["decision"])
        job = self._held_job(params["jobId"], publisher)
        return self.apply(job, params["decision"], publisher, str(params.get("reason") or "")[:500])

    def apply(self, job: Job, decision: str, by: str, reason: str = "") -> dict[str, Any]:
        """Release or reject a held job (the publisher's request, or the operator's command)."""
        review = {"decision": decision, "by": by, "at": f"{time.time():.3f}", "reason": reason or None}
        changes: dict[str, Any] = {"spec": dict(job.spec, review=review)}
        if decision == "release":
            changes["status"] = st.FINISHED
        else:
            changes.update(status=st.OUTPUTS_WITHHELD,
                           error="results rejected at the publisher's review" + (f": {reason}" if reason else ""))
        settlement = getattr(self.compute.engine, "settlement", None)
        if settlement is not None:  # the receipt, naming the decision, comes with the final status
            status = changes.pop("status")
            changes = dict(settlement.with_receipt(job.job_id, status, changes), status=status)
        if not self.compute.jobs.update(job.job_id, expect_status=st.RESULTS_HELD, **changes):
            raise InvalidRequest("The job was decided on meanwhile.")
        self.compute.audit.record(f"review.{decision}", did=job.did, address=by, jobId=job.job_id, reason=reason or None)
        return held_view(self.compute.jobs.get(job.job_id))


def held_view(job: Job) -> dict[str, Any]:
    return {"jobId": job.job_id, "owner": job.owner, "did": job.did, "status": job.status,
            "statusText": st.text(job.status), "dateCreated": f"{job.date_created:.3f}",
            "results": [{k: r[k] for k in ("filename", "filesize", "type", "index")} for r in job.results or []],
            "review": (job.spec or {}).get("review"), "outputPolicy": (job.spec or {}).get("outputPolicy")}
