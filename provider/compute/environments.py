"""Compute environments (pure): what a publisher offers, how it is priced, what it can run.

Environments are `[compute.env.<id>]` sections of config.ini. Each one states its resources
(cpu, ram GB, disk GB), limits (max job duration, concurrent jobs), price per minute and fee
token per chain, whether network access may be granted, and the runtimes it serves: algorithm
container images matched by pattern (`python:3*`) to a host runtime (`/usr/bin/python3`). An
image no runtime serves is refused at initializeCompute, before anyone pays.
"""
from __future__ import annotations

import configparser
import fnmatch
import json
import math
import os
import shutil
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from provider.errors import ConfigurationError

SECTION_PREFIX = "compute.env."
SANDBOX_PATH = "/usr/local/bin:/usr/bin:/bin"


@dataclass(frozen=True)
class Runtime:
    image_pattern: str           # fnmatch pattern over "image:tag"
    commands: dict[str, str]     # command names inside the sandbox -> host executable


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

    @property
    def free(self) -> bool:
        return self.price_per_minute == 0

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
            environments.append(Environment(
                id=env_id,
                description=get.get("description", ""),
                cpu=get.getint("cpu", 1),
                ram_gb=get.getfloat("ram_gb", 1),
                disk_gb=get.getfloat("disk_gb", 1),
                max_job_duration=get.getint("max_job_duration", 3600),
                max_jobs=get.getint("max_jobs", 2),
                price_per_minute=Decimal(get.get("price_per_minute", "0")),
                fee_tokens={int(k): v for k, v in tokens.items()},
                allow_network=get.getboolean("allow_network", False),
                storage_expiry=get.getint("storage_expiry", 86400),
                max_pids=get.getint("max_pids", 128),
                runtimes=_runtime_specs(get.get("runtimes", "")),
            ))
        except (ValueError, TypeError) as exc:
            raise ConfigurationError(f"invalid compute environment [{section}]: {exc}") from None
    return tuple(environments)
