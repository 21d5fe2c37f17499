"""Operations: liveness and readiness probes, Prometheus metrics."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify

from provider import metrics as provider_metrics
from provider.health import cached_readiness, unready_reasons
from provider.routes.common import services

bp = Blueprint("ops", __name__)


@bp.get("/health")
def health():
    return jsonify(status="ok")


@bp.get("/ready")
def ready():
    checks = cached_readiness(services())
    ok = all(checks.values())
    body = {"ready": ok, "checks": checks}
    if not ok:
        body["reasons"] = unready_reasons(services())
    return jsonify(body), 200 if ok else 503


@bp.get("/metrics")
def metrics():
    return Response(provider_metrics.render(services()), mimetype=None,
                    headers={"Content-Type": provider_metrics.CONTENT_TYPE})
