"""The development stack's demo: what `make run` publishes, and `make demo` (ocean-provider demo),
a consumer that shows the mission end to end against the running provider.

Published by `make run`, once per chain (recorded in .run/demo.json):
  * an access dataset: the demo CSV, downloadable by anyone holding an order;
  * a compute dataset: the same CSV, never downloadable, open only to the trusted algorithm;
  * the demo algorithm: per-column statistics of every CSV it is given (its output is plainly
    derived from the data and is not the data).

The consumer (development account 2) orders and downloads the access dataset, orders and runs
the algorithm on the compute dataset, follows the job's status and live log, prints the
result, shows that the compute dataset itself cannot be downloaded, and verifies the job's
signed receipt. One line per step, with the transaction or job it made; exit code 0 only if
every step did what it should.
"""
from __future__ import annotations

import hashlib
import json
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import requests
from eth_account.signers.local import LocalAccount

from provider.auth.messages import signed_message
from provider.auth.signatures import sign_message
from provider.compute import status as st
from provider.compute.receipts import verify as verify_receipt
from provider.compute.validation import container_section_checksum
from provider.devtools.consumer import mint, start_order

DEMO_CSV = "x,y\n" + "".join(f"{i},{i * i}\n" for i in range(100))
DEMO_ENVIRONMENT = "ocean-compute"
# The container the algorithm declares; the environment runs python:3* images with the host's
# python3 inside the sandbox (config.ini runtimes), so no image is pulled.
CONTAINER = {"entrypoint": "python3 $ALGO", "image": "python", "tag": "3.11",
             "checksum": "sha256:" + hashlib.sha256(b"ocean-provider demo python:3.11").hexdigest()}
ALGORITHM = b'''"""Per-column statistics of every CSV input: count, min, max, mean, standard deviation."""
import csv, json, math, os, sys

inputs = "/data/inputs"
report = {}
for did in json.loads(os.environ.get("DIDS", "[]")):
    folder = os.path.join(inputs, did.removeprefix("did:op:"))
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name), newline="") as handle:
            rows = list(csv.reader(handle))
        header, body = rows[0], rows[1:]
        print(f"{did[:20]}... file {name}: {len(body)} rows, columns {header}", flush=True)
        columns = {}
        for index, column in enumerate(header):
            values = [float(row[index]) for row in body if len(row) > index and row[index].strip()]
            mean = sum(values) / len(values)
            columns[column] = {"count": len(values), "min": min(values), "max": max(values), "mean": mean,
                               "std": math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))}
            print(f"  {column}: mean {mean:.2f}", flush=True)
        report[f"{did}/{name}"] = columns
with open("/data/outputs/stats.json", "w") as out:
    json.dump(report, out, indent=2)
print("wrote /data/outputs/stats.json", flush=True)
'''


# ---- publishing (make run) ---------------------------------------------------------------------

def write_files(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "demo.csv").write_text(DEMO_CSV)
    (folder / "stats.py").write_bytes(ALGORITHM)


def publish_demo(publisher, w3, owner: LocalAccount, files_url: str, record: Path) -> dict:
    """The three demo assets, published once per chain and reused while the chain keeps them."""
    if record.exists():
        demo = json.loads(record.read_text())
        if (demo.get("chainId") == w3.eth.chain_id and "algorithm" in demo
                and len(w3.eth.get_code(demo["compute"]["nftAddress"])) > 0):
            return demo
    csv_file = [{"type": "url", "url": f"{files_url}/demo.csv", "method": "GET"}]
    access = publisher.publish(owner, csv_file, metadata=_metadata("dataset", "Demo dataset (download)",
                                                                   "x and x squared, 100 rows"))
    nft, dt = publisher.create_nft_with_datatoken(owner)
    algorithm_ddo = publisher.make_ddo(
        nft, dt, [{"type": "url", "url": f"{files_url}/stats.py", "method": "GET"}],
        metadata=_metadata("algorithm", "Column statistics", "count, min, max, mean and std of every column",
                           algorithm={"language": "python", "version": "0.1", "container": CONTAINER}))
    publisher.set_metadata(owner, nft, algorithm_ddo, 2)
    nft, dt = publisher.create_nft_with_datatoken(owner)
    trusted = {"did": algorithm_ddo["id"], "filesChecksum": hashlib.sha256(ALGORITHM).hexdigest(),
               "containerSectionChecksum": container_section_checksum(CONTAINER)}
    compute_ddo = publisher.make_ddo(
        nft, dt, csv_file, service_type="compute",
        metadata=_metadata("dataset", "Demo dataset (compute only)", "the same rows; algorithms travel to it"),
        compute={"allowRawAlgorithm": False, "allowNetworkAccess": False,
                 "publisherTrustedAlgorithms": [trusted], "publisherTrustedAlgorithmPublishers": []})
    publisher.set_metadata(owner, nft, compute_ddo, 2)
    demo = {"chainId": w3.eth.chain_id,
            "access": {"did": access.did, "nftAddress": access.nft_address, "datatoken": access.datatoken_address},
            "compute": {"did": compute_ddo["id"], "nftAddress": nft, "datatoken": dt},
            "algorithm": {"did": algorithm_ddo["id"], "datatoken": algorithm_ddo["services"][0]["datatokenAddress"]}}
    record.write_text(json.dumps(demo, indent=2))
    return demo


def fund_consumer(w3, owner: LocalAccount, demo: dict, consumer: str) -> None:
    """Datatokens for the demo consumer (each order spends one)."""
    for asset in ("access", "compute", "algorithm"):
        mint(w3, owner, demo[asset]["datatoken"], consumer, 100 * 10**18)


def _metadata(kind: str, name: str, description: str, **extra) -> dict:
    return {"created": "2026-12-01T00:00:00Z", "updated": "2026-12-01T00:00:00Z", "type": kind, "name": name,
            "description": description, "author": "ocean-provider demo", "license": "CC0", **extra}


# ---- the consumer (make demo) ------------------------------------------------------------------

class StepFailed(Exception):
    pass


@dataclass
class Demo:
    provider_url: str
    w3: object
    consumer: LocalAccount
    assets: dict
    out: Callable[[str], None] = print
    timeout: float = 180

    def __post_init__(self):
        self.http = requests.Session()
        self.key = "0x" + bytes(self.consumer.key).hex()
        self._nonce = int(time.time() * 1000)
        self.steps: list[tuple[str, bool]] = []

    # -- plumbing
    def nonce(self) -> int:
        self._nonce = max(self._nonce + 1, int(time.time() * 1000))
        return self._nonce

    def sign(self, action: str, **fields) -> dict:
        nonce = self.nonce()
        return {"nonce": nonce, "signature": sign_message(self.key, signed_message(action, **fields) + str(nonce))}

    def call(self, method: str, path: str, expect: int | tuple = 200, **kwargs) -> requests.Response:
        reply = self.http.request(method, self.provider_url + path, timeout=30, **kwargs)
        expected = (expect,) if isinstance(expect, int) else expect
        if reply.status_code not in expected:
            raise StepFailed(f"{method} {path.split('?')[0]} answered {reply.status_code}: {reply.text[:300]}")
        return reply

    def step(self, title: str, action: Callable[[], str]) -> bool:
        started = time.monotonic()
        try:
            detail = action()
        except StepFailed as exc:
            self.out(f"  FAIL  {title}: {exc}")
            self.steps.append((title, False))
            return False
        except (requests.RequestException, ValueError, KeyError) as exc:
            self.out(f"  FAIL  {title}: {type(exc).__name__}: {exc}")
            self.steps.append((title, False))
            return False
        self.out(f"  ok    {title} ({time.monotonic() - started:.1f} s): {detail}")
        self.steps.append((title, True))
        return True

    # -- the story
    def run(self) -> int:
        access, compute, algorithm = self.assets["access"], self.assets["compute"], self.assets["algorithm"]
        self.out(f"demo consumer {self.consumer.address} against {self.provider_url}")
        state: dict = {}
        ok = self.step("provider is up", lambda: self.provider_up(state))
        ok = ok and self.step("assets are indexed", lambda: self.indexed([access, compute, algorithm]))
        ok = ok and self.step("sign in: an auth token for polling", lambda: self.sign_in(state))
        if ok:
            self.step("order the access dataset", lambda: self.order_access(access, state))
            if "access_tx" in state:
                self.step("download it", lambda: self.download(access, state["access_tx"]))
            ordered = self.step("order the compute dataset and the algorithm",
                                lambda: self.order_compute(compute, algorithm, state))
            if ordered and self.step("start the algorithm on the data", lambda: self.start(compute, algorithm, state)):
                if self.step("follow it to the end", lambda: self.follow(state)):
                    self.step("fetch the result", lambda: self.result(state))
                    self.step("verify the job's receipt", lambda: self.receipt(state))
            if "compute_tx" in state:
                self.step("download the compute dataset itself: refused",
                          lambda: self.refused_download(compute, state["compute_tx"]))
        failed = [title for title, passed in self.steps if not passed]
        self.out(f"{len(self.steps) - len(failed)} of {len(self.steps)} steps worked"
                 + (f"; failed: {', '.join(failed)}" if failed else ""))
        return 0 if ok and not failed else 1

    def provider_up(self, state: dict) -> str:
        root = self.call("GET", "/").json()
        state["provider_address"] = root["providerAddress"]
        return f"provider address {root['providerAddress']}, chains {root['chainIds']}"

    def sign_in(self, state: dict) -> str:
        """Polling and the live log run side by side: they use a token, since two threads'
        signed requests could reach the provider with their nonces out of order."""
        expiration = int(time.time()) + 3600
        token = self.call("GET", "/api/services/createAuthToken", params={
            "address": self.consumer.address, "expiration": expiration,
            **self.sign("createAuthToken", address=self.consumer.address)}).json()["token"]
        state["token"] = {"AuthToken": token}
        return "token valid for an hour (signed createAuthToken, nonce consumed)"

    def indexed(self, assets: list[dict]) -> str:
        deadline = time.monotonic() + 60
        for asset in assets:
            while self.http.get(f"{self.provider_url}/api/aquarius/assets/ddo/{asset['did']}", timeout=10).status_code != 200:
                if time.monotonic() > deadline:
                    raise StepFailed(f"{asset['did']} is not in the index")
                time.sleep(0.5)
        return f"{len(assets)} DDOs served by the built-in indexer"

    def order_access(self, asset: dict, state: dict) -> str:
        fee = self.call("GET", "/api/services/initialize", params={
            "documentId": asset["did"], "serviceId": "0", "consumerAddress": self.consumer.address}).json()
        state["access_tx"] = start_order(self.w3, self.consumer, asset["datatoken"], 0, fee["providerFee"])
        return f"startOrder tx {state['access_tx']}"

    def download(self, asset: dict, order_tx: str) -> str:
        reply = self.call("GET", "/api/services/download", params={
            "documentId": asset["did"], "serviceId": "0", "consumerAddress": self.consumer.address,
            "transferTxId": order_tx, "fileIndex": 0, **self.sign("download", documentId=asset["did"])})
        text = reply.content.decode()
        return f"{len(reply.content)} bytes, {text.count(chr(10))} lines, first row {text.splitlines()[1]!r}"

    def order_compute(self, compute: dict, algorithm: dict, state: dict) -> str:
        reply = self.call("POST", "/api/services/initializeCompute", json={
            "datasets": [{"documentId": compute["did"], "serviceId": "1"}],
            "algorithm": {"documentId": algorithm["did"], "serviceId": "0"},
            "compute": {"env": DEMO_ENVIRONMENT, "validUntil": int(time.time()) + 3600},
            "consumerAddress": self.consumer.address}).json()
        provider = state["provider_address"]
        state["compute_tx"] = start_order(self.w3, self.consumer, compute["datatoken"], 0,
                                          reply["datasets"][0]["providerFee"], consumer=provider)
        state["algorithm_tx"] = start_order(self.w3, self.consumer, algorithm["datatoken"], 0,
                                            reply["algorithm"]["providerFee"], consumer=provider)
        return f"dataset order {state['compute_tx']}, algorithm order {state['algorithm_tx']}"

    def start(self, compute: dict, algorithm: dict, state: dict) -> str:
        job = self.call("POST", "/api/services/compute", json={
            "dataset": {"documentId": compute["did"], "serviceId": "1", "transferTxId": state["compute_tx"]},
            "algorithm": {"documentId": algorithm["did"], "serviceId": "0", "transferTxId": state["algorithm_tx"]},
            "environment": DEMO_ENVIRONMENT, "consumerAddress": self.consumer.address,
            **self.sign("computeStart", consumerAddress=self.consumer.address, dataset_documentId=compute["did"])
        }).json()[0]
        state["job"] = job["jobId"]
        return f"job {job['jobId']} ({job['statusText']})"

    def status(self, job_id: str, token: dict) -> dict:
        return self.call("GET", "/api/services/compute", headers=token, params={
            "consumerAddress": self.consumer.address, "jobId": job_id}).json()[0]

    def follow(self, state: dict) -> str:
        job_id = state["job"]
        log_lines: list[str] = []
        reader = threading.Thread(target=self._read_live_log, args=(job_id, log_lines, state["token"]), daemon=True)
        reader.start()
        deadline, last, started = time.monotonic() + self.timeout, None, time.monotonic()
        while True:
            current = self.status(job_id, state["token"])
            if current["statusText"] != last:
                last = current["statusText"]
                self.out(f"        {time.monotonic() - started:5.1f} s  status {current['status']}: {last}")
            if current["status"] == st.FINISHED or st.is_terminal(current["status"]):
                break
            if time.monotonic() > deadline:
                raise StepFailed(f"still {last} after {self.timeout:.0f} s")
            time.sleep(0.3)
        reader.join(timeout=10)
        state["results"] = current.get("results") or []
        if current["status"] != st.FINISHED:
            raise StepFailed(f"ended with status {current['status']} ({current['statusText']})")
        return f"finished; {len(log_lines)} live log lines, {len(state['results'])} results"

    def _read_live_log(self, job_id: str, lines: list[str], token: dict) -> None:
        """The algorithm's output as it runs (computeStreamableLogs waits until it starts)."""
        for _ in range(100):
            try:
                reply = requests.get(f"{self.provider_url}/api/services/computeStreamableLogs", stream=True,
                                     timeout=60, headers=token,
                                     params={"consumerAddress": self.consumer.address, "jobId": job_id})
            except requests.RequestException:
                return
            if reply.status_code == 200:
                for line in reply.iter_lines(decode_unicode=True):
                    if line:
                        lines.append(line)
                        self.out(f"        log | {line}")
                return
            time.sleep(0.3)  # not running yet

    def result_file(self, state: dict, kind: str) -> tuple[dict, bytes]:
        entry = next((r for r in state["results"] if r.get("type") == kind), None)
        if entry is None:
            raise StepFailed(f"the job lists no {kind} ({[r.get('filename') for r in state['results']]})")
        index = entry["index"]
        reply = self.call("GET", "/api/services/computeResult", params={
            "consumerAddress": self.consumer.address, "jobId": state["job"], "index": index,
            **self.sign("computeResult", consumerAddress=self.consumer.address, jobId=state["job"], index=index)})
        return entry, reply.content

    def result(self, state: dict) -> str:
        entry, data = self.result_file(state, "output")
        state["output"] = (entry["filename"], data)
        stats = json.loads(data)
        lines = [f"{entry['filename']} ({len(data)} bytes):"]
        for source, columns in stats.items():
            for column, figures in columns.items():
                lines.append(f"{column}: count {figures['count']}, min {figures['min']:g}, max {figures['max']:g}, "
                             f"mean {figures['mean']:.2f}, std {figures['std']:.2f}")
        return "\n          ".join(lines)

    def receipt(self, state: dict) -> str:
        """Offline, as `ocean-provider receipt verify` does: signature, every field, and the
        output just fetched hashed against what the receipt names."""
        _, data = self.result_file(state, "receipt")
        document = json.loads(data)
        name, output = state["output"]
        with tempfile.TemporaryDirectory() as folder:
            (Path(folder) / Path(name).name).write_bytes(output)
            problems = verify_receipt(document, Path(folder), signer=state["provider_address"])
        if problems:
            raise StepFailed("; ".join(problems))
        body = document["receipt"]
        return (f"signed by {state['provider_address']}; {Path(name).name} sha256 "
                f"{hashlib.sha256(output).hexdigest()[:16]}... as named; wall {body['usage']['wallSeconds']} s, "
                f"exit {body['termination']['exitCode']}")

    def refused_download(self, compute: dict, order_tx: str) -> str:
        reply = self.call("GET", "/api/services/download", expect=(400, 401, 403), params={
            "documentId": compute["did"], "serviceId": "1", "consumerAddress": self.consumer.address,
            "transferTxId": order_tx, "fileIndex": 0, **self.sign("download", documentId=compute["did"])})
        return f"{reply.status_code} {reply.json().get('error', reply.text)[:120]!r}"


def main(provider_url: str, record: Path, rpc_url: str, consumer: LocalAccount, console_url: str | None = None,
         out: Callable[[str], None] = print) -> int:
    from provider.chain.client import make_web3

    if not record.exists():
        out(f"no demo assets recorded in {record}: start the stack with `make run` first")
        return 2
    demo = Demo(provider_url.rstrip("/"), make_web3(rpc_url), consumer, json.loads(record.read_text()), out=out)
    code = demo.run()
    if console_url:
        out(f"operator console: {console_url}")
    return code

