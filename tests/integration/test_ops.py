"""Operations against the real chain and store: probes, metrics, request ids, logs, limits."""
import json
import time

from eth_account import Account

from provider.devtools.anvil import free_port
from tests.helpers import sign


def test_health_is_always_ok(client):
    assert client.get("/health").get_json() == {"status": "ok"}


def test_ready_when_chain_store_and_engine_work(client):
    r = client.get("/ready")
    body = r.get_json()
    assert r.status_code == 200 and body["ready"] is True
    assert body["checks"] == {"chain:8996": True, "store": True, "engine": True}


def test_not_ready_when_the_chain_is_down(make_app):
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    client = make_app(NETWORK_URL=url).test_client()
    r = client.get("/ready")
    assert r.status_code == 503 and r.get_json()["checks"]["chain:8996"] is False
    assert "127.0.0.1" not in r.get_data(as_text=True)
    assert client.get("/health").status_code == 200


# ---- metrics -------------------------------------------------------------------------------

def _samples(text: str) -> dict[str, float]:
    """`name{labels}` -> value, from the Prometheus text format."""
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            samples[key] = float(value)
    return samples


def test_metrics_count_requests_by_endpoint_and_status(client):
    before = _samples(client.get("/metrics").get_data(as_text=True))
    client.get("/api/services/nonce?userAddress=0x" + "ab" * 20)
    client.get("/api/services/nonce")  # 400: userAddress missing
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/plain")
    after = _samples(r.get_data(as_text=True))
    ok = 'provider_http_requests_total{endpoint="auth.nonce",method="GET",status="200"}'
    bad = 'provider_http_requests_total{endpoint="auth.nonce",method="GET",status="400"}'
    assert after[ok] - before.get(ok, 0) == 1
    assert after[bad] - before.get(bad, 0) == 1
    assert after['provider_http_request_duration_seconds_count{endpoint="auth.nonce"}'] >= 2


def test_metrics_report_index_lag_and_chain(client, dev_chain):
    samples = _samples(client.get("/metrics").get_data(as_text=True))
    assert samples['provider_chain_up{chain_id="8996"}'] == 1
    indexer = client.application.extensions["provider"].indexers[0]
    head = dev_chain.w3.eth.block_number
    assert samples['provider_chain_index_lag_blocks{chain_id="8996"}'] == head - indexer.last_indexed_block()
    indexer.sync()
    samples = _samples(client.get("/metrics").get_data(as_text=True))
    assert samples['provider_chain_index_lag_blocks{chain_id="8996"}'] == 0


def test_metrics_report_jobs_by_status_and_queue(client):
    from provider.compute.jobs import Job
    services = client.application.extensions["provider"]
    for index, status in enumerate([1, 1, 70]):
        services.compute.jobs.create(Job(
            job_id=f"job{index}", owner="0x" + "11" * 20, did="did:op:" + "0" * 64, algo_did="",
            agreement_id=f"0x{index:064x}", environment="ocean-compute", chain_id=8996, status=status,
            date_created=1.0, date_started=None, date_finished=None, phase_deadline=None, max_duration=60,
            stop_requested=0, runner=None, spec={}, results=None, termination=None, error=None))
    samples = _samples(client.get("/metrics").get_data(as_text=True))
    assert samples['provider_compute_jobs{environment="ocean-compute",status="1"}'] == 2
    assert samples['provider_compute_jobs{environment="ocean-compute",status="70"}'] == 1
    assert samples['provider_compute_queue_length{environment="ocean-compute"}'] == 2
    assert samples['provider_compute_queue_length{environment="ocean-compute-paid"}'] == 0


# ---- request ids and logs -------------------------------------------------------------------

def test_every_response_carries_a_request_id(client):
    first, second = client.get("/health"), client.get("/api/services/nonce")
    assert len(first.headers["X-Request-ID"]) == 32
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]
    assert second.status_code == 400 and second.headers["X-Request-ID"]


def test_every_answer_carries_cors_and_its_id_once(client):
    """Those headers are added below Flask, to whatever the view, an error handler or a
    preflight answered: each exactly once."""
    answers = [client.get("/"), client.get("/api/services/nonce"), client.get("/no/such/path"),
               client.options("/api/services/download", headers={"Access-Control-Request-Headers": "Authorization"}),
               client.head("/api/services/nonce?userAddress=0x" + "ab" * 20), client.head("/")]
    for answer in answers:
        for name in ("Access-Control-Allow-Origin", "Access-Control-Expose-Headers", "X-Request-ID"):
            assert len(answer.headers.getlist(name)) == 1, (answer.status_code, name)
    assert [a.status_code for a in answers] == [200, 400, 404, 204, 405, 200]
    assert "Content-Disposition" in answers[0].headers["Access-Control-Expose-Headers"]


def test_a_plain_incoming_request_id_is_kept_and_a_forged_one_replaced(client):
    assert client.get("/health", headers={"X-Request-ID": "edge-42.a"}).headers["X-Request-ID"] == "edge-42.a"
    forged = client.get("/health", headers={"X-Request-ID": 'x" {"level":"ERROR"}' + "a" * 80}).headers["X-Request-ID"]
    assert len(forged) == 32 and '"' not in forged


def test_json_log_lines_carry_the_request_id_and_no_query_string(make_app, capfd):
    client = make_app(LOG_LEVEL="INFO", LOG_FORMAT="json").test_client()
    secret = "0x" + "5e" * 65
    r = client.get(f"/api/services/nonce?userAddress=0x{'ab' * 20}&signature={secret}",
                   headers={"X-Request-ID": "trace-1"})
    assert r.status_code == 200
    lines = [json.loads(line) for line in capfd.readouterr().err.splitlines() if line.startswith("{")]
    entry = next(e for e in lines if e.get("request_id") == "trace-1" and e["logger"] == "provider.access_log")
    assert entry["path"] == "/api/services/nonce" and entry["status"] == 200 and entry["method"] == "GET"
    assert entry["level"] == "INFO" and entry["duration_ms"] >= 0
    assert all(secret not in json.dumps(e) for e in lines)


# ---- limits ----------------------------------------------------------------------------------

def test_a_body_over_the_limit_is_refused_with_413(make_app):
    client = make_app(MAX_BODY_BYTES=1000).test_client()
    r = client.post("/api/services/encrypt?chainId=8996", data=b"x" * 1001,
                    headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 413 and "1000 bytes" in r.get_json()["error"]
    r = client.post("/api/services/encrypt?chainId=8996", data=b"x" * 1000,
                    headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 201


def test_rate_limit_per_ip_answers_429_with_retry_after(make_app):
    client = make_app(RATE_LIMIT_PER_IP=5, RATE_LIMIT_PER_ADDRESS=0).test_client()
    codes = [client.get("/api/services/nonce?userAddress=0x" + "ab" * 20).status_code for _ in range(7)]
    assert codes == [200] * 5 + [429] * 2
    r = client.get("/")
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    assert "Too many requests" in r.get_json()["error"]
    # Another client IP is not affected; the probes are never limited.
    assert client.get("/", environ_base={"REMOTE_ADDR": "10.0.0.7"}).status_code == 200
    assert client.get("/health").status_code == 200 and client.get("/metrics").status_code == 200


def test_a_request_refused_before_its_view_is_still_counted_by_its_endpoint(make_app):
    client = make_app(RATE_LIMIT_PER_IP=1, RATE_LIMIT_PER_ADDRESS=0).test_client()
    refused = 'provider_http_requests_total{endpoint="auth.nonce",method="GET",status="429"}'
    before = _samples(client.get("/metrics").get_data(as_text=True)).get(refused, 0)
    codes = [client.get("/api/services/nonce?userAddress=0x" + "ab" * 20).status_code for _ in range(3)]
    assert codes == [200, 429, 429]
    assert _samples(client.get("/metrics").get_data(as_text=True))[refused] - before == 2


def test_rate_limit_per_address_follows_the_verified_account_across_ips_and_case(make_app):
    client = make_app(RATE_LIMIT_PER_IP=0, RATE_LIMIT_PER_ADDRESS=3).test_client()
    account = Account.create()
    forms = [account.address, account.address.lower(), account.address.upper().replace("0X", "0x"), account.address]
    codes = []
    for index, form in enumerate(forms):
        nonce = index + 1
        r = client.get("/api/services/createAuthToken", environ_base={"REMOTE_ADDR": f"10.0.0.{index}"},
                       query_string={"address": form, "expiration": int(time.time()) + 600, "nonce": nonce,
                                     "signature": sign(account, f"{form}{nonce}")})
        codes.append(r.status_code)
    assert codes == [200, 200, 200, 429] and "this address" in r.get_json()["error"]
    assert client.get("/api/services/nonce?userAddress=0x" + "cd" * 20).status_code == 200


def test_forwarded_for_is_ignored_unless_proxies_are_trusted(make_app):
    direct = make_app(RATE_LIMIT_PER_IP=1, RATE_LIMIT_PER_ADDRESS=0).test_client()
    assert direct.get("/", headers={"X-Forwarded-For": "1.1.1.1"}).status_code == 200
    assert direct.get("/", headers={"X-Forwarded-For": "2.2.2.2"}).status_code == 429  # same peer: 127.0.0.1
    proxied = make_app(RATE_LIMIT_PER_IP=1, RATE_LIMIT_PER_ADDRESS=0, TRUSTED_PROXY_HOPS=1).test_client()
    assert proxied.get("/", headers={"X-Forwarded-For": "1.1.1.1"}).status_code == 200
    assert proxied.get("/", headers={"X-Forwarded-For": "2.2.2.2"}).status_code == 200
    assert proxied.get("/", headers={"X-Forwarded-For": "1.1.1.1"}).status_code == 429


def test_redis_counts_are_shared_by_two_provider_processes(make_app, redis_url, redis_client):
    first = make_app(REDIS_CONNECTION=redis_url, RATE_LIMIT_PER_IP=4, RATE_LIMIT_PER_ADDRESS=0).test_client()
    second = make_app(REDIS_CONNECTION=redis_url, RATE_LIMIT_PER_IP=4, RATE_LIMIT_PER_ADDRESS=0).test_client()
    codes = [(first if i % 2 else second).get("/").status_code for i in range(6)]
    assert codes == [200] * 4 + [429] * 2
