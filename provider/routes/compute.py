"""The compute API (names as clients look them up in serviceEndpoints)."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from provider.access.files import attachment_disposition
from provider.compute.validation import check_container
from provider.errors import InvalidRequest, NotFound
from provider.routes.common import auth_token, json_body, request_data, services
from provider.routes.docs import unlisted

bp = Blueprint("compute", __name__)


def _compute():
    svc = services().compute
    if svc is None:
        raise NotFound("Compute is not enabled on this provider.")
    return svc


def _priced():
    _compute()
    return services().priced


@bp.get("/computeEnvironments")
def computeEnvironments():
    return jsonify(_compute().environments(request.args.get("chainId")))


@bp.get("/computeEnvironments/node")
@unlisted
def nodeComputeEnvironments():
    """The flat listing of ocean.js 8 (the classic path answers `{chainId: [env]}`; ocean.js 8
    is sent here by the root document it reads, see `routes.root`)."""
    return jsonify(_priced().environments(request.args.get("chainId")))


def _is_priced(body: dict) -> bool:
    """ocean.js 8's compute requests carry `payment` (node spec §8): the resource-priced path."""
    return "payment" in body


@bp.post("/initializeCompute")
def initializeCompute():
    body = json_body()
    return jsonify(_priced().initialize(body) if _is_priced(body) else _compute().initialize(body))


@bp.post("/compute")
def computeStart():
    body = json_body()
    return jsonify(_priced().start(body, auth_token()) if _is_priced(body) else _compute().start(body, auth_token()))


@bp.post("/freeCompute")
def freeCompute():
    return jsonify(_priced().start_free(json_body(), auth_token()))


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
    chunks, filename, size, served = _compute().result(request_data(), auth_token(), request.headers.get("Range"))
    if served is None:
        return _file(chunks, filename, size, {"Accept-Ranges": "bytes"})
    return _file(chunks, filename, served.end - served.start + 1,
                 {"Accept-Ranges": "bytes", "Content-Range": f"bytes {served.start}-{served.end}/{size}"}, status=206)


def _file(chunks, filename: str, length: int, headers: dict[str, str] | None = None, status: int = 200) -> Response:
    """A result file as an attachment, streamed (its chunks closed if the name cannot be sent)."""
    try:
        disposition = attachment_disposition(filename)
    except InvalidRequest:
        chunks.close()
        raise
    return Response(chunks, status=status, direct_passthrough=True, headers={
        "Content-Disposition": disposition, "Content-Type": "application/octet-stream",
        "Content-Length": str(length), **(headers or {})})


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


# ---- the publisher's review of held outputs (the output gate's `review: manual`) -------------

def _review():
    _compute()
    return services().review


@bp.get("/heldResults")
def heldResults():
    return jsonify(_review().held(request_data(), auth_token()))


@bp.get("/heldResult")
def heldResult():
    return _file(*_review().preview(request_data(), auth_token()))


@bp.post("/reviewResults")
def reviewResults():
    return jsonify(_review().decide(json_body(), auth_token()))
