"""The OpenAPI document is true: it lists exactly the public routes, and schemathesis finds
no server error, no undocumented status or shape, and no stack trace when it fuzzes them."""
import re

import pytest
import schemathesis
from schemathesis import GenerationMode
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (content_type_conformance, not_a_server_error, response_schema_conformance,
                                 status_code_conformance)

from provider import VERSION
from provider.openapi import document


def public_routes(app) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        if getattr(app.view_functions[rule.endpoint], "internal", False):
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        routes |= {(path, method.lower()) for method in rule.methods - {"HEAD", "OPTIONS"}}
    return routes


def test_the_document_lists_exactly_the_public_routes(client):
    doc = client.get("/api/services/openapi.json").get_json()
    documented = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    assert documented == public_routes(client.application)
    assert doc == client.get("/spec").get_json()
    assert not any(path.startswith("/api/internal") for path, _ in documented)


def test_the_document_is_not_announced_to_clients(client):
    endpoints = client.get("/").get_json()["serviceEndpoints"]
    assert "openapi" not in endpoints and "nonce" in endpoints and "create_auth_token" in endpoints


def test_the_docs_page_shows_every_operation_without_outside_resources(client):
    r = client.get("/api/docs")
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and r.content_type.startswith("text/html")
    for path in client.get("/api/services/openapi.json").get_json()["paths"]:
        assert f"<code>{path}</code>" in page
    assert "<script" not in page and "https://" not in page


# ---- fuzzing ----------------------------------------------------------------------------------

def loopback_only(host: str, port: int) -> list[str]:
    """Every file URL the fuzzer invents is sent to loopback: nothing leaves the machine."""
    return ["127.0.0.1"]


@pytest.fixture
def fuzz_schema(make_app):
    app = make_app(RATE_LIMIT_PER_IP=0, RATE_LIMIT_PER_ADDRESS=0, REQUEST_TIMEOUT=2)
    app.extensions["provider"].access.sources.fetcher.resolver = loopback_only
    return schemathesis.openapi.from_wsgi("/api/services/openapi.json", app)


DOC = document(VERSION)
OPERATIONS = sorted((path, method) for path, ops in DOC["paths"].items() for method in ops)


def has_invalid_input(path: str, method: str) -> bool:
    """Query parameters or a JSON body: something a client can get wrong."""
    op = DOC["paths"][path][method]
    return any(p["in"] == "query" for p in op.get("parameters", [])) or \
        "application/json" in op.get("requestBody", {}).get("content", {})


CASES = [(path, method, GenerationMode.POSITIVE) for path, method in OPERATIONS] + \
        [(path, method, GenerationMode.NEGATIVE) for path, method in OPERATIONS if has_invalid_input(path, method)]


def no_stack_trace(response) -> None:
    text = response.text if isinstance(response.text, str) else ""
    assert "Traceback" not in text and 'File "/' not in text, "a stack trace reached the client"


# schemathesis' own pytest integration (from_fixture) does not run on pytest 9, so each
# operation gets its own hypothesis test here.
@pytest.mark.parametrize("path,method,mode", CASES, ids=[
    f"{m.upper()} {p} {'valid' if mode is GenerationMode.POSITIVE else 'invalid'}" for p, m, mode in CASES])
def test_fuzzed_requests_get_documented_answers(fuzz_schema, path, method, mode):
    operation = fuzz_schema[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=12, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def check(case):
        if path == "/api/services/computeStreamableLogs":
            case.query = dict(case.query or {}, consumerAddress="0x" + "ab" * 20)  # never a live stream
        response = case.call()
        case.validate_response(response, checks=[not_a_server_error, status_code_conformance,
                                                 content_type_conformance, response_schema_conformance])
        no_stack_trace(response)

    check()
