"""Endpoints for the compute pods only (never announced in `serviceEndpoints`).

The fetch pod downloads the staged inputs bundle; the publish pod uploads outputs and logs.
Each call needs the job's one-time token for that phase (Authorization: Bearer ...).
"""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from provider.compute.bundles import BundleError, pack_bytes, unpack
from provider.errors import InvalidRequest, NotAuthorized, NotFound
from provider.routes.common import services

bp = Blueprint("internal", __name__)


def _internal(view):
    view.internal = True
    return view


def _engine_and_token(job_id: str, phase: str):
    engine = services().engine
    if engine is None or not hasattr(engine, "check_token"):
        raise NotFound("Not Found")
    header = request.headers.get("Authorization", "")
    token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
    if not engine.check_token(job_id, phase, token):
        raise NotAuthorized("invalid or used job token")
    return engine


@bp.get("/compute/<job_id>/inputs")
@_internal
def job_inputs(job_id: str):
    engine = _engine_and_token(job_id, "fetch")
    bundle = pack_bytes(engine.paths(job_id).data, ["inputs", "transformations", "ddos"])
    return Response(bundle, content_type="application/gzip")


@bp.put("/compute/<job_id>/outputs")
@_internal
def job_outputs(job_id: str):
    engine = _engine_and_token(job_id, "publish")
    job = engine.store.get(job_id)
    env = engine.environment(job.environment)
    try:
        size = unpack(request.stream, engine.paths(job_id).data, {"outputs", "logs"}, int(env.disk_gb * 1024 ** 3))
    except BundleError as exc:
        raise InvalidRequest(f"refused bundle: {exc}") from None
    return jsonify(received=size)
