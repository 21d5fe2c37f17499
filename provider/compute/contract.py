"""The container contract every engine gives an algorithm (pure): folders and environment.

    /data/inputs/<did without "did:op:">/<fileIndex>   dataset files            read-only
    /data/inputs/algoCustomData.json                   consumer parameters      read-only
    /data/transformations/algorithm                    the algorithm            read-only
    /data/ddos/<did without "did:op:">                 DDOs of every input      read-only
    /data/outputs                                      results                  writable
    /data/logs                                         the algorithm's logs     writable

Environment: `DIDS` (a JSON list of the folder names under /data/inputs, i.e. the DIDs without
"did:op:", as Ocean documents it), `TRANSFORMATION_DID` (the same form, empty for a raw
algorithm), `INPUTS`, `OUTPUTS`, `LOGS`, `VOLUME`. `$ALGO` in an entrypoint becomes the
algorithm's absolute path. The sandbox, the Kubernetes manifests, provisioning, the pods'
bundles and publishing all take their names from here.
"""
from __future__ import annotations

import json
from typing import Any

VOLUME = "/data"
READ_ONLY = ("inputs", "transformations", "ddos")   # provisioned by the provider
WRITABLE = ("outputs", "logs")                      # written by the algorithm
FOLDERS = READ_ONLY + WRITABLE
INPUTS, TRANSFORMATIONS, DDOS, OUTPUTS, LOGS = (f"{VOLUME}/{name}" for name in FOLDERS)
ALGORITHM_PATH = f"{TRANSFORMATIONS}/algorithm"
CUSTOM_DATA = "algoCustomData.json"                 # in /data/inputs


def did_folder(did: str) -> str:
    """The folder of a dataset under /data/inputs: its DID without the method prefix (`did:op:`
    for v4 documents, `did:ope:` for v5), i.e. the 64 hex digits."""
    for prefix in ("did:ope:", "did:op:"):
        if did.startswith(prefix):
            return did[len(prefix):]
    return did


def entrypoint_for(template: str) -> str:
    """`$ALGO` -> the algorithm's absolute path (c2d-engine.md §7); appended when absent."""
    if "$ALGO" not in template:
        return f"{template} {ALGORITHM_PATH}".strip()
    return template.replace("$ALGO", ALGORITHM_PATH)


def job_environment(spec: dict[str, Any]) -> dict[str, str]:
    """The variables an algorithm finds, from a job's spec."""
    algorithm_did = spec["algorithm"].get("documentId") or ""
    return {
        "DIDS": json.dumps([did_folder(item["documentId"]) for item in spec["inputs"]]),
        "TRANSFORMATION_DID": did_folder(algorithm_did),
        "INPUTS": INPUTS, "OUTPUTS": OUTPUTS, "LOGS": LOGS, "VOLUME": VOLUME,
    }
