"""Run every benchmark of the project and print one table of their figures.

    bench/run_all            # or: make bench
    bench/run_all --quick    # shorter runs, same rows (for a smoke check)
    REFERENCE_PROVIDER=~/provider-2.1.6 bench/run_all    # and side by side with the reference

Each benchmark runs in its own process (its own anvil, provider and baseline), prints its full
report as it goes, and `BENCH_ROW` lines that end up in the table with the command behind them.
Ratios compare with the baseline measured in the same command.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.report import PREFIX  # noqa: E402

BENCHMARKS = {
    "core": (["bench/core.py"], ["bench/core.py", "--seconds", "2", "--rounds", "1"]),
    "access": (["bench/access.py"], ["bench/access.py", "--size-mb", "128", "--rounds", "1", "--seconds", "2"]),
    "compute": (["bench/compute.py"], ["bench/compute.py", "--runs", "2", "--queued", "6"]),
    "k8s": (["bench/k8s.py"], ["bench/k8s.py", "--jobs", "1", "5"]),
    "tls": (["bench/tls_fetch.py"], ["bench/tls_fetch.py", "--fetches", "10"]),
    "load": (["bench/load_test.py"], ["bench/load_test.py", "--clients", "16", "--seconds", "10",
                                      "--baseline-seconds", "5", "--phase-seconds", "3"]),
}
# The reference Provider 2.1.6 is built by hand from its source (bench/reference.py says how);
# with REFERENCE_PROVIDER naming that checkout, the side-by-side run joins the table.
if os.environ.get("REFERENCE_PROVIDER"):
    BENCHMARKS["reference"] = (["bench/reference.py", "--reference", os.environ["REFERENCE_PROVIDER"]],
                               ["bench/reference.py", "--reference", os.environ["REFERENCE_PROVIDER"],
                                "--seconds", "2", "--rounds", "1"])
COLUMNS = [("req/s", "rps", "{:.0f}"), ("p50 ms", "p50_ms", "{:g}"), ("p99 ms", "p99_ms", "{:g}"),
           ("CPU ms/req", "cpu_ms", "{:g}"), ("MB/s", "mb_s", "{:.0f}"), ("job s", "job_s", "{:g}"), ("peak RSS MB", "rss_mb", "{:.0f}"),
           ("vs baseline", "ratio", "{:g}x")]


def run(name: str, argv: list[str]) -> tuple[list[dict], int, float]:
    command = [sys.executable, *argv]
    print(f"\n=== {name}: {' '.join(argv)}", flush=True)
    started = time.monotonic()
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    rows = []
    for line in proc.stdout:
        if line.startswith(PREFIX):
            rows.append(json.loads(line[len(PREFIX):]) | {"command": " ".join(argv)})
        else:
            print(line, end="", flush=True)
    return rows, proc.wait(), time.monotonic() - started


def table(rows: list[dict]) -> str:
    header = ["benchmark"] + [title for title, _, _ in COLUMNS] + ["notes", "command"]
    lines = []
    for r in rows:
        cells = [r["name"]]
        for _, key, fmt in COLUMNS:
            cells.append(fmt.format(r[key]) if key in r else "")
        cells += [r.get("note", ""), r["command"]]
        lines.append(cells)
    widths = [max(len(str(c)) for c in col) for col in zip(header, *lines)]
    out = ["| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |",
           "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += ["| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |" for cells in lines]
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="shorter runs of every benchmark")
    parser.add_argument("only", nargs="*", help=f"run only these: {', '.join(BENCHMARKS)}")
    args = parser.parse_args()
    unknown = set(args.only) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    rows, failed = [], []
    for name, (full, quick) in BENCHMARKS.items():
        if args.only and name not in args.only:
            continue
        got, code, seconds = run(name, quick if args.quick else full)
        rows += got
        if code != 0:
            failed.append(f"{name} (exit {code})")
        print(f"--- {name}: {seconds:.0f} s", flush=True)
    print("\n" + table(rows))
    if failed:
        print("failed: " + ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
