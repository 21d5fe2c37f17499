"""One line per measured figure set, for `bench/run_all` to gather into a table.

Each benchmark prints its own human-readable report and, next to it, `BENCH_ROW {json}` lines
with the same figures: name, and any of rps, p50_ms, p99_ms, mb_s, job_s, rss_mb, ratio, note.
"""
from __future__ import annotations

import json

PREFIX = "BENCH_ROW "


def row(name: str, **figures) -> None:
    print(PREFIX + json.dumps({"name": name, **{k: v for k, v in figures.items() if v is not None}}), flush=True)
