"""The output gate (pure): what may leave a job, decided before anything is released.

A compute service states its policy in its `compute` object, and the operator's `[compute]`
defaults fill what it leaves out:

    "compute": {..., "outputPolicy": {"maxBytes": 1048576, "maxFiles": 10,
                                      "allowedTypes": ["csv", "json", "png"], "review": "manual"}}

A job over several datasets takes the strictest of their policies. When the algorithm ends:
- outputs over `maxBytes` in total, over `maxFiles`, or of a type not allowed (by extension,
  case-insensitive; a file without one is type "") are never released: the job ends with 63
  "Results withheld by the output policy" and the reason;
- else, with `review: manual`, the job waits in 51 "Results held for review" until the
  publisher releases (70) or rejects (63) it. Until then only the provider's own logs
  (configuration, publish) can be read: outputs and the algorithm's log (which can print the
  data) stay with the provider, and so does the live log while it runs.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from provider.compute import status as st
from provider.errors import InvalidRequest

REVIEW_MODES = ("none", "manual")
RELEASED_WITHOUT_REVIEW = ("configurationLog", "publishLog", "receipt")


@dataclass(frozen=True)
class OutputPolicy:
    max_bytes: int | None = None
    max_files: int | None = None
    allowed_types: tuple[str, ...] | None = None   # extensions without the dot, lower case
    review: str = "none"

    def as_json(self) -> dict[str, Any]:
        return {"maxBytes": self.max_bytes, "maxFiles": self.max_files,
                "allowedTypes": list(self.allowed_types) if self.allowed_types is not None else None,
                "review": self.review}

    @classmethod
    def from_json(cls, value: Any) -> "OutputPolicy":
        value = value if isinstance(value, dict) else {}
        types = value.get("allowedTypes")
        return cls(_count(value.get("maxBytes")), _count(value.get("maxFiles")),
                   tuple(str(t).lower().lstrip(".") for t in types) if isinstance(types, list) else None,
                   value.get("review") if value.get("review") in REVIEW_MODES else "none")


def _count(value: Any) -> int | None:
    if isinstance(value, bool) or value in (None, ""):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InvalidRequest("outputPolicy limits must be whole numbers") from None
    return max(number, 0)


def _stricter(a, b):
    return b if a is None else a if b is None else min(a, b)


def combined(policies: Iterable[dict[str, Any] | None], default: OutputPolicy) -> OutputPolicy:
    """Each service's policy over the operator's defaults, then the strictest of all services."""
    result: OutputPolicy | None = None
    for raw in policies:
        own = OutputPolicy.from_json(raw) if isinstance(raw, dict) else OutputPolicy()
        policy = OutputPolicy(
            own.max_bytes if own.max_bytes is not None else default.max_bytes,
            own.max_files if own.max_files is not None else default.max_files,
            own.allowed_types if own.allowed_types is not None else default.allowed_types,
            own.review if isinstance(raw, dict) and raw.get("review") in REVIEW_MODES else default.review)
        if result is None:
            result = policy
            continue
        types = (result.allowed_types if policy.allowed_types is None else policy.allowed_types
                 if result.allowed_types is None else tuple(t for t in result.allowed_types if t in policy.allowed_types))
        result = OutputPolicy(_stricter(result.max_bytes, policy.max_bytes), _stricter(result.max_files, policy.max_files),
                              types, "manual" if "manual" in (result.review, policy.review) else "none")
    return result or default


def file_type(name: str) -> str:
    base = name.rsplit("/", 1)[-1]
    return base.rsplit(".", 1)[-1].lower() if "." in base.strip(".") else ""


def violations(policy: OutputPolicy, outputs: list[tuple[str, int]]) -> list[str]:
    """Why these outputs (name, size) may not leave, or []."""
    problems = []
    total = sum(size for _, size in outputs)
    if policy.max_bytes is not None and total > policy.max_bytes:
        problems.append(f"the outputs are {total} bytes, over the {policy.max_bytes} the publisher allows")
    if policy.max_files is not None and len(outputs) > policy.max_files:
        problems.append(f"{len(outputs)} output files, over the {policy.max_files} the publisher allows")
    if policy.allowed_types is not None:
        refused = sorted({name for name, _ in outputs if file_type(name) not in policy.allowed_types})
        if refused:
            shown = ", ".join(refused[:5]) + (" ..." if len(refused) > 5 else "")
            problems.append(f"output types the publisher does not allow: {shown}")
    return problems


def gate(policy: OutputPolicy, outputs: list[tuple[str, int]]) -> tuple[int, str | None]:
    """(status, reason) of a job whose algorithm finished: released (70), withheld (63), held (51)."""
    problems = violations(policy, outputs)
    if problems:
        return st.OUTPUTS_WITHHELD, "results withheld: " + "; ".join(problems)
    if policy.review == "manual":
        return st.RESULTS_HELD, None
    return st.FINISHED, None


def readable(job_status: int, result_type: str, policy: dict[str, Any] | None) -> bool:
    """May this result of the job be read now? Outputs and the algorithm's log only once released
    (or, for jobs the gate does not cover, always)."""
    if result_type in RELEASED_WITHOUT_REVIEW:
        return True
    if job_status in (st.RESULTS_HELD, st.OUTPUTS_WITHHELD):
        return False
    return True
