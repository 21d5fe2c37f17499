"""The request envelope, around a small Flask app of its own: what every request gets before
and after its view, and what it answers without entering Flask at all."""
import dataclasses
import json

import pytest
from flask import Flask, Response

from provider.config import load_settings
from provider.observability import request_id_var
from provider.ratelimit import RateLimiter
from provider.routes import errors, middleware
from provider.stores.audit import client_var
from provider.stores.ratecounters import MemoryRateCounter


@pytest.fixture
def app():
    app = Flask("envelope-test")
    seen = app.config["SEEN"] = []

    @app.get("/stream")
    def stream():
        def chunks():  # runs while the server sends the body, after the view returned
            for part in (b"a", b"b"):
                seen.append((request_id_var.get(), client_var.get()))
                yield part
        return Response(chunks(), direct_passthrough=True)

    @app.post("/api/services/encrypt")
    def views_entered():
        seen.append("view")
        return {"ok": True}

    @app.get("/api/services/nonce")
    def nonce():
        seen.append("view")
        return {"nonce": 0}

    limits = dataclasses.replace(load_settings().limits, rate_per_ip=3, rate_per_address=0)
    errors.init_app(app)
    middleware.init_app(app, RateLimiter(limits, MemoryRateCounter()), max_body_bytes=100, proxy_hops=0)
    return app


def test_a_streamed_body_is_sent_with_its_request_id_and_the_context_is_cleared_after(app):
    client = app.test_client()
    outside = (request_id_var.get(), client_var.get())
    r = client.get("/stream", headers={"X-Request-ID": "req-1"}, environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert r.get_data() == b"ab" and r.headers["X-Request-ID"] == "req-1"
    assert app.config["SEEN"] == [("req-1", "10.1.2.3")] * 2
    r.close()
    assert (request_id_var.get(), client_var.get()) == outside


def test_an_oversized_body_is_refused_before_flask_in_the_error_trees_shape(app):
    r = app.test_client().post("/api/services/encrypt", data=b"x" * 101)
    assert r.status_code == 413 and r.get_json() == {"error": "Request body too large: the limit is 100 bytes."}
    assert r.headers["Content-Type"] == "application/json" and r.headers["X-Request-ID"]
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert app.config["SEEN"] == []  # the view never ran


def test_past_the_ip_limit_every_path_but_the_probes_is_refused_with_retry_after(app):
    client = app.test_client()
    assert [client.post("/api/services/encrypt", data=b"x").status_code for _ in range(4)] == [200, 200, 200, 429]
    r = client.get("/stream")
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    assert "Too many requests" in json.loads(r.get_data())["error"]


def test_a_preflight_is_answered_without_a_body_or_length_and_head_gets_the_references_405(app):
    client = app.test_client()
    r = client.options("/api/services/encrypt", headers={"Access-Control-Request-Headers": "Authorization, X-Custom"})
    assert r.status_code == 204 and "Content-Length" not in r.headers and r.get_data() == b""
    assert "X-Custom" in r.headers["Access-Control-Allow-Headers"]
    r = client.head("/api/services/nonce")
    assert r.status_code == 405 and r.headers["Content-Type"] == "application/json"
    assert app.config["SEEN"] == []
