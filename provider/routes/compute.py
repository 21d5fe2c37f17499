"""The compute API (names as clients look them up in serviceEndpoints)."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from provider.access.files import attachment_disposition
from provider.compute.validation import check_container
from provider.errors import InvalidRequest, NotFound
from provider.routes.common import auth_token, json_body, request_data, services

bp = Blueprint("compute", __name__)


def _compute():
    svc = services().compute
    if svc is None:
        raise NotFound("Compute is not enabled on this provider.")
    return svc


@bp.get("/computeEnvironments")
def computeEnvironments():
    return jsonify(_compute().environments(request.args.get("chainId")))


NODE_COMPUTE_NOT_YET = ("Resource-priced compute with escrow payments (the Ocean Node protocol of ocean.js 8) is "
                        "not supported by this provider yet; use the classic compute API (ocean.py, ocean.js 3.3).")


def _classic_only(body: dict) -> dict:
    """ocean.js 8's compute requests carry `payment` (§8 of the node spec): refused clearly
    instead of being misread as classic ones."""
    if "payment" in body:
        raise InvalidRequest(NODE_COMPUTE_NOT_YET)
    return body


@bp.post("/initializeCompute")
def initializeCompute():
    return jsonify(_compute().initialize(_classic_only(json_body())))


@bp.post("/compute")
def computeStart():
    return jsonify(_compute().start(_classic_only(json_body()), auth_token()))


@bp.post("/freeCompute")
def freeCompute():
    raise InvalidRequest(NODE_COMPUTE_NOT_YET)


@bp.get("/compute")
def computeStatus():
    return jsonify(_compute().status(request_data(), auth_token()))


@bp.put("/compute")
def computeStop():
    return jsonify(_compute().stop(request_data(), auth_token()))


@bp.delete("/compute")
def computeDelete():
    return jsonify(_compute().delete(request_data(), auth_token()))


@bp.get("/computeResult")
def computeResult():
    chunks, filename, size = _compute().result(request_data(), auth_token())
    try:
        disposition = attachment_disposition(filename)
    except InvalidRequest:
        chunks.close()
        raise
    return Response(chunks, headers={"Content-Disposition": disposition,
                                     "Content-Length": str(size), "Content-Type": "application/octet-stream"},
                    direct_passthrough=True)


@bp.get("/computeStreamableLogs")
def computeStreamableLogs():
    return Response(_compute().logs(request_data(), auth_token()), content_type="text/plain")


@bp.post("/validateContainer")
def validateContainer():
    container = json_body()
    code = check_container(container)
    if code:
        raise InvalidRequest(code)
    return jsonify(container)
