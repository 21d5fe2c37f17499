"""Compute jobs: the `Job` record, the `JobStore` interface every store satisfies, and the
SQLite store (the local engine's; the Kubernetes engine keeps jobs in the cluster,
`provider.compute.k8s.jobstore`). One contract test runs against both.

A job record is written before anything runs and updated at each phase change, so a killed
provider finds every job on restart. The spec holds what the pipeline needs (DIDs, service
ids, userdata, algorithm reference) but never a file URL or header: those are decrypted again
from the DDO when the job is provisioned.
"""
from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Protocol, runtime_checkable

from provider.compute import status as st
from provider.errors import InvalidRequest
from provider.stores.sqlite import Database


@dataclass
class Job:
    job_id: str
    owner: str
    did: str
    algo_did: str
    agreement_id: str
    environment: str
    chain_id: int
    status: int
    date_created: float
    date_started: float | None
    date_finished: float | None
    phase_deadline: float | None
    max_duration: int
    stop_requested: int
    runner: str | None
    spec: dict[str, Any]
    results: list[dict[str, Any]] | None
    termination: dict[str, Any] | None
    error: str | None

    def public(self, *, full: bool = True) -> dict[str, Any]:
        """The status object in the reference shape (numbers of dates as strings)."""
        body: dict[str, Any] = {
            "agreementId": self.agreement_id,
            "jobId": self.job_id,
            "owner": self.owner,
            "status": self.status,
            "statusText": st.text(self.status),
            "dateCreated": f"{self.date_created:.3f}",
            "dateFinished": f"{self.date_finished:.3f}" if self.date_finished else None,
            "environment": self.environment,
        }
        if full:
            body.update(
                results=[{k: r[k] for k in ("filename", "filesize", "type", "index")} for r in self.results]
                if self.results else "",
                stopreq=self.stop_requested,
                removed=0,
                algoDID=self.algo_did,
                inputDID=[i["documentId"] for i in self.spec.get("inputs", [])],
                terminationDetails=self.termination or {},
            )
            if self.error:
                body["error"] = self.error
        return body


_COLUMNS = ("job_id owner did algo_did agreement_id environment chain_id status date_created date_started "
            "date_finished phase_deadline max_duration stop_requested runner spec results termination error").split()
_JSON = {"spec", "results", "termination"}


def _row_to_job(row) -> Job:
    values = {c: row[c] for c in _COLUMNS}
    for c in _JSON:
        values[c] = json.loads(values[c]) if values[c] else None
    return Job(**values)


class AgreementInUse(InvalidRequest):
    """An order (agreement) that already started a job."""


@runtime_checkable
class JobStore(Protocol):
    """Where jobs live. `update` with `expect_status` is a compare-and-set: it writes only if the
    job is still in that status, so two schedulers can never both move a job on."""

    def create(self, job: Job) -> None:
        """Store a new job; AgreementInUse when its agreement ever started one (even a job
        deleted since: the record of used agreements is permanent)."""

    def agreement_used(self, agreement_id: str) -> bool:
        """Has this agreement (order transaction) ever started a job?"""

    def get(self, job_id: str) -> Job | None: ...

    def of_owner(self, owner: str, did: str | None = None) -> list[Job]: ...

    def with_status(self, statuses: Iterable[int]) -> list[Job]: ...

    def newest(self, limit: int) -> list[Job]:
        """The `limit` most recently created jobs, newest first."""

    def count_active(self, environment: str) -> int: ...

    def update(self, job_id: str, *, expect_status: int | None = None, **changes) -> bool: ...

    def delete(self, job_id: str) -> None: ...

    def expired(self, now: float, expiry_of: Callable[[str], int]) -> list[Job]: ...


class SqliteJobStore:
    def __init__(self, db: Database):
        self._db = db

    def create(self, job: Job) -> None:
        values = [json.dumps(getattr(job, c)) if c in _JSON and getattr(job, c) is not None else getattr(job, c)
                  for c in _COLUMNS]
        try:
            with self._db.write() as conn:
                conn.execute("INSERT INTO used_agreement(agreement_id, job_id, used_at) VALUES (?, ?, ?)",
                             (job.agreement_id.lower(), job.job_id, time.time()))
                conn.execute(f"INSERT INTO compute_job({','.join(_COLUMNS)}) VALUES ({','.join('?' * len(_COLUMNS))})",
                             values)
        except sqlite3.IntegrityError:
            raise AgreementInUse(job.agreement_id) from None

    def agreement_used(self, agreement_id: str) -> bool:
        row = self._db.read().execute("SELECT 1 FROM used_agreement WHERE agreement_id = ?",
                                      (agreement_id.lower(),)).fetchone()
        return row is not None

    def get(self, job_id: str) -> Job | None:
        row = self._db.read().execute("SELECT * FROM compute_job WHERE job_id = ?", (job_id,)).fetchone()
        return _row_to_job(row) if row else None

    def of_owner(self, owner: str, did: str | None = None) -> list[Job]:
        query, args = "SELECT * FROM compute_job WHERE owner = ?", [owner]
        if did:
            query, args = query + " AND did = ?", args + [did]
        rows = self._db.read().execute(query + " ORDER BY date_created", args).fetchall()
        return [_row_to_job(r) for r in rows]

    def with_status(self, statuses) -> list[Job]:
        statuses = list(statuses)
        rows = self._db.read().execute(
            f"SELECT * FROM compute_job WHERE status IN ({','.join('?' * len(statuses))}) ORDER BY date_created",
            statuses).fetchall()
        return [_row_to_job(r) for r in rows]

    def newest(self, limit: int) -> list[Job]:
        rows = self._db.read().execute("SELECT * FROM compute_job ORDER BY date_created DESC LIMIT ?",
                                       (int(limit),)).fetchall()
        return [_row_to_job(r) for r in rows]

    def count_active(self, environment: str) -> int:
        live = [s for s in st.TEXTS if not st.is_terminal(s)]
        return self._db.read().execute(
            f"SELECT COUNT(*) FROM compute_job WHERE environment = ? AND status IN ({','.join('?' * len(live))})",
            [environment, *live]).fetchone()[0]

    def update(self, job_id: str, *, expect_status: int | None = None, **changes) -> bool:
        """Write changes; with `expect_status`, only if the job is still in that status."""
        changes = st.with_finish_time(changes, time.time())
        assignments = ", ".join(f"{k} = ?" for k in changes)
        values = [json.dumps(v) if k in _JSON and v is not None else v for k, v in changes.items()]
        query = f"UPDATE compute_job SET {assignments} WHERE job_id = ?"
        values.append(job_id)
        if expect_status is not None:
            query += " AND status = ?"
            values.append(expect_status)
        with self._db.write() as conn:
            return conn.execute(query, values).rowcount == 1

    def delete(self, job_id: str) -> None:
        with self._db.write() as conn:
            conn.execute("DELETE FROM compute_job WHERE job_id = ?", (job_id,))

    def expired(self, now: float, expiry_of) -> list[Job]:
        """Finished jobs whose results have outlived their environment's storage expiry."""
        rows = self._db.read().execute(
            "SELECT * FROM compute_job WHERE date_finished IS NOT NULL").fetchall()
        return [j for j in map(_row_to_job, rows) if j.date_finished + expiry_of(j.environment) < now]
