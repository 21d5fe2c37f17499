"""The operator console: what the page shows (`console_view`) and who may see it (`ConsoleAccess`).

The view is read from the same services the API uses: the environments with what their jobs
hold, the queue, recent jobs, each chain's index lag, the engine's and the store's health, and
recent refusals and failures from the audit trail and the job store. Nothing here knows Flask.

Access: the operator token from the configuration, or a signature of an admin address over
`console` + address + nonce (nonce consumed, as every signed request). Either opens a session:
a cookie holding its expiry and an HMAC of it under the provider's key, so the token never
stays in the address bar or in a log, and a restart does not need a server-side session table.
"""
from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

from provider.compute import status as st
from provider.config import ConsoleSettings
from provider.errors import InvalidSignature, NotAuthorized

SESSION_SECONDS = 8 * 3600
RECENT_JOBS = 25
RECENT_ERRORS = 15


class ConsoleAccess:
    def __init__(self, settings: ConsoleSettings, secret: str, development: bool, authenticator):
        self.settings = settings
        self._key = hashlib.sha256(b"console-session|" + secret.encode()).digest()
        self.development = development
        self.authenticator = authenticator

    @property
    def open_without_credentials(self) -> bool:
        """A development stack with nothing configured: the console is the developer's own."""
        return self.development and not self.settings.token and not self.settings.admin_addresses

    def token_matches(self, token: str | None) -> bool:
        expected = self.settings.token
        return bool(expected and isinstance(token, str)
                    and hmac.compare_digest(token.encode(), expected.encode()))

    def admin_signed(self, address: str, nonce: Any, signature: str) -> None:
        """Raises NotAuthorized unless `address` is an admin and signed `console` + address + nonce."""
        if not isinstance(address, str) or address.lower() not in self.settings.admin_addresses:
            raise NotAuthorized("This address may not open the console.")
        try:
            self.authenticator.authorize(signer=address, message=f"console{address}", nonce=nonce,
                                         signature=signature, allow_token=False)
        except InvalidSignature:
            raise NotAuthorized("The console signature does not check out.") from None

    def new_session(self, now: float | None = None) -> str:
        expires = int((now or time.time()) + SESSION_SECONDS)
        return f"{expires}.{self._mac(expires)}"

    def session_valid(self, cookie: str | None, now: float | None = None) -> bool:
        if not isinstance(cookie, str) or "." not in cookie or len(cookie) > 200:
            return False
        expires, _, mac = cookie.partition(".")
        if not expires.isdigit() or int(expires) < (now or time.time()):
            return False
        return hmac.compare_digest(mac, self._mac(int(expires)))

    def _mac(self, expires: int) -> str:
        return hmac.new(self._key, str(expires).encode(), hashlib.sha256).hexdigest()


def console_view(services, now: float | None = None) -> dict[str, Any]:
    """Everything the page shows, as plain data (the template only lays it out)."""
    now = now or time.time()
    from provider.health import index_status, readiness, unready_reasons

    checks, reasons = readiness(services), unready_reasons(services)
    view: dict[str, Any] = {
        "generated": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(now)),
        "mode": services.settings.mode,
        "providers": [{"chainId": c.chain_id, "address": c.provider_address} for c in services.chains],
        "health": [{"name": name, "ok": ok, "reason": reasons.get(name, "")}
                   for name, ok in sorted(checks.items())],
        "chains": index_status(services),
        "environments": [], "queue": [], "jobs": [], "errors": _recent_errors(services),
        "compute": services.compute is not None,
    }
    if services.compute is None:
        return view
    if services.priced is not None:
        for env in services.priced.environments():
            view["environments"].append({
                "id": env["id"], "description": env.get("description") or "",
                "running": env["runningJobs"] + env["runningfreeJobs"],
                "queued": env["queuedJobs"] + env["queuedFreeJobs"], "maxJobs": env["maxJobs"],
                "resources": [{"id": r["id"], "inUse": r["inUse"], "total": r["total"],
                               "percent": _percent(r["inUse"], r["total"])} for r in env["resources"]],
                "price": env.get("priceMin"), "free": bool(env.get("free"))})
    jobs = services.compute.jobs
    view["queue"] = [_job_row(job, now) for job in jobs.with_status([st.QUEUED])]  # oldest first
    view["jobs"] = [_job_row(job, now) for job in jobs.newest(RECENT_JOBS)]
    return view


def _job_row(job, now: float) -> dict[str, Any]:
    end = job.date_finished or (now if job.date_started else None)
    termination = job.termination or {}
    return {"id": job.job_id, "status": job.status, "statusText": st.text(job.status),
            "environment": job.environment, "owner": job.owner,
            "created": time.strftime("%H:%M:%S", time.gmtime(job.date_created)),
            "duration": f"{end - job.date_started:.1f} s" if end and job.date_started else "-",
            "exitCode": termination.get("exitCode", "-") if termination else "-",
            "failed": st.is_terminal(job.status) and job.status != st.FINISHED, "error": job.error or ""}


def _recent_errors(services) -> list[dict[str, Any]]:
    """The newest refused actions from the audit trail (which stores no signature). A failed
    job's reason is in its row of the recent-jobs table."""
    try:
        entries = services.audit.newest_not_ok(RECENT_ERRORS)
    except Exception:  # a broken store is shown by the health row, not by a 500 here
        entries = []
    return [{"at": time.strftime("%H:%M:%S", time.gmtime(entry["at"])), "what": entry["action"],
             "outcome": entry["outcome"], "reason": (entry.get("reason") or "")[:200], "did": entry.get("did") or ""}
            for entry in entries]


def _percent(used, total) -> int:
    try:
        return int(round(100 * float(used) / float(total))) if float(total) else 0
    except (TypeError, ValueError):
        return 0
