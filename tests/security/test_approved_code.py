"""Issue "compute guarantees", 1: what runs is what was approved. Before: initializeCompute and
start hashed one download of the algorithm, provisioning downloaded it again and ran whatever
arrived, so an origin serving the reviewed file to the checks and a copy-out script to the job
walked away with the raw dataset; and `DIDS` held `did:op:...` while the folders are bare hex."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from provider.compute import contract
from provider.compute import status as st
from provider.compute.k8s.manifests import JobResources, build_algorithm_job
from provider.config import ClusterSettings
from tests.integration.test_compute import ALGORITHM, CONTAINER

THIEF = b"import shutil, glob\nfor f in glob.glob('/data/inputs/*/0'): shutil.copy(f, '/data/outputs/stolen')\n"


class SwitchingOrigin:
    """Serves the reviewed algorithm for the first `honest` requests, then something else."""

    def __init__(self, honest: int):
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                server.requests += 1
                body = ALGORITHM if server.requests <= honest else THIEF
                self.send_response(200)
                self.send_header("Content-Type", "text/x-python")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def publish_algorithm_at(lab, url):
    nft, dt = lab.publisher.create_nft_with_datatoken(lab.chain.publisher_account)
    metadata = {"type": "algorithm", "name": "sum", "created": "2026-01-01T00:00:00Z", "description": "sums columns",
                "author": "Ocean", "license": "CC0",
                "algorithm": {"language": "python", "version": "0.1", "container": CONTAINER}}
    ddo = lab.publisher.make_ddo(nft, dt, [{"type": "url", "url": url, "method": "GET"}], metadata=metadata)
    lab.publisher.set_metadata(lab.chain.publisher_account, nft, ddo, 2)
    from provider.devtools.consumer import mint
    mint(lab.chain.w3, lab.chain.publisher_account, dt, lab.consumer.address)
    return ddo


def test_an_algorithm_that_changes_after_the_checks_never_runs(lab):
    switching = SwitchingOrigin(honest=2)  # initializeCompute and start each download it once
    try:
        algo = publish_algorithm_at(lab, switching.url + "/algo.py")
        dataset = lab.publish_dataset(trusted=[lab.trust(algo)])
        (tx,), algo_tx = lab.order_all([dataset], algo)
        response = lab.start(dataset, tx, {"documentId": algo["id"], "serviceId": "0", "transferTxId": algo_tx})
        assert response.status_code == 200, response.get_json()
        final = lab.wait(response.get_json()[0]["jobId"])
    finally:
        switching.stop()
    assert switching.requests == 3  # the job did fetch the other file
    assert final["status"] == st.ALGORITHM_PROVISIONING_FAILED, final
    assert "not the one checked" in final["error"]
    assert "stolen" not in [r["filename"] for r in final["results"]] and "algorithmLog" not in [
        r["type"] for r in final["results"]]


def test_an_algorithm_document_updated_after_start_does_not_change_what_runs(lab, origin):  # noqa: F811
    origin.add("honest.py", ALGORITHM, "text/x-python")
    origin.add("other.py", b"open('/data/outputs/other','w').write('other')\n", "text/x-python")
    algo = publish_algorithm_at(lab, origin.url + "/files/honest.py")
    dataset = lab.publish_dataset(trusted=[lab.trust(algo)], raw=True)
    # occupy the environment's one slot, so the job waits in the queue while the DDO changes
    (blocker_tx,), _ = lab.order_all([dataset], None)
    blocker = lab.start(dataset, blocker_tx, {"meta": {"rawcode": "import time\ntime.sleep(60)", "container": CONTAINER}})
    blocker_id = blocker.get_json()[0]["jobId"]
    lab.wait(blocker_id, until=lambda s: s["status"] == 40)
    (tx,), algo_tx = lab.order_all([dataset], algo)
    job_id = lab.start(dataset, tx, {"documentId": algo["id"], "serviceId": "0", "transferTxId": algo_tx,
                                     "algocustomdata": {"v": 1}}).get_json()[0]["jobId"]
    changed = lab.publisher.make_ddo(algo["nftAddress"], algo["services"][0]["datatokenAddress"],
                                     [{"type": "url", "url": origin.url + "/files/other.py", "method": "GET"}],
                                     metadata=algo["metadata"])
    lab.publisher.set_metadata(lab.chain.publisher_account, algo["nftAddress"], changed, 2)
    lab.client.application.extensions["provider"].indexers[0].sync()
    assert lab.signed("PUT", blocker_id).status_code == 200
    final = lab.wait(job_id, timeout=90)
    assert final["status"] == st.FINISHED, final
    names = [r["filename"] for r in final["results"] if r["type"] == "output"]
    assert names == ["result.json"]  # the approved algorithm ran, not the update


def test_an_algorithm_written_from_oceans_documentation_finds_its_inputs(lab):
    """`for did in DIDS: open(f"/data/inputs/{did}/0")`, as Ocean documents the contract."""
    code = ("import json, os\n"
            "dids = json.loads(os.environ['DIDS'])\n"
            "rows = [open(f'/data/inputs/{did}/0').read() for did in dids]\n"
            "ddos = [os.path.exists(f'/data/ddos/{did}') for did in dids]\n"
            "json.dump({'rows': rows, 'ddos': ddos, 'algo': os.environ['TRANSFORMATION_DID']},"
            " open('/data/outputs/out.json', 'w'))\n")
    dataset = lab.publish_dataset(raw=True)
    (tx,), _ = lab.order_all([dataset], None)
    job_id = lab.start(dataset, tx, {"meta": {"rawcode": code, "container": CONTAINER}}).get_json()[0]["jobId"]
    final = lab.wait(job_id)
    assert final["status"] == st.FINISHED, final
    out = json.loads(lab.result(job_id, [r["type"] for r in final["results"]].index("output")).data)
    assert out["rows"] == [lab.origin.files["data.csv"][0].decode()] and out["ddos"] == [True]
    assert out["algo"] == ""


def test_the_kubernetes_algorithm_pod_gets_the_same_contract():
    did = "did:op:" + "ab" * 32
    spec = {"inputs": [{"documentId": did}], "algorithm": {"documentId": "did:op:" + "cd" * 32}}
    environment = contract.job_environment(spec)
    assert json.loads(environment["DIDS"]) == ["ab" * 32] and environment["TRANSFORMATION_DID"] == "cd" * 32
    job = build_algorithm_job("j1", dict(CONTAINER), contract.entrypoint_for("python3 $ALGO"), environment,
                              JobResources(cpu=1, memory_bytes=2 ** 28, disk_bytes=2 ** 28), ClusterSettings())
    container = job["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["DIDS"] == environment["DIDS"]
    mounts = {m["mountPath"]: m.get("readOnly", False) for m in container["volumeMounts"]}
    assert mounts["/data/inputs"] is True and mounts["/data/ddos"] is True and mounts["/data/outputs"] is False
