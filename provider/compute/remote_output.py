"""Results pushed to the consumer's own storage (ocean.js 8's encrypted `output`, node spec §3.6).

The consumer encrypts `{"remoteStorage": {"type": "url", "url", "method": "PUT"|"POST",
"headers"}}` to the provider's `nodePublicKey`, so the target (and any credential in its
headers) never travels or rests in clear: the job keeps the ciphertext, and it is decrypted
only when the outputs archive is sent. The upload goes through the provider's safe fetcher
(public addresses only, checked on the address connected to, a deadline, no redirects).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from provider.crypto.ecies import DecryptionFailed, decrypt
from provider.errors import InvalidRequest

METHODS = ("PUT", "POST")
MAX_HEADERS = 20


class OutputTargetInvalid(InvalidRequest):
    """The encrypted `output` does not name a storage this provider can send results to."""


def parse_output_target(plaintext: bytes) -> dict[str, Any]:
    """The remote storage object, checked (pure)."""
    try:
        document = json.loads(plaintext)
    except (ValueError, UnicodeDecodeError):
        raise OutputTargetInvalid("output: not a JSON object") from None
    if not isinstance(document, dict) or not isinstance(document.get("remoteStorage"), dict):
        raise OutputTargetInvalid("output: remoteStorage is required")
    if document.get("encryption"):
        raise OutputTargetInvalid("output: encrypting results before upload is not supported by this provider")
    storage = document["remoteStorage"]
    if storage.get("type") != "url":
        raise OutputTargetInvalid("output: only remoteStorage of type url is supported")
    url = storage.get("url")
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2048:
        raise OutputTargetInvalid("output: remoteStorage.url must be an http(s) URL")
    method = str(storage.get("method") or "PUT").upper()
    if method not in METHODS:
        raise OutputTargetInvalid("output: remoteStorage.method must be PUT or POST")
    headers = storage.get("headers") or {}
    if not isinstance(headers, dict) or len(headers) > MAX_HEADERS or not all(
            isinstance(k, str) and isinstance(v, str) and "\n" not in k + v and "\r" not in k + v
            for k, v in headers.items()):
        raise OutputTargetInvalid("output: remoteStorage.headers must be a few string headers")
    return {"url": url, "method": method, "headers": headers}


def open_output_target(private_key: str, ciphertext_hex: str) -> dict[str, Any]:
    """The target a job's encrypted `output` names, decrypted with the node key and checked."""
    try:
        plaintext = decrypt(private_key, bytes.fromhex(ciphertext_hex))
    except (DecryptionFailed, ValueError):
        raise OutputTargetInvalid("output does not decrypt with this provider's nodePublicKey") from None
    return parse_output_target(plaintext)


def send_archive(fetcher, target: dict[str, Any], archive: Path, deadline: float) -> int:
    """Upload the outputs archive; the HTTP status the storage answered."""
    with open(archive, "rb") as body:
        return fetcher.upload(target["method"], target["url"],
                              {"Content-Type": "application/x-tar", **target["headers"]}, body,
                              archive.stat().st_size, deadline)
