"""Compute environments (pure): what a publisher offers, how it is priced, what it can run.

Environments are `[compute.env.<id>]` sections of config.ini. Each one states its resources
(cpu, ram GB, disk GB), limits (max job duration, concurrent jobs), price per minute and fee
token per chain, whether network access may be granted, and the runtimes it serves: algorithm
container images matched by pattern (`python:3*`) to a host runtime (`/usr/bin/python3`). An
image no runtime serves is refused at initializeCompute, before anyone pays.

Two pricing models share one environment and one pool of resources:
- classic (ocean.py, ocean.js 3.3): a job gets `cpu`, `ram_gb`, `disk_gb` and pays
  `price_per_minute` through the provider fee of its order;
- resource-priced (ocean.js 8, Ocean Node's C2D v2): the env offers `resources` (total, per-job
  min and max, constraints), each priced per unit per minute (`prices`), paid through the
  Escrow contract; an optional free tier (`free_*` keys) with its own limits and access list.
Without `resources`, they follow from the classic keys (totals = per job × max_jobs); without
`prices`, cpu carries `price_per_minute / cpu`, so one classic-sized job costs the same either way.
"""
from __future__ import annotations

import configparser
import fnmatch
import json
import math
import os
import re
import shutil
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from provider.compute.pricing import Constraint, Grant, Price, Resource
from provider.errors import ConfigurationError

SECTION_PREFIX = "compute.env."
SANDBOX_PATH = "/usr/local/bin:/usr/bin:/bin"


@dataclass(frozen=True)
class Runtime:
    image_pattern: str           # fnmatch pattern over "image:tag"
    commands: dict[str, str]     # command names inside the sandbox -> host executable


@dataclass(frozen=True)
class FreeTier:
    """Free jobs (Ocean Node's `free` block): no order, no escrow, smaller limits."""
    max_job_duration: int
    min_job_duration: int = 0
    max_jobs: int = 1
    resources: dict[str, Decimal] = field(default_factory=dict)   # resource id -> max per free job
    access: tuple[str, ...] = ()        # addresses allowed (lower case); empty: anyone
    jobs_per_hour: int = 10             # per consumer


@dataclass(frozen=True)
class Environment:
    id: str
    description: str
    cpu: int
    ram_gb: float
    disk_gb: float
    max_job_duration: int        # seconds
    max_jobs: int
    price_per_minute: Decimal    # in fee-token units (not wei)
    fee_tokens: dict[int, str] = field(default_factory=dict)  # chain id -> token; missing = provider default
    allow_network: bool = False
    storage_expiry: int = 86400  # seconds results are kept after the job finished
    max_pids: int = 128
    runtimes: tuple[Runtime, ...] = ()
    resources: tuple[Resource, ...] = ()      # empty: derived from cpu, ram_gb, disk_gb, max_jobs
    prices: dict[str, Decimal] = field(default_factory=dict)  # per unit per minute; empty: derived
    min_job_duration: int = 60
    max_jobs_per_consumer: int = 0            # 0: max_jobs - 1 (at least 1): no consumer takes every slot
    access: tuple[str, ...] = ()              # addresses allowed to run paid jobs (lower case); empty: anyone
    free_tier: FreeTier | None = None
    max_queue_wait: int = 3600                # longest queueMaxWaitTime a job may ask for (seconds)
    gpu_devices: tuple[str, ...] = ()         # one device file per unit of `gpu` (local engine)
    gpu_shared_devices: tuple[str, ...] = ("/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools")

    @property
    def free(self) -> bool:
        """Classic: the price is zero (no provider fee is needed)."""
        return self.price_per_minute == 0

    @property
    def offered_resources(self) -> tuple[Resource, ...]:
        if self.resources:
            return self.resources
        slots = Decimal(max(self.max_jobs, 1))
        return (Resource("cpu", Decimal(self.cpu) * slots, Decimal(1), Decimal(self.cpu), type="cpu"),
                Resource("ram", Decimal(str(self.ram_gb)) * slots, Decimal(1).min(Decimal(str(self.ram_gb))),
                         Decimal(str(self.ram_gb)), type="ram"),
                Resource("disk", Decimal(str(self.disk_gb)) * slots, Decimal(1).min(Decimal(str(self.disk_gb))),
                         Decimal(str(self.disk_gb)), type="disk"))

    @property
    def unit_prices(self) -> dict[str, Decimal]:
        if self.prices:
            return self.prices
        return {"cpu": self.price_per_minute / Decimal(max(self.cpu, 1))} if self.price_per_minute else {}

    def price_on(self, fee_token: str) -> Price:
        return Price(fee_token, self.unit_prices)

    @property
    def classic_grant(self) -> Grant:
        """What a classic job holds: the environment's per-job cpu, ram and disk."""
        return Grant({"cpu": Decimal(self.cpu), "ram": Decimal(str(self.ram_gb)), "disk": Decimal(str(self.disk_gb))})

    @property
    def consumer_job_limit(self) -> int:
        return self.max_jobs_per_consumer or max(1, self.max_jobs - 1)

    def admits(self, address: str, *, free: bool) -> bool:
        allowed = (self.free_tier.access if free and self.free_tier else self.access)
        return not allowed or address.lower() in allowed

    def free_resources(self) -> tuple[Resource, ...]:
        """The resources a free job may take: the env's, capped by the free tier's maxima."""
        tier = self.free_tier
        if tier is None:
            return ()
        capped = []
        for resource in self.offered_resources:
            limit = tier.resources.get(resource.id, resource.min)
            capped.append(Resource(resource.id, resource.total, min(resource.min, limit), min(limit, resource.job_max),
                                   resource.type, resource.constraints))
        return tuple(capped)

    def runtime_for(self, image: str, tag: str | None) -> Runtime | None:
        reference = f"{image}:{tag}" if tag else image
        for runtime in self.runtimes:
            if fnmatch.fnmatchcase(reference, runtime.image_pattern) or fnmatch.fnmatchcase(image, runtime.image_pattern):
                return runtime
        return None

    def as_json(self, *, consumer_address: str, fee_token: str, current_jobs: int, last_seen: float) -> dict[str, Any]:
        """The reference (operator-service) shape, plus the newer nodes' `resources` list."""
        return {
            "id": self.id,
            "cpuNumber": self.cpu,
            "cpuType": "",
            "gpuNumber": 0,
            "gpuType": "",
            "ramGB": self.ram_gb,
            "diskGB": self.disk_gb,
            "priceMin": float(self.price_per_minute),
            "desc": self.description,
            "currentJobs": current_jobs,
            "maxJobs": self.max_jobs,
            "consumerAddress": consumer_address,
            "storageExpiry": self.storage_expiry,
            "maxJobDuration": self.max_job_duration,
            "lastSeen": last_seen,
            "feeToken": fee_token,
            "free": self.free,
            "allowNetwork": self.allow_network,
            "resources": [
                {"id": "cpu", "total": self.cpu, "inUse": min(current_jobs, self.max_jobs) * self.cpu // max(self.max_jobs, 1)},
                {"id": "ram", "total": self.ram_gb, "inUse": 0},
                {"id": "disk", "total": self.disk_gb, "inUse": 0},
            ],
            "runtimes": [r.image_pattern for r in self.runtimes],
        }


def compute_fee(price_per_minute: Decimal, seconds: int, decimals: int) -> int:
    """Fee in token base units for `seconds` of compute: price × minutes, minutes rounded up.

    The reference used `timedelta.seconds`, which wraps at a day; here the whole duration counts.
    """
    if seconds <= 0 or price_per_minute <= 0:
        return 0
    minutes = math.ceil(seconds / 60)
    return int(price_per_minute * minutes * (Decimal(10) ** decimals))


def _runtime_specs(value: str) -> tuple[Runtime, ...]:
    """`pattern=command:/host/path,command:/host/path; pattern=...`"""
    runtimes = []
    for spec in filter(None, (part.strip() for part in value.split(";"))):
        pattern, _, commands_text = spec.partition("=")
        commands = {}
        for item in filter(None, (c.strip() for c in commands_text.split(","))):
            name, _, path = item.partition(":")
            resolved = path if path.startswith("/") else shutil.which(path or name, path=SANDBOX_PATH)
            # Only /usr is visible inside the sandbox: a runtime elsewhere cannot be offered.
            if resolved and os.path.realpath(resolved).startswith("/usr/") and os.access(resolved, os.X_OK):
                commands[name.strip()] = resolved
        if commands:  # a runtime whose executables the host lacks is not offered
            runtimes.append(Runtime(pattern.strip(), commands))
    return tuple(runtimes)


def _amounts(value: str) -> dict[str, Decimal]:
    """`cpu=1, ram=0.5` -> {"cpu": 1, "ram": 0.5}."""
    amounts = {}
    for item in filter(None, (part.strip() for part in value.split(","))):
        name, _, number = item.partition("=")
        amount = Decimal(number.strip())
        if not amount.is_finite() or amount < 0:
            raise ValueError(f"{name.strip()} must be a number >= 0")
        amounts[name.strip()] = amount
    return amounts


def _resources(value: str) -> tuple[Resource, ...]:
    """`cpu:total=4,min=1,max=2,ram.min=1,ram.max=4; ram:total=8,min=1,max=4; gpu:total=1,type=gpu`

    `<other>.min` / `<other>.max` on a resource are constraints per unit of it (GB of ram per cpu)."""
    resources = []
    for spec in filter(None, (part.strip() for part in value.split(";"))):
        rid, _, fields = spec.partition(":")
        values: dict[str, str] = {}
        for item in filter(None, (f.strip() for f in fields.split(","))):
            key, _, text = item.partition("=")
            values[key.strip()] = text.strip()
        constraints: dict[str, dict[str, Decimal]] = {}
        for key in [k for k in values if "." in k]:
            other, _, bound = key.partition(".")
            if bound not in ("min", "max"):
                raise ValueError(f"unknown constraint {key}")
            constraints.setdefault(other, {})[bound] = Decimal(values.pop(key))
        unknown = set(values) - {"total", "min", "max", "type"}
        if unknown or "total" not in values:
            raise ValueError(f"resource {rid.strip()}: needs total=, knows min= max= type= <other>.min= <other>.max=")
        total = Decimal(values["total"])
        resources.append(Resource(
            rid.strip(), total, Decimal(values.get("min", "0")), Decimal(values["max"]) if "max" in values else None,
            values.get("type", rid.strip()),
            tuple(Constraint(other, b.get("min"), b.get("max")) for other, b in constraints.items())))
    return tuple(resources)


def _devices(value: str) -> tuple[str, ...]:
    devices = tuple(d.strip() for d in value.split(",") if d.strip())
    if not all(re.fullmatch(r"/dev/[A-Za-z0-9_./-]+", d) and ".." not in d for d in devices):
        raise ValueError("gpu devices are /dev paths")
    return devices


def _addresses(value: str) -> tuple[str, ...]:
    listed = json.loads(value or "[]")
    if not isinstance(listed, list) or not all(isinstance(a, str) and len(a) == 42 for a in listed):
        raise ValueError("access lists are JSON arrays of addresses")
    return tuple(a.lower() for a in listed)


def _free_tier(get, price_per_minute: Decimal, max_job_duration: int, max_jobs: int) -> FreeTier | None:
    """The `free_*` keys; an environment whose classic price is zero offers a free tier by default."""
    default_duration = max_job_duration if price_per_minute == 0 else 0
    duration = get.getint("free_max_job_duration", default_duration)
    if duration <= 0:
        return None
    return FreeTier(max_job_duration=duration, min_job_duration=get.getint("free_min_job_duration", 0),
                    max_jobs=get.getint("free_max_jobs", max_jobs),
                    resources=_amounts(get.get("free_resources", "cpu=1, ram=1, disk=1")),
                    access=_addresses(get.get("free_access", "")),
                    jobs_per_hour=get.getint("free_jobs_per_hour", 10))


def load_environments(parser: configparser.ConfigParser) -> tuple[Environment, ...]:
    environments = []
    for section in parser.sections():
        if not section.startswith(SECTION_PREFIX):
            continue
        env_id = section[len(SECTION_PREFIX):]
        get = parser[section]
        try:
            tokens = json.loads(get.get("fee_token", "") or "{}")
            if isinstance(tokens, str):
                raise ValueError
            price_per_minute = Decimal(get.get("price_per_minute", "0"))
            max_job_duration = get.getint("max_job_duration", 3600)
            max_jobs = get.getint("max_jobs", 2)
            environments.append(Environment(
                id=env_id,
                description=get.get("description", ""),
                cpu=get.getint("cpu", 1),
                ram_gb=get.getfloat("ram_gb", 1),
                disk_gb=get.getfloat("disk_gb", 1),
                max_job_duration=max_job_duration,
                max_jobs=max_jobs,
                price_per_minute=price_per_minute,
                fee_tokens={int(k): v for k, v in tokens.items()},
                allow_network=get.getboolean("allow_network", False),
                storage_expiry=get.getint("storage_expiry", 86400),
                max_pids=get.getint("max_pids", 128),
                runtimes=_runtime_specs(get.get("runtimes", "")),
                resources=_resources(get.get("resources", "")),
                prices=_amounts(get.get("prices", "")),
                min_job_duration=get.getint("min_job_duration", 60),
                max_jobs_per_consumer=get.getint("max_jobs_per_consumer", 0),
                access=_addresses(get.get("access", "")),
                free_tier=_free_tier(get, price_per_minute, max_job_duration, max_jobs),
                max_queue_wait=get.getint("max_queue_wait", 3600),
                gpu_devices=_devices(get.get("gpu_devices", "")),
                **({"gpu_shared_devices": _devices(get["gpu_shared_devices"])} if "gpu_shared_devices" in get else {}),
            ))
            gpu = next((r for r in environments[-1].offered_resources if r.id == "gpu"), None)
            if gpu is not None and environments[-1].gpu_devices and gpu.total > len(environments[-1].gpu_devices):
                raise ValueError("gpu total is more than the gpu_devices listed")
        except (ValueError, TypeError, ArithmeticError) as exc:
            raise ConfigurationError(f"invalid compute environment [{section}]: {exc}") from None
    return tuple(environments)
