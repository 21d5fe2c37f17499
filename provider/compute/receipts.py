"""Job receipts: what ran on what, for whom, and what left, signed by the provider.

Every job that ends gets one. The document is

    {"receipt": {...}, "signature": "0x...", "signer": "0x..."}

and the signature is EIP-191 over keccak256 of the RFC 8785 canonical JSON of `receipt`
(`crypto.canonical`): the scheme of the provider's request signatures, over a 32-byte hash.
`receipt.digests` holds the sha256 of the canonical JSON of each other member, so a verifier
names the member that was changed, not only that something was. `receipt.previous` is the
sha256 of the canonical JSON of this provider's previous receipt document: receipts form one
chain per provider, and a removed receipt breaks it.

Building, signing and verifying are pure (`verify` reads the output files it is given); the
`ReceiptStore` keeps every receipt (after the job's results expire too) and the chain's head.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from eth_utils import keccak

from provider.auth.signatures import (
    SignatureError, prefixed_hash_digest, recover_digest_signer, same_address, sign_digest,
)
from provider.crypto.canonical import canonical_bytes
from provider.stores.sqlite import Database

RECEIPT_VERSION = "1.0.0"
RECEIPT_FILE = "receipt.json"
GENESIS = "0" * 64


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def document_sha256(document: dict[str, Any]) -> str:
    return sha256_hex(canonical_bytes(document))


def _digests(body: dict[str, Any]) -> dict[str, str]:
    return {name: sha256_hex(canonical_bytes(value)) for name, value in body.items() if name != "digests"}


def build_receipt(*, job, provider: str, chain_id: int, provisioned: dict[str, Any], outputs: list[dict],
                  logs: list[dict], payment: dict[str, Any] | None, previous: str, issued_at: float) -> dict:
    """The `receipt` member, from the job record and the hashes of what it was given and made."""
    spec = job.spec or {}
    termination = job.termination or {}
    start, stop = termination.get("algoStart"), termination.get("algoStop")
    container = spec.get("container") or {}
    algorithm = spec.get("algorithm") or {}
    inputs = []
    hashed = {(i["did"], i["serviceId"]): i["sha256"] for i in provisioned.get("inputs", [])}
    for item in spec.get("inputs", []):
        inputs.append({"did": item["documentId"], "serviceId": str(item["serviceId"]),
                       "orderTx": item.get("transferTxId"),
                       "sha256": hashed.get((item["documentId"], str(item["serviceId"])), [])})
    body: dict[str, Any] = {
        "version": RECEIPT_VERSION,
        "provider": provider,
        "chainId": chain_id,
        "jobId": job.job_id,
        "owner": job.owner,
        "environment": job.environment,
        "resources": {k: str(v) for k, v in (spec.get("resources") or {}).items()},
        "inputs": inputs,
        "algorithm": {
            "did": algorithm.get("documentId"),
            "serviceId": algorithm.get("serviceId"),
            "orderTx": algorithm.get("transferTxId"),
            "sha256": provisioned.get("algorithm", []),
            "container": {"image": container.get("image"), "tag": container.get("tag"),
                          "digest": container.get("checksum"), "entrypoint": container.get("entrypoint")},
        },
        "timestamps": {"created": _time(job.date_created), "started": _time(job.date_started),
                       "algorithmStarted": _time(start), "algorithmFinished": _time(stop),
                       "finished": _time(job.date_finished), "issued": _time(issued_at)},
        "usage": {"wallSeconds": str(round(stop - start, 3)) if start is not None and stop is not None else None,
                  "cpuSeconds": _text(termination.get("cpuSeconds")),
                  "peakMemoryBytes": _text(termination.get("peakMemoryBytes")),
                  "outputBytes": str(sum(o["size"] for o in outputs))},
        "termination": {"status": job.status, "exitCode": termination.get("exitCode"),
                        "OOMKilled": bool(termination.get("OOMKilled")), "timedOut": bool(termination.get("timedOut")),
                        "stopped": bool(termination.get("stopped")), "reason": job.error},
        "outputs": [{"name": o["name"], "sha256": o["sha256"], "size": str(o["size"])} for o in outputs],
        "logs": [{"name": entry["name"], "sha256": entry["sha256"]} for entry in logs],
        "payment": payment,
        "outputPolicy": spec.get("outputPolicy"),
        "review": spec.get("review"),
        "previous": previous,
    }
    body["digests"] = _digests(body)
    return body


def _time(value: float | None) -> str | None:
    return f"{value:.3f}" if value else None


def _text(value) -> str | None:
    return None if value is None else str(value)


def signing_digest(receipt: dict[str, Any]) -> bytes:
    """EIP-191 digest over keccak256(JCS(receipt))."""
    return prefixed_hash_digest(keccak(canonical_bytes(receipt)))


def sign_receipt(private_key: str, provider: str, receipt: dict[str, Any]) -> dict[str, Any]:
    v, r, s = sign_digest(private_key, signing_digest(receipt))
    return {"receipt": receipt, "signature": "0x" + (r + s + bytes([v])).hex(), "signer": provider}


def verify(document: Any, outputs_dir: Path | None = None, *, signer: str | None = None) -> list[str]:
    """Every problem found, each naming what is wrong; [] when the receipt holds. With
    `outputs_dir` (the job's outputs, as fetched), every output file is hashed against it."""
    if not isinstance(document, dict) or not isinstance(document.get("receipt"), dict):
        return ["not a receipt document: it needs a `receipt` object"]
    receipt = document["receipt"]
    problems = []
    recorded = receipt.get("digests") if isinstance(receipt.get("digests"), dict) else {}
    for name, digest in _digests(receipt).items():
        if recorded.get(name) != digest:
            problems.append(f"field `{name}` was changed after signing")
    for name in set(recorded) - set(receipt):
        problems.append(f"field `{name}` was removed after signing")
    try:
        recovered = recover_digest_signer(signing_digest(receipt), str(document.get("signature")))
        if not same_address(recovered, document.get("signer")):
            problems.append(f"signature: made by {recovered}, not by the signer {document.get('signer')}")
    except (SignatureError, ValueError, TypeError):
        problems.append("signature: not a valid signature")
    except Exception:  # noqa: BLE001 (a receipt that cannot be canonicalised is simply invalid)
        problems.append("signature: the receipt cannot be canonicalised")
    if signer is not None and not same_address(signer, document.get("signer")):
        problems.append(f"signer: {document.get('signer')} is not the expected provider {signer}")
    if outputs_dir is not None:
        for output in receipt.get("outputs") or []:
            path = outputs_dir / str(output.get("name"))
            if not path.resolve().is_relative_to(outputs_dir.resolve()) or not path.is_file():
                problems.append(f"output `{output.get('name')}`: missing from {outputs_dir}")
            elif file_sha256(path) != output.get("sha256"):
                problems.append(f"output `{output.get('name')}`: its bytes are not the ones the receipt names")
    return problems


class ReceiptStore:
    """Every receipt this provider issued, in order (SQLite; kept when results expire)."""

    def __init__(self, db: Database):
        self.db = db

    def append(self, job_id: str, build) -> dict[str, Any]:
        """`build(previous_sha256)` -> signed document, under the write lock: one chain."""
        with self.db.write() as conn:
            row = conn.execute("SELECT document FROM job_receipt WHERE job_id = ?", (job_id,)).fetchone()
            if row is not None:
                return json.loads(row["document"])
            last = conn.execute("SELECT sha256 FROM job_receipt ORDER BY seq DESC LIMIT 1").fetchone()
            document = build(last["sha256"] if last else GENESIS)
            conn.execute("INSERT INTO job_receipt(job_id, sha256, document) VALUES (?, ?, ?)",
                         (job_id, document_sha256(document), json.dumps(document)))
        return document

    def get(self, job_id: str) -> dict[str, Any] | None:
        row = self.db.read().execute("SELECT document FROM job_receipt WHERE job_id = ?", (job_id,)).fetchone()
        return json.loads(row["document"]) if row else None

    def chain(self) -> list[dict[str, Any]]:
        return [json.loads(r["document"]) for r in
                self.db.read().execute("SELECT document FROM job_receipt ORDER BY seq").fetchall()]


def chain_problems(documents: list[dict[str, Any]]) -> list[str]:
    """Breaks in a provider's receipt chain (a receipt removed or replaced)."""
    problems = []
    previous = GENESIS
    for document in documents:
        receipt = document.get("receipt") or {}
        if receipt.get("previous") != previous:
            problems.append(f"receipt of job {receipt.get('jobId')}: the receipt before it is missing or changed")
        previous = document_sha256(document)
    return problems
