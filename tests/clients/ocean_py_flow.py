"""End-to-end flow with ocean.py (ocean-lib 3.1.2), unchanged, against this provider.

Run by tests/clients/test_ocean_py.py with the Python 3.10 virtual environment that has
ocean-lib installed (it pins web3 6; this project uses web3 7). The provider is both
PROVIDER_URL and METADATA_CACHE_URI: there is no Aquarius. Prints one JSON line with what
happened; the test asserts on it.

Environment: NETWORK_URL, PROVIDER_URL, ADDRESS_FILE, PUBLISHER_KEY, CONSUMER_KEY,
DATA_URL, ALGORITHM_URL, DOWNLOADS.
"""
import json
import os
import time

from eth_account import Account
from web3 import Web3

from ocean_lib.example_config import get_config_dict
from ocean_lib.models.compute_input import ComputeInput
from ocean_lib.ocean.ocean import Ocean

env = os.environ
steps = {}


def step(name, value=True):
    steps[name] = value
    print(f"ocean.py: {name}", flush=True)


config = get_config_dict(env["NETWORK_URL"])
config["PROVIDER_URL"] = env["PROVIDER_URL"]
config["METADATA_CACHE_URI"] = env["PROVIDER_URL"]
ocean = Ocean(config)
publisher = Account.from_key(env["PUBLISHER_KEY"])
consumer = Account.from_key(env["CONSUMER_KEY"])
ten = Web3.to_wei(10, "ether")

# ---- publish and resolve a dataset, order it, download it ---------------------------------
data_nft, datatoken, ddo = ocean.assets.create_url_asset("ocean.py data", env["DATA_URL"], {"from": publisher})
assert ddo is not None, "publish: the provider never served the DDO"
step("published", ddo.did)
resolved = ocean.assets.resolve(ddo.did)
assert resolved.did == ddo.did and resolved.services[0].service_endpoint == env["PROVIDER_URL"]
step("resolved")

datatoken.mint(consumer.address, ten, {"from": publisher})
order_tx = ocean.assets.pay_for_access_service(ddo, {"from": consumer})
step("ordered", order_tx.hex() if hasattr(order_tx, "hex") else str(order_tx))
folder = ocean.assets.download_asset(ddo, consumer, env["DOWNLOADS"], order_tx)
files = [os.path.join(folder, name) for name in sorted(os.listdir(folder))]
step("downloaded", [open(path, "rb").read().decode() for path in files])

# ---- an asset ocean.js 8 published: ocean.py consumes it from the same provider -------------
if env.get("CROSS_DID"):
    other = ocean.assets.resolve(env["CROSS_DID"])
    service = next(s for s in other.services if s.type == "access")
    ocean.get_datatoken(service.datatoken).mint(consumer.address, ten, {"from": Account.from_key(env["CROSS_PUBLISHER_KEY"])})
    cross_tx = ocean.assets.pay_for_access_service(other, {"from": consumer}, service=service)
    os.makedirs(env["DOWNLOADS"] + "/cross", exist_ok=True)
    cross_folder = ocean.assets.download_asset(other, consumer, env["DOWNLOADS"] + "/cross", cross_tx, service=service)
    step("cross_downloaded", [open(os.path.join(cross_folder, name), "rb").read().decode()
                              for name in sorted(os.listdir(cross_folder))])
if env.get("ONLY_ACCESS"):
    print("RESULT " + json.dumps(steps), flush=True)
    raise SystemExit(0)

# ---- update: the provider's DDO cache follows MetadataUpdated (event.tx) --------------------
ddo.metadata["description"] = "updated by ocean.py"
ddo = ocean.assets.update(ddo, {"from": publisher})
assert ocean.assets.resolve(ddo.did).metadata["description"] == "updated by ocean.py"
step("updated")

# ---- compute: dataset with a compute service, a published algorithm it trusts -------------
cdata_nft, cdatatoken, cddo = ocean.assets.create_url_asset(
    "ocean.py compute data", env["DATA_URL"], {"from": publisher}, with_compute=True)
algo_nft, algo_dt, algo_ddo = ocean.assets.create_algo_asset(
    "ocean.py algorithm", env["ALGORITHM_URL"], {"from": publisher},
    image="python", tag="3.11-slim", checksum="sha256:" + "ab" * 32)
compute_service = cddo.services[1]
compute_service.add_publisher_trusted_algorithm(algo_ddo)
cddo = ocean.assets.update(cddo, {"from": publisher})
step("compute_published", [cddo.did, algo_ddo.did])

cdatatoken.mint(consumer.address, ten, {"from": publisher})
algo_dt.mint(consumer.address, ten, {"from": publisher})
compute_service = cddo.services[1]
environment = ocean.compute.get_free_c2d_environment(compute_service.service_endpoint, cddo.chain_id)
step("environment", environment["id"])


def order_and_start(custom=None, inputs=None):
    """New compute inputs, or (`inputs`) the ones a job already used, as ocean.py documents
    for a second job: pay_for_compute_service sees their order and reuses it."""
    dataset, algorithm = inputs or (ComputeInput(cddo, compute_service), ComputeInput(algo_ddo, algo_ddo.services[0]))
    datasets, algorithm = ocean.assets.pay_for_compute_service(
        datasets=[dataset], algorithm_data=algorithm, consume_market_order_fee_address=consumer.address,
        tx_dict={"from": consumer}, compute_environment=environment["id"],
        valid_until=int(time.time()) + 3600, consumer_address=environment["consumerAddress"])
    job = ocean.compute.start(consumer, datasets[0], environment["id"], algorithm, algorithm_algocustomdata=custom)
    order_and_start.last_inputs = (datasets[0], algorithm)
    return job


def wait(job_id, until, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        status = ocean.compute.status(cddo, compute_service, job_id, consumer)
        if until(status):
            return status
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} stuck: {status}")


job_id = order_and_start()
step("job_started", job_id)
status = wait(job_id, lambda s: s["status"] == 70)
step("job_finished", {"status": status["status"], "results": [r["type"] for r in status["results"]]})
output = ocean.compute.compute_job_result_logs(cddo, compute_service, job_id, consumer)
step("job_output", [part.decode() for part in output])
logs = ocean.compute.compute_job_result_logs(cddo, compute_service, job_id, consumer, "algorithmLog")
step("job_algorithm_log", [part.decode() for part in logs])
first = ocean.compute.result(cddo, compute_service, job_id, 0, consumer)
step("job_result_0_bytes", len(first))
receipt = ocean.compute.compute_job_result_logs(cddo, compute_service, job_id, consumer, "receipt")
step("job_receipt", [part.decode() for part in receipt])

# ---- a second job with the same compute inputs (ocean.py's documented reuse) ---------------
used_order = order_and_start.last_inputs[0].transfer_tx_id
job_id = order_and_start(inputs=order_and_start.last_inputs)
reused = order_and_start.last_inputs[0].transfer_tx_id
status = wait(job_id, lambda s: s["status"] >= 70 or s["status"] in (31, 32, 41, 42, 62))
step("reused_inputs_job", {"status": status["status"], "new_order": str(reused) != str(used_order)})

# ---- stop a running job -------------------------------------------------------------------
job_id = order_and_start({"sleep": 60})
wait(job_id, lambda s: s["status"] == 40)
stopped = ocean.compute.stop(cddo, compute_service, job_id, consumer)
step("stop_answer", {"ok": stopped["ok"], "status": stopped["status"]})
final = wait(job_id, lambda s: s["status"] >= 70 or s["status"] in (31, 32, 41, 42, 62))
step("stopped", {"status": final["status"], "stopreq": final.get("stopreq")})

print("RESULT " + json.dumps(steps), flush=True)
