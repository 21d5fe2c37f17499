"""Resource-priced compute (Ocean Node's "C2D v2"), as pure rules: no I/O here.

An environment offers resources (cpu, ram GB, disk GB, optional gpu...) each with a total, a
per-job minimum and maximum, and prices per chain and fee token, per unit per minute. A job
asks for amounts; what it leaves out gets the minimum. It is refused when an amount is above
the maximum, above what is free now, or breaks a constraint (e.g. RAM per CPU). Its cost for a
duration is Σ price × amount × ceil(max(duration, minJobDuration) / 60), in the token's base
units; the escrow lock covers the granted duration plus the queue wait plus the claim window,
and the claim is the cost of the time the algorithm really ran, clamped to
[minJobDuration, granted duration].

Sources: the node spec (`ocean-node.md` §3.5, §3.6, §4); the Escrow contract shipped in
`ocean-contracts`.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from typing import Iterable

from provider.errors import InvalidRequest

ESCROW_CLAIM_TIMEOUT = 3600  # seconds after the job's end the provider keeps to claim


class ResourceRefused(InvalidRequest):
    """A request for resources this environment cannot grant (the text says which and why)."""


@dataclass(frozen=True)
class Constraint:
    """Per unit of the resource that carries it: e.g. on cpu, `ram` between min and max GB."""
    id: str
    min: Decimal | None = None
    max: Decimal | None = None


@dataclass(frozen=True)
class Resource:
    id: str
    total: Decimal
    min: Decimal = Decimal(0)
    max: Decimal | None = None          # None: the total
    type: str = ""
    constraints: tuple[Constraint, ...] = ()

    @property
    def job_max(self) -> Decimal:
        return self.total if self.max is None else min(self.max, self.total)


@dataclass(frozen=True)
class Price:
    fee_token: str
    prices: dict[str, Decimal]          # resource id -> price per unit per minute


@dataclass(frozen=True)
class Grant:
    amounts: dict[str, Decimal] = field(default_factory=dict)

    def as_list(self) -> list[dict]:
        return [{"id": rid, "amount": plain_number(amount)} for rid, amount in self.amounts.items()]


def plain_number(value: Decimal) -> int | float:
    """A Decimal as JSON shows it: an int when whole."""
    return int(value) if value == value.to_integral_value() else float(value)


def _amount(value) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ResourceRefused("resource amounts must be numbers")
    try:
        amount = Decimal(str(value))
    except ArithmeticError:
        raise ResourceRefused("resource amounts must be numbers") from None
    if not amount.is_finite() or amount < 0 or amount > 10 ** 12:
        raise ResourceRefused("resource amounts must be between 0 and 10^12")
    return amount


def grant(resources: Iterable[Resource], requested, in_use: dict[str, Decimal] | None = None) -> Grant:
    """What a job gets: each resource as asked (at least its minimum); ResourceRefused otherwise."""
    offered = {r.id: r for r in resources}
    in_use = in_use or {}
    asked: dict[str, Decimal] = {}
    for item in requested or []:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise ResourceRefused("each resource is {id, amount}")
        if item["id"] not in offered:
            raise ResourceRefused(f"No such resource {item['id'][:32]!r} in this environment")
        if item["id"] in asked:
            raise ResourceRefused(f"Resource {item['id']} is asked for twice")
        asked[item["id"]] = _amount(item.get("amount", 0))
    # Below the minimum (0 included) is raised to it, as Ocean Node does: ocean.js asks for
    # `disk: 0` and expects a job.
    amounts = {rid: max(asked.get(rid, resource.min), resource.min) for rid, resource in offered.items()}
    for rid, amount in amounts.items():
        resource = offered[rid]
        if amount > resource.job_max:
            raise ResourceRefused(f"Not enough {rid} resources: at most {plain_number(resource.job_max)} per job")
        if amount > resource.total - in_use.get(rid, Decimal(0)):
            raise ResourceRefused(f"Not enough {rid} resources free now: "
                                  f"{plain_number(resource.total - in_use.get(rid, Decimal(0)))} of "
                                  f"{plain_number(resource.total)}")
        for constraint in resource.constraints:
            other = amounts.get(constraint.id, Decimal(0))
            if constraint.min is not None and other < constraint.min * amount:
                raise ResourceRefused(f"{constraint.id} must be at least {plain_number(constraint.min)} per {rid}")
            if constraint.max is not None and other > constraint.max * amount:
                raise ResourceRefused(f"{constraint.id} must be at most {plain_number(constraint.max)} per {rid}")
    return Grant(amounts)


def billed_minutes(seconds: float, min_job_duration: int) -> int:
    """Whole minutes billed: the duration (at least the environment's minimum), rounded up."""
    return math.ceil(max(float(seconds), float(min_job_duration), 0.0) / 60)


def cost(price: Price, granted: Grant, seconds: float, min_job_duration: int, decimals: int) -> int:
    """The cost in token base units (Ocean Node: parseUnits(cost.toFixed(decimals)))."""
    per_minute = sum((price.prices.get(rid, Decimal(0)) * amount for rid, amount in granted.amounts.items()),
                     Decimal(0))
    total = per_minute * billed_minutes(seconds, min_job_duration)
    return int((total * (Decimal(10) ** decimals)).quantize(Decimal(1), rounding=ROUND_DOWN))


def claim_seconds(ran_seconds: float, min_job_duration: int, granted_seconds: int) -> float:
    """The time billed at the end: what the algorithm ran, never below the environment's
    minimum and never above what was granted (and locked)."""
    return min(max(float(ran_seconds), float(min_job_duration)), float(granted_seconds))


def min_lock_seconds(max_job_duration: int, queue_max_wait: int, claim_timeout: int = ESCROW_CLAIM_TIMEOUT) -> int:
    """How long the escrow lock must last (relative seconds, as `createLock` takes them)."""
    return int(max_job_duration) + int(queue_max_wait) + int(claim_timeout)


def lock_id(job_id: str) -> int:
    """The escrow lock id of a job: uint256 of sha256(job id) (Ocean Node's `jobIdHash`)."""
    return int.from_bytes(hashlib.sha256(job_id.encode()).digest(), "big")


@dataclass(frozen=True)
class Authorization:
    payee: str
    max_locked_amount: int
    current_locked_amount: int
    max_lock_seconds: int
    max_lock_counts: int
    current_locks: int


def lock_refusal(authorizations: list[Authorization], available: int, amount: int, expiry: int) -> str | None:
    """Why a lock of `amount` for `expiry` seconds cannot be made (Ocean Node's pre-checks, each
    a clear 400 before any transaction), or None. The contract checks the same again."""
    if amount <= 0:
        return "The job costs nothing: no escrow lock is needed"
    if len(authorizations) != 1:
        return ("No escrow auths found for this provider: authorize it on the Escrow contract first"
                if not authorizations else "More than one escrow authorization found for this provider")
    auth = authorizations[0]
    if auth.current_locked_amount + amount > auth.max_locked_amount:
        return (f"Escrow authorization too small: {auth.current_locked_amount} locked + {amount} exceeds "
                f"maxLockedAmount {auth.max_locked_amount}")
    if expiry > auth.max_lock_seconds:
        return f"Escrow authorization too short: the lock needs {expiry} s, maxLockSeconds is {auth.max_lock_seconds}"
    if auth.current_locks + 1 > auth.max_lock_counts:
        return f"Escrow authorization allows {auth.max_lock_counts} concurrent locks, all in use"
    if available < amount:
        return f"User does not have enough funds in escrow: {available} available, {amount} needed"
    return None
