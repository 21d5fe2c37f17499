"""`GET /`: what clients read to find endpoints and the provider's addresses."""
from __future__ import annotations

from flask import Blueprint, current_app, request

from provider import VERSION
from provider.routes.common import services

bp = Blueprint("root", __name__)

SERVICES_PREFIX = "/api/services/"


def service_endpoints() -> dict[str, list[str]]:
    """Endpoint name -> [METHOD, path], for every public /api/services route.

    Names are the view functions' names, which clients look up (`nonce`, `computeStart`,
    `create_auth_token`, ...). Views marked `internal` (compute pods) are not announced.
    Routes are fixed once the app serves, so the directory is built once per app: clients ask
    for `/` before every call (ocean.py twice).
    """
    cached = current_app.extensions.get("service_endpoints")
    if cached is None:
        cached = current_app.extensions["service_endpoints"] = _build_service_endpoints()
    return cached




# Outside /api/services, announced for ocean.js 8 (it finds every operation through this table).
NODE_ENDPOINTS = {"directCommand": ["POST", "/directCommand"]}


def _build_service_endpoints() -> dict[str, list[str]]:
    endpoints = {}
    for rule in current_app.url_map.iter_rules():
        view = current_app.view_functions[rule.endpoint]
        if not rule.rule.startswith(SERVICES_PREFIX) or getattr(view, "internal", False) or getattr(view, "unlisted", False):
            continue
        methods = sorted(m for m in rule.methods if m not in ("HEAD", "OPTIONS"))
        endpoints[rule.endpoint.rsplit(".", 1)[-1]] = [methods[0], rule.rule]
    return endpoints | NODE_ENDPOINTS


# What ocean.js 8 is pointed at where the classic and node wires of one key collide (node spec
# §8): the requests are byte-identical, the replies are not.
NODE_OVERRIDES = {"computeEnvironments": ["GET", "/api/services/computeEnvironments/node"]}


def speaks_node_protocol() -> bool:
    """ocean.js 8 reads the root with the literal header `Authorization: undefined` (its
    HttpProvider.getData); ocean.py and ocean.js 3.3 send no Authorization at all."""
    return request.environ.get("HTTP_AUTHORIZATION") == "undefined"


@bp.get("/")
def root():
    """Both generations read this one document: classic clients `providerAddresses` and their
    endpoint names; ocean.js 8 `providerAddress`, `nodePublicKey` (what it ECIES-encrypts to)
    and the Ocean Node names, looked up case-insensitively (`fileinfo` serves `fileInfo`).

    Chains and routes are fixed while the app serves, so each dialect's document is encoded
    once: clients read `/` before nearly every call."""
    node = speaks_node_protocol()
    documents = current_app.extensions.setdefault("root_documents", {})
    body = documents.get(node)
    if body is None:
        body = documents[node] = (current_app.json.dumps(_root_document(node)) + "\n").encode()
    return current_app.response_class(body, mimetype="application/json")


def _root_document(node: bool) -> dict:
    chains = services().chains
    first = next(iter(chains), None)
    return dict(
        software="Provider",
        version=VERSION,
        chainIds=chains.ids(),
        providerAddresses={str(chain.chain_id): chain.provider_address for chain in chains},
        providerAddress=first.provider_address if first else None,
        nodePublicKey=first.node_public_key if first else None,
        serviceEndpoints=(service_endpoints() | NODE_OVERRIDES) if node else service_endpoints(),
    )
