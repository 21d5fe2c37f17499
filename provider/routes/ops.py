"""Operations: liveness and readiness probes."""
from __future__ import annotations

from flask import Blueprint, jsonify

from provider.health import readiness
from provider.routes.common import services

bp = Blueprint("ops", __name__)


@bp.get("/health")
def health():
    return jsonify(status="ok")


@bp.get("/ready")
def ready():
    checks = readiness(services())
    ok = all(checks.values())
    return jsonify(ready=ok, checks=checks), 200 if ok else 503
