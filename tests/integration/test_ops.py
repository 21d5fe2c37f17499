"""Liveness and readiness, against the real chain and store."""
from provider.devtools.anvil import free_port


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
