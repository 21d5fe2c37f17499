"""Resource-priced compute, the pure parts: environments as configured, admission with shared
resources, queue expiry, the node views of one job record, and what a job owes at the end."""
import configparser
from decimal import Decimal as D
from types import SimpleNamespace

import pytest

from provider.compute import status as st
from provider.compute.environments import load_environments
from provider.compute.node_view import environment_view, job_view, node_results, node_status
from provider.compute.priced import PricedRequest, job_duration
from provider.compute.scheduling import admit, assign_gpus, expired_in_queue, held_resources
from provider.compute.settlement import amount_due, billable_seconds
from provider.errors import ConfigurationError, InvalidRequest

CONFIG = """
[compute.env.gpu]
cpu = 1
ram_gb = 1
disk_gb = 1
max_jobs = 3
max_jobs_per_consumer = 2
price_per_minute = 1
resources = gpu:total=2,min=0,max=1,type=gpu; cpu:total=4,min=1,max=2,ram.min=1,ram.max=4; ram:total=8,min=1,max=8; disk:total=10,min=1,max=5
prices = gpu=3, cpu=1, ram=0.5
min_job_duration = 30
access = ["0x00000000000000000000000000000000000000aa"]
free_max_job_duration = 60
free_max_jobs = 1
free_resources = cpu=1, ram=1, disk=1
free_access = ["0x00000000000000000000000000000000000000bb"]

[compute.env.classic]
cpu = 2
ram_gb = 2
disk_gb = 3
max_jobs = 2
price_per_minute = 4
"""


def environments(text=CONFIG):
    parser = configparser.ConfigParser()
    parser.read_string(text)
    return {env.id: env for env in load_environments(parser)}


def job(env="gpu", owner="0xA", status=st.QUEUED, created=0.0, spec=None, **extra):
    values = dict(job_id=f"j{created}", owner=owner, environment=env, status=status, date_created=created,
                  date_started=None, date_finished=None, stop_requested=0, max_duration=60, spec=spec or {},
                  results=None, termination=None, error=None, did="did:op:1", agreement_id="x")
    values.update(extra)
    return SimpleNamespace(**values)


def test_resources_prices_and_tiers_as_configured():
    env = environments()["gpu"]
    assert [(r.id, r.total, r.min, r.job_max, r.type) for r in env.offered_resources] == [
        ("gpu", D(2), D(0), D(1), "gpu"), ("cpu", D(4), D(1), D(2), "cpu"), ("ram", D(8), D(1), D(8), "ram"),
        ("disk", D(10), D(1), D(5), "disk")]
    assert env.offered_resources[1].constraints[0].id == "ram"
    assert env.unit_prices == {"gpu": D(3), "cpu": D(1), "ram": D("0.5")}
    assert env.admits("0x00000000000000000000000000000000000000AA", free=False)
    assert not env.admits("0x00000000000000000000000000000000000000bb", free=False)
    assert env.admits("0x00000000000000000000000000000000000000bb", free=True)
    assert [(r.id, r.job_max) for r in env.free_resources()] == [("gpu", D(0)), ("cpu", D(1)), ("ram", D(1)),
                                                                 ("disk", D(1))]


def test_classic_keys_alone_give_the_same_price_for_a_classic_sized_job():
    env = environments()["classic"]
    assert [(r.id, r.total, r.job_max) for r in env.offered_resources] == [
        ("cpu", D(4), D(2)), ("ram", D(4), D(2)), ("disk", D(6), D(3))]
    assert env.unit_prices == {"cpu": D(2)}  # 4 per minute over 2 cpus
    assert env.free_tier is None  # priced: no free tier unless configured
    assert environments()["classic"].consumer_job_limit == 1  # max_jobs - 1


@pytest.mark.parametrize("line", ["resources = cpu:min=1", "resources = cpu:total=x", "prices = cpu=-1",
                                  "access = [1]", "free_access = not json", "resources = cpu:total=1,cpu.avg=2"])
def test_a_bad_environment_is_a_configuration_error(line):
    with pytest.raises(ConfigurationError):
        environments(f"[compute.env.bad]\nfree_max_job_duration = 5\n{line}\n")


def test_admission_holds_resources_and_no_owner_takes_every_slot():
    env = environments()["gpu"]
    big = {"resources": {"cpu": 2, "ram": 4, "disk": 1}}
    queued = [job(owner="0xA", created=1, spec=big), job(owner="0xA", created=2, spec=big),
              job(owner="0xA", created=3, spec=big), job(owner="0xB", created=4, spec=big)]
    started = admit(queued, [], [env])
    # 0xA may run 2 at once; the two of them hold all 4 cpus, so 0xB waits for resources
    assert [j.date_created for j in started] == [1, 2]
    small = {"resources": {"cpu": 1, "ram": 1, "disk": 1}}
    running = [job(owner="0xA", status=st.RUNNING, spec=big), job(owner="0xA", status=st.RUNNING, spec=small)]
    waiting = [job(owner="0xA", created=5, spec=small), job(owner="0xB", created=6, spec=small)]
    # 0xA is at its limit: 0xB's job goes first, on the one cpu left
    assert [j.owner for j in admit(waiting, running, [env])] == ["0xB"]
    # free jobs also need a free-tier slot
    free = {"resources": {"cpu": 1, "ram": 1, "disk": 1}, "free": True}
    assert len(admit([job(owner="0xC", created=7, spec=free), job(owner="0xD", created=8, spec=free)], [],
                     [env])) == 1
    # a classic job holds the environment's per-job cpu, ram and disk
    assert held_resources(job(env="classic"), environments()["classic"]) == {"cpu": D(2), "ram": D(2), "disk": D(3)}


def test_a_job_expires_in_the_queue_only_when_it_asked_to():
    waited = job(created=0, spec={"queueMaxWaitTime": 10})
    patient = job(created=0, spec={"queueMaxWaitTime": 0})
    assert expired_in_queue([waited, patient], now=11) == [waited]
    assert expired_in_queue([waited], now=9) == []


def test_one_record_two_dialects():
    record = job(status=st.FINISHED, spec={"dialect": "node", "resources": {"cpu": 1}, "prices": {"cpu": "1"},
                                           "payment": {"chainId": 8996, "token": "0xT", "lockTx": "0x1", "claimTx": None,
                                                       "cancelTx": None, "cost": "0"}},
                 results=[{"filename": "configuration.log", "filesize": 1, "type": "configurationLog", "path": "p/c"},
                          {"filename": "algorithm.log", "filesize": 1, "type": "algorithmLog", "path": "p/a"},
                          {"filename": "a.json", "filesize": 1, "type": "output", "path": "d/a"},
                          {"filename": "publish.log", "filesize": 1, "type": "publishLog", "path": "p/p"}])
    assert node_status(record) == st.SETTLING and job_view(record, full=True)["statusText"] == "Job settling"
    assert node_results(record) == []  # nothing is served before it is settled
    record.spec.update(settled=True, archive={"filename": "outputs.tar", "filesize": 9, "type": "output",
                                              "path": "p/outputs.tar"})
    view = job_view(record, full=True)
    assert view["status"] == 70 and [r["filename"] for r in view["results"]] == [
        "configuration.log", "algorithm.log", "outputs.tar", "publish.log"]
    assert [r["index"] for r in view["results"]] == [0, 1, 2, 3]
    assert view["payment"]["lockTx"] == "0x1" and view["resources"] == [{"id": "cpu", "amount": 1, "price": "1"}]
    assert set(job_view(record, full=False)) == {"owner", "jobId", "dateCreated", "dateFinished", "status",
                                                 "statusText", "environment", "isFree", "stopRequested"}
    queued = job(status=st.QUEUED, spec={"dialect": "node"})
    assert job_view(queued, full=False)["statusText"] == "Job queued"  # classic clients read "Warming up"


def test_the_listing_counts_what_jobs_hold():
    env = environments()["gpu"]
    live = [job(status=st.RUNNING, date_started=0, spec={"resources": {"cpu": 2, "ram": 2, "disk": 1}}),
            job(status=st.QUEUED, created=5, spec={"resources": {"cpu": 1, "ram": 1, "disk": 1}, "free": True})]
    view = environment_view(env, fee_tokens={8996: "0xT"}, consumer_address="0xP", live_jobs=live, now=10)
    assert {r["id"]: r["inUse"] for r in view["resources"]} == {"gpu": 0, "cpu": 3, "ram": 3, "disk": 2}
    assert view["fees"] == {"8996": [{"feeToken": "0xT", "prices": [{"id": "gpu", "price": 3}, {"id": "cpu", "price": 1},
                                                                    {"id": "ram", "price": 0.5}]}]}
    assert (view["runningJobs"], view["queuedFreeJobs"], view["queMaxWaitTimeFree"]) == (1, 1, 5)
    assert view["resources"][1]["constraints"] == [{"id": "ram", "min": 1, "max": 4}]


def test_what_a_job_owes():
    spec = {"payment": {"token": "0xT", "amount": str(10 * 10 ** 18)}, "prices": {"cpu": "1", "ram": "0.5"},
            "resources": {"cpu": 2, "ram": 2}}
    ran = job(spec=spec, max_duration=300, termination={"algoStart": 100.0, "algoStop": 190.0})
    assert billable_seconds(ran) == 90
    assert amount_due(ran, 60, 18) == 6 * 10 ** 18  # 3 per minute, 90 s is 2 minutes
    quick = job(spec=spec, max_duration=300, termination={"algoStart": 100.0, "algoStop": 101.0})
    assert amount_due(quick, 60, 18) == 3 * 10 ** 18  # the environment's minimum minute
    # the provider restarted under it (no stop time), or it never ran: nothing is owed
    assert amount_due(job(spec=spec, termination={"algoStart": 100.0}), 60, 18) == 0
    assert amount_due(job(spec=spec, termination=None), 60, 18) == 0
    # never more than the lock
    long = job(spec=spec | {"payment": {"token": "0xT", "amount": "5"}}, max_duration=300,
               termination={"algoStart": 0.0, "algoStop": 280.0})
    assert amount_due(long, 60, 18) == 5


def test_durations_and_requests():
    assert job_duration(None, 600, 60) == 600
    assert job_duration(1_900_000_000, 600, 60) == 600  # ocean.js's tests pass a unix time
    assert job_duration(10, 600, 60) == 60
    assert job_duration(120, 600, 60) == 120
    body = {"datasets": [{"documentId": "d"}], "algorithm": {}, "environment": "e",
            "consumerAddress": "0x" + "1" * 40, "payment": {"chainId": 8996, "token": "0x" + "2" * 40}}
    for change in ({"payment": {"chainId": 8996}}, {"metadata": {"x": "y" * 2000}}, {"datasets": "d"},
                   {"additionalViewers": ["nope"]}, {"maxJobDuration": "soon"}, {"payment": {"chainId": "x",
                                                                                            "token": "0x"}}):
        with pytest.raises(InvalidRequest):
            PricedRequest.parse(body | change, paid=True)
    assert PricedRequest.parse(body | {"algorithm": {"x": 1}}, paid=True).chain_id == 8996


GPU_ENV = """
[compute.env.gpus]
max_jobs = 3
resources = gpu:total=2,min=0,max=2; cpu:total=4,min=1,max=2; ram:total=8,min=1,max=4; disk:total=4,min=1,max=1
prices = gpu=5
gpu_devices = /dev/nvidia0, /dev/nvidia1
"""


def test_gpus_are_a_resource_and_each_device_goes_to_one_job():
    env = environments(GPU_ENV)["gpus"]
    one = job(env="gpus", spec={"resources": {"gpu": 1, "cpu": 1, "ram": 1, "disk": 1}})
    running = job(env="gpus", status=st.RUNNING, spec={"resources": {"gpu": 1, "cpu": 1, "ram": 1, "disk": 1},
                                                        "devices": ["/dev/nvidia0"]}, job_id="other")
    assert assign_gpus(one, env, []) == ["/dev/nvidia0"]
    assert assign_gpus(one, env, [running]) == ["/dev/nvidia1"]
    two = job(env="gpus", spec={"resources": {"gpu": 2, "cpu": 1, "ram": 1, "disk": 1}})
    assert admit([two], [running], [env]) == []  # one GPU left: it waits
    assert assign_gpus(job(env="gpus", spec={"resources": {"cpu": 1}}), env, []) == []
    with pytest.raises(ConfigurationError):  # more GPUs declared than devices named
        environments(GPU_ENV.replace("gpu:total=2", "gpu:total=3"))
    with pytest.raises(ConfigurationError):
        environments(GPU_ENV.replace("/dev/nvidia1", "/etc/shadow"))


def test_the_sandbox_binds_exactly_the_granted_gpus_and_kubernetes_requests_them():
    from pathlib import Path

    from provider.compute.k8s.manifests import JobResources, build_algorithm_job
    from provider.compute.sandbox import Limits, SandboxSpec, build_bwrap_args
    from provider.config import ClusterSettings

    spec = SandboxSpec(Path("/jobs/x/data"), "python3 a", {}, {}, False, Limits(1, 1, 1, 1, 1),
                       devices=("/dev/nvidia1", "/dev/nvidiactl"))
    args = build_bwrap_args(spec)
    binds = [args[i + 1] for i, a in enumerate(args) if a == "--dev-bind-try"]
    assert binds == ["/dev/nvidia1", "/dev/nvidiactl"]
    assert args.index("--dev") < args.index("--dev-bind-try") < args.index("--remount-ro")
    assert "--dev-bind-try" not in build_bwrap_args(SandboxSpec(Path("/j"), "x", {}, {}, False, Limits(1, 1, 1, 1, 1)))
    manifest = build_algorithm_job("job", {"image": "python", "tag": "3", "checksum": "sha256:" + "0" * 64}, "x", {},
                                   JobResources(cpu=1, memory_bytes=2 ** 30, disk_bytes=2 ** 30, gpus=2),
                                   ClusterSettings())
    container = manifest["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "2" == container["resources"]["requests"]["nvidia.com/gpu"]
