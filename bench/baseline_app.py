"""The baseline: the smallest Flask app, served by the same gunicorn settings as the provider.

`/` is Flask alone. `/nonce`, `/signed`, `/encrypt` and `/fileinfo` add only the work those
provider endpoints cannot avoid (one point read of the address's nonce from an SQLite file in WAL
mode, as the provider's store keeps it; one signature recovery through the same library and one
atomic nonce write to that file, the budget of a signed request; the same ECIES library over the
body; one GET to the file's origin through urllib3, read up to its headers), so a provider endpoint at 1.0x of its twin here costs nothing beyond the
framework and that work: no validation, audit, metrics or checks are in the baseline.
"""
import os
import sqlite3
import tempfile
import threading

import urllib3
from flask import Flask, Response, jsonify, request

from provider.auth.signatures import recover_signer  # libsecp256k1 through coincurve, as the provider
from provider.crypto.ecies import encrypt as ecies_encrypt, public_key_hex  # the library call, configured

app = Flask(__name__)
_PUBLIC_KEY = public_key_hex("0x" + "42" * 32)
_POOL = urllib3.PoolManager()
_NONCES = os.path.join(os.environ.get("BASELINE_DIR") or tempfile.mkdtemp(prefix="baseline-"), "nonces.db")
_local = threading.local()


def _nonces() -> sqlite3.Connection:
    conn = getattr(_local, "conn", None)
    if conn is None:
        conn = _local.conn = sqlite3.connect(_NONCES, isolation_level=None)
        conn.execute("PRAGMA busy_timeout=30000")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")  # the provider's durability: a killed process loses nothing
        conn.execute("CREATE TABLE IF NOT EXISTS user_nonce (address TEXT PRIMARY KEY, nonce TEXT NOT NULL)")
    return conn


@app.get("/")
def hello():
    return jsonify(ok=True)


@app.get("/nonce")
def nonce():
    row = _nonces().execute("SELECT nonce FROM user_nonce WHERE address = ?",
                            (request.args["userAddress"].lower(),)).fetchone()
    return jsonify(nonce=int(row[0]) if row else 0)


@app.get("/signed")
def signed():
    """One recovery of `address + nonce` and one atomic write of a higher nonce: nothing else."""
    address, nonce = request.args["address"], request.args["nonce"]
    if recover_signer(address + nonce, request.args["signature"]).lower() != address.lower():
        return jsonify(error="bad signature"), 400
    written = _nonces().execute(
        "INSERT INTO user_nonce(address, nonce) VALUES (?, ?) ON CONFLICT(address) DO UPDATE SET "
        "nonce = excluded.nonce WHERE CAST(excluded.nonce AS INTEGER) > CAST(user_nonce.nonce AS INTEGER)",
        (address.lower(), nonce)).rowcount
    return (jsonify(ok=True), 200) if written == 1 else (jsonify(error="nonce used"), 400)


@app.post("/encrypt")
def encrypt():
    return Response("0x" + ecies_encrypt(_PUBLIC_KEY, request.get_data()).hex(), status=201, content_type="text/plain")


@app.post("/fileinfo")
def fileinfo():
    url = request.get_json()["url"]
    upstream = _POOL.request("GET", url, preload_content=False, redirect=False, timeout=10)
    try:
        return jsonify([{"index": 0, "valid": upstream.status == 200, "type": "url",
                         "contentType": upstream.headers.get("Content-Type"),
                         "contentLength": upstream.headers.get("Content-Length")}])
    finally:
        # Closed, not released: a connection given back with its body unread answered the next
        # request with that body (the twin's occasional errors). The provider closes it too.
        upstream.close()
