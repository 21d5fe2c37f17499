"""`ocean-provider`: the console entry point.

    ocean-provider run [--production]        development stack (as `make run`), or gunicorn only
    ocean-provider demo [--provider URL]     a consumer against `make run` (as `make demo`)
    ocean-provider keys                      provider address and public key per chain
    ocean-provider envs                      compute environments and their load
    ocean-provider jobs list|show|logs|stop  compute jobs, for the operator
    ocean-provider index status [--sync]     chain index progress; --sync catches up, with progress
    ocean-provider pod fetch|publish ...     entry points of the compute fetch and publish pods
    ocean-provider receipt verify FILE [--output DIR] [--signer ADDRESS]
                                             check a job receipt offline (signature, fields, outputs)
    ocean-provider receipt show JOB | chain  a stored receipt; the provider's receipt chain, checked
    ocean-provider audit export [--did D] [--since T] [--format jsonl]   the audit trail
    ocean-provider audit verify              an edited or removed audit entry is found
    ocean-provider review list|show JOB|release JOB|reject JOB [--reason R]   held outputs

Operator commands read the same settings as the server (config.ini, then the environment) and
work on the same store, so they see what the running provider sees. Add --json for machines.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable



# ---- operator commands -------------------------------------------------------------------------

def _services():
    """The provider's object graph without its background work (no indexer, no scheduler)."""
    from provider.config import load_settings
    from provider.services import build_services

    return build_services(load_settings())


def _date(value: float | None) -> str:
    return datetime.fromtimestamp(value, timezone.utc).strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def _table(rows: list[list[Any]], header: list[str]) -> str:
    cells = [header] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells)


def cmd_keys(args) -> int:
    from eth_keys import keys

    from provider.config import load_settings

    settings = load_settings()
    rows = []
    for chain_id, chain in sorted(settings.chains.items()):
        key = keys.PrivateKey(bytes.fromhex(chain.private_key[2:]))
        rows.append({"chainId": chain_id, "address": key.public_key.to_checksum_address(),
                     "publicKey": "0x" + key.public_key.to_bytes().hex()})
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            print(f"chain {row['chainId']}\n  address:    {row['address']}\n  public key: {row['publicKey']}")
    return 0


def cmd_envs(args) -> int:
    services = _services()
    if services.compute is None:
        print("compute is disabled (COMPUTE_ENABLED=false)", file=sys.stderr)
        return 1
    per_chain = services.compute.environments()
    if args.json:
        print(json.dumps(per_chain, indent=2))  # the computeEnvironments reply
        return 0
    envs = [env for chain_envs in per_chain.values() for env in chain_envs]
    seen, rows = set(), []
    for env in envs:
        if env["id"] in seen:
            continue
        seen.add(env["id"])
        rows.append([env["id"], env["cpuNumber"], env["ramGB"], env["diskGB"], env["maxJobDuration"],
                     f"{env['currentJobs']}/{env['maxJobs']}", env["priceMin"], env["desc"]])
    print(_table(rows, ["ID", "CPU", "RAM GB", "DISK GB", "MAX S", "JOBS", "PRICE/MIN", "DESCRIPTION"]))
    return 0


def _job_or_exit(services, job_id: str):
    job = services.compute.jobs.get(job_id) if services.compute else None
    if job is None:
        print(f"no job {job_id}", file=sys.stderr)
    return job


def cmd_jobs(args) -> int:
    from provider.compute import status as st
    from provider.compute.scheduling import outcome_summary
    from provider.errors import ProviderError

    services = _services()
    if services.compute is None:
        print("compute is disabled (COMPUTE_ENABLED=false)", file=sys.stderr)
        return 1
    jobs = services.compute.jobs
    if args.action == "list":
        statuses = [int(args.status)] if args.status else list(st.TEXTS)
        found = [j for j in jobs.with_status(statuses) if not args.owner or j.owner.lower() == args.owner.lower()]
        found.sort(key=lambda j: j.date_created, reverse=True)
        if args.json:
            print(json.dumps([j.public() for j in found], indent=2))
        else:
            print(_table([[j.job_id, j.status, st.text(j.status).strip(), outcome_summary(j.status, j.termination, j.error),
                           j.environment, j.owner, _date(j.date_created), _date(j.date_finished)] for j in found],
                         ["JOB", "CODE", "STATUS", "OUTCOME", "ENVIRONMENT", "OWNER", "CREATED (UTC)",
                          "FINISHED (UTC)"]))
        return 0
    job = _job_or_exit(services, args.job)
    if job is None:
        return 1
    if args.action == "show":
        body = job.public()
        body.update(did=job.did, chainId=job.chain_id, runner=job.runner, maxDuration=job.max_duration,
                    dateStarted=_date(job.date_started),
                    outcome=outcome_summary(job.status, job.termination, job.error))
        print(json.dumps(body, indent=2))
        return 0
    if args.action == "logs":
        for chunk in services.compute.follow_logs(job.job_id, follow=args.follow):
            sys.stdout.write(chunk.decode("utf-8", "replace"))
            sys.stdout.flush()
        return 0
    try:
        stopped = services.compute.request_stop(job.job_id)
    except ProviderError as exc:
        print(exc.user_message, file=sys.stderr)
        return 1
    if st.is_terminal(stopped.status):
        print(f"job {job.job_id} has already ended: {st.text(stopped.status).strip()}")
        return 0
    print(f"stop requested for job {job.job_id}; waiting for the engine", end="", flush=True)
    deadline = time.monotonic() + args.wait
    while time.monotonic() < deadline:
        current = jobs.get(job.job_id)
        if current is None or st.is_terminal(current.status):
            print(f"\njob {job.job_id} ended: {st.text(current.status).strip() if current else 'deleted'}")
            return 0
        print(".", end="", flush=True)
        time.sleep(1)
    print("\nthe engine has not ended the job yet (is the provider running?); the request stays recorded")
    return 0


def cmd_index(args) -> int:
    from provider.health import chain_head, chain_index_status

    services = _services()
    report = []
    for indexer in services.indexers:
        head = chain_head(indexer)
        if head is None:
            print(f"chain {indexer.chain.chain_id}: RPC unreachable", file=sys.stderr)
            return 1
        if args.sync:
            if not _sync_with_progress(indexer, head, print_fn=lambda text: print(text, end="", flush=True)):
                holder = indexer.leases.holder_of(indexer.lease_name)
                print(f"chain {indexer.chain.chain_id}: another process is indexing (lease holder {holder}); not syncing")
        report.append(chain_index_status(services, indexer, head))
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(_table([[r["chainId"], r["head"], r["lastIndexedBlock"], r["lagBlocks"], r["assets"], r["refused"],
                       r["leaseHolder"] or "-"] for r in report],
                     ["CHAIN", "HEAD", "INDEXED TO", "LAG", "ASSETS", "REFUSED", "LEASE HOLDER"]))
    return 0


def _sync_with_progress(indexer, head: int, print_fn: Callable[[str], None]) -> bool:
    """Index batch by batch up to `head`, printing how far it got. False if another holds the lease."""
    first = indexer.last_indexed_block()
    total = max(1, head - first)
    while indexer.last_indexed_block() < head:
        if not indexer.sync(max_batches=1):
            return False
        done = indexer.last_indexed_block() - first
        print_fn(f"\rchain {indexer.chain.chain_id}: indexed to block {indexer.last_indexed_block()} "
                 f"of {head} ({100 * min(done, total) // total}%)")
    print_fn("\n")
    indexer.release()
    return True


def cmd_engine(args) -> int:
    """The compute engine alone (started and restarted by the gunicorn master): it runs until
    SIGTERM, then gives running jobs SHUTDOWN_GRACE seconds and lets go of its lease."""
    import gc
    import signal
    import threading

    services = _services()
    if services.engine is None:
        print("compute is disabled (COMPUTE_ENABLED=false): no engine to run", file=sys.stderr)
        return 0
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    parent = os.getppid()
    gc.freeze()  # the long-lived startup objects, out of every later full collection (as in provider.wsgi)
    services.engine.start()
    print(f"compute engine running ({services.settings.compute.engine}), pid {os.getpid()}", flush=True)
    # Ends on SIGTERM, or when the provider that started it is gone (even killed): an engine
    # nobody supervises would go on running jobs no server answers for.
    while not stop.wait(1.0):
        if os.getppid() != parent:
            print("the provider that started this engine is gone; stopping", file=sys.stderr, flush=True)
            break
    services.engine.shutdown(grace=services.settings.shutdown_grace)
    return 0


def cmd_run(args) -> int:
    if not args.production:
        from provider.devtools.run import main as run_main
        return run_main()
    from provider.config import load_server_settings, load_settings

    # --production means production: the workers inherit the mode, so no development default
    # (the public barge key, private-network fetching) can apply, whatever the environment says.
    os.environ["PROVIDER_MODE"] = "production"
    settings = load_settings()  # fail here, readably, rather than in every worker
    workers = str(args.workers or load_server_settings().workers)
    print(f"serving on {settings.bind} with {workers} worker(s) ({settings.mode} mode)", flush=True)
    # Become gunicorn (exec), so signals from a supervisor or `docker stop` reach its master.
    os.execv(sys.executable, [sys.executable, "-m", "gunicorn", "-c", "python:provider.gunicorn_conf",
                              "--workers", workers, "--bind", settings.bind, "provider.wsgi:app"])
    return 0  # not reached


def cmd_demo(args) -> int:
    """A consumer against the running development stack (`make run`), step by step."""
    from eth_account import Account

    from provider.config import load_settings
    from provider.devtools import demo
    from provider.devtools.deploy import dev_accounts
    from provider.devtools.run import console_token_file, run_dir

    settings = load_settings()
    if not settings.development:
        print("the demo plays against the development stack (make run)", file=sys.stderr)
        return 2
    chain = next(iter(settings.chains.values()))
    url = (args.provider or settings.public_url).rstrip("/")
    token_file = console_token_file()
    console = f"{url}/console?token={token_file.read_text().strip()}" if token_file.exists() else None
    consumer = Account.from_key(dev_accounts(settings.dev_mnemonic)[2].key)
    return demo.main(url, run_dir() / "demo.json", chain.rpc_url, consumer, console_url=console,
                     out=lambda line: print(line, flush=True))


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="ocean-provider", description="Ocean Provider with Compute-to-Data")
    commands = root.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the development stack, or (--production) the provider alone")
    run.add_argument("--production", action="store_true",
                     help="serve with gunicorn on the configured chain, key and bind address")
    run.add_argument("--workers", type=int, help="gunicorn workers (default PROVIDER_WORKERS or 2)")
    run.set_defaults(handler=cmd_run)

    play = commands.add_parser("demo", help="play a consumer against `make run`: download, compute, receipt")
    play.add_argument("--provider", help="provider URL (default PROVIDER_URL)")
    play.set_defaults(handler=cmd_demo)

    keys = commands.add_parser("keys", help="show the provider address and public key per chain")
    keys.add_argument("--json", action="store_true")
    keys.set_defaults(handler=cmd_keys)

    envs = commands.add_parser("envs", help="list compute environments and their running jobs")
    envs.add_argument("--json", action="store_true")
    envs.set_defaults(handler=cmd_envs)

    jobs = commands.add_parser("jobs", help="compute jobs: list, show, logs, stop")
    job_actions = jobs.add_subparsers(dest="action", required=True)
    listing = job_actions.add_parser("list")
    listing.add_argument("--status", type=int, help="only jobs with this status code (e.g. 40 running)")
    listing.add_argument("--owner", help="only jobs of this consumer address")
    listing.add_argument("--json", action="store_true")
    job_actions.add_parser("show").add_argument("job")
    logs = job_actions.add_parser("logs")
    logs.add_argument("job")
    logs.add_argument("--follow", "-f", action="store_true", help="keep printing until the job ends")
    stop = job_actions.add_parser("stop")
    stop.add_argument("job")
    stop.add_argument("--wait", type=float, default=30, help="seconds to wait for the job to end")
    jobs.set_defaults(handler=cmd_jobs)

    engine = commands.add_parser("engine", help="run the compute engine alone (the provider's master starts it)")
    engine.set_defaults(handler=cmd_engine)

    index = commands.add_parser("index", help="chain index")
    index_actions = index.add_subparsers(dest="action", required=True)
    status = index_actions.add_parser("status")
    status.add_argument("--sync", action="store_true", help="catch up to the chain head first, showing progress")
    status.add_argument("--json", action="store_true")
    index.set_defaults(handler=cmd_index)

    receipt = commands.add_parser("receipt", help="job receipts: verify a file offline, show, check the chain")
    receipt_actions = receipt.add_subparsers(dest="action", required=True)
    check = receipt_actions.add_parser("verify", help="signature, every field, and (--output) the output files")
    check.add_argument("file", type=Path)
    check.add_argument("--output", type=Path, help="the job's outputs as fetched (outputs.tar extracted: its "
                                                   "outputs/ folder)")
    check.add_argument("--signer", help="the provider address the receipt must be signed by")
    receipt_actions.add_parser("show").add_argument("job")
    receipt_actions.add_parser("chain", help="every stored receipt, and the chain between them")
    receipt.set_defaults(handler=cmd_receipt)

    audit = commands.add_parser("audit", help="the audit trail: export it, verify its chain")
    audit_actions = audit.add_subparsers(dest="action", required=True)
    export = audit_actions.add_parser("export", help="entries as JSON lines, oldest first")
    export.add_argument("--did", help="only this asset's entries")
    export.add_argument("--since", help="unix time or ISO 8601 date")
    export.add_argument("--format", choices=["jsonl"], default="jsonl")
    audit_actions.add_parser("verify", help="check the hash chain: edited or removed entries")
    audit.set_defaults(handler=cmd_audit)

    review = commands.add_parser("review", help="outputs held for review: list, show, release, reject")
    review_actions = review.add_subparsers(dest="action", required=True)
    review_actions.add_parser("list").add_argument("--json", action="store_true")
    review_actions.add_parser("show").add_argument("job")
    review_actions.add_parser("release").add_argument("job")
    reject = review_actions.add_parser("reject")
    reject.add_argument("job")
    reject.add_argument("--reason", help="why, recorded in the audit trail and the receipt")
    review.set_defaults(handler=cmd_review)

    pod = commands.add_parser("pod", help="entry points of the compute fetch and publish pods")
    pod.add_argument("phase", choices=["fetch", "publish"])
    pod.add_argument("--provider", required=True, help="the provider's internal URL")
    pod.add_argument("--job", required=True)
    pod.add_argument("--data", type=Path, default=Path("/data"))
    pod.set_defaults(handler=cmd_pod)
    return root


def cmd_receipt(args) -> int:
    """`verify` works offline: no settings, no store, no chain. `show`/`chain` read the store."""
    from provider.compute.receipts import ReceiptStore, chain_problems, verify

    if args.action == "verify":
        try:
            document = json.loads(Path(args.file).read_text())
        except (OSError, ValueError) as exc:
            print(f"{args.file}: not a readable JSON file ({exc.__class__.__name__})", file=sys.stderr)
            return 2
        problems = verify(document, args.output, signer=args.signer)
        for problem in problems:
            print(f"TAMPERED {problem}")
        if not problems:
            receipt = document["receipt"]
            checked = f", {len(receipt.get('outputs') or [])} output file(s) match" if args.output else ""
            print(f"OK receipt of job {receipt.get('jobId')} signed by {document.get('signer')}{checked}")
        return 1 if problems else 0
    from provider.config import load_settings
    from provider.stores.sqlite import Database

    store = ReceiptStore(Database(load_settings().storage.sqlite_path))
    if args.action == "show":
        document = store.get(args.job)
        if document is None:
            print(f"no receipt for job {args.job}", file=sys.stderr)
            return 1
        print(json.dumps(document, indent=2))
        return 0
    documents = store.chain()
    problems = chain_problems(documents) + [f"receipt of job {d['receipt'].get('jobId')}: {p}"
                                            for d in documents for p in verify(d)]
    for problem in problems:
        print(f"BROKEN {problem}")
    if not problems:
        print(f"OK {len(documents)} receipt(s), one unbroken chain")
    return 1 if problems else 0


def cmd_audit(args) -> int:
    trail = _services().audit  # the store the provider writes to (SQLite, or Redis when shared)
    if trail.log is None:
        print("the audit trail is disabled (AUDIT_ENABLED=false)", file=sys.stderr)
        return 1
    if args.action == "verify":
        problems = trail.verify()
        for problem in problems:
            print(f"BROKEN {problem}")
        if not problems:
            print(f"OK {len(trail.entries())} audit entries, one unbroken chain")
        return 1 if problems else 0
    since = None
    if args.since:
        try:
            since = float(args.since)
        except ValueError:
            since = datetime.fromisoformat(args.since.replace("Z", "+00:00")).timestamp()
    for entry in trail.entries(did=args.did, since=since):
        print(json.dumps(entry, sort_keys=True))
    return 0


def cmd_review(args) -> int:
    from provider.compute import status as st
    from provider.compute.review import held_view

    services = _services()
    if services.review is None:
        print("compute is disabled (COMPUTE_ENABLED=false)", file=sys.stderr)
        return 1
    jobs = services.compute.jobs
    if args.action == "list":
        held = [held_view(j) for j in jobs.with_status([st.RESULTS_HELD])]
        if args.json:
            print(json.dumps(held, indent=2))
        else:
            print(_table([[h["jobId"], h["did"], h["owner"], len([r for r in h["results"] if r["type"] == "output"]),
                           sum(r["filesize"] for r in h["results"] if r["type"] == "output")] for h in held],
                         ["JOB", "DATASET", "OWNER", "OUTPUTS", "BYTES"]))
        return 0
    job = _job_or_exit(services, args.job)
    if job is None:
        return 1
    if job.status != st.RESULTS_HELD:
        print(f"job {job.job_id} is not held for review: {st.text(job.status).strip()}", file=sys.stderr)
        return 1
    if args.action == "show":
        print(json.dumps(held_view(job), indent=2))
        return 0
    decided = services.review.apply(job, args.action, "operator", getattr(args, "reason", None) or "")
    done = "released" if args.action == "release" else "rejected"
    print(f"job {job.job_id}: {done} ({decided['statusText'].strip()})")
    return 0


def cmd_pod(args) -> int:
    from provider.compute.k8s.pods import pod_fetch, pod_publish

    token = os.environ.get("JOB_TOKEN", "")
    handler = pod_fetch if args.phase == "fetch" else pod_publish
    return handler(args.provider.rstrip("/"), args.job, args.data, token)


def main(argv: list[str] | None = None) -> int:
    from provider.errors import ConfigurationError

    args = parser().parse_args(argv)
    try:
        return args.handler(args)
    except ConfigurationError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
