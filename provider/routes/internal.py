"""Endpoints for the compute pods only (never announced in `serviceEndpoints`).

The fetch pod downloads the staged inputs bundle; the publish pod uploads outputs and logs.
Each call needs the job's one-time token for that phase (Authorization: Bearer ...).
"""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from provider.compute import contract
from provider.compute.bundles import BundleError, pack_bytes, unpack
from provider.errors import InvalidRequest, NotAuthorized, NotFound
from provider.routes.common import services

bp = Blueprint("internal", __name__)


def _internal(view):
    view.internal = True
    return view


def _engine_for_pod(job_id: str, phase: str):
    """The engine, once the request carries the job's one-time token for this phase."""
    engine = services().engine
    if engine is None:
        raise NotFound("Not Found")
    header = request.headers.get("Authorization", "")
    token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
    if not engine.check_phase_token(job_id, phase, token):
        raise NotAuthorized("invalid or used job token")
    return engine


@bp.get("/compute/<job_id>/inputs")
@_internal
def job_inputs(job_id: str):
    engine = _engine_for_pod(job_id, "fetch")
    bundle = pack_bytes(engine.paths(job_id).data, list(contract.READ_ONLY))
    return Response(bundle, content_type="application/gzip")


@bp.put("/compute/<job_id>/outputs")
@_internal
def job_outputs(job_id: str):
    engine = _engine_for_pod(job_id, "publish")
    # A result bundle is capped by the environment's disk while it is unpacked, not by the
    # request body limit (which the request envelope also lifts for these paths).
    request.max_content_length = None
    try:
        size = unpack(request.stream, engine.paths(job_id).data, set(contract.WRITABLE), engine.output_budget(job_id))
    except BundleError as exc:
        raise InvalidRequest(f"refused bundle: {exc}") from None
    return jsonify(received=size)
