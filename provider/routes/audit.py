"""The audit trail of a publisher's own assets."""
from __future__ import annotations

from flask import Blueprint, jsonify

from provider.routes.common import auth_token, request_data, services

bp = Blueprint("audit", __name__)


@bp.get("/auditTrail")
def auditTrail():
    return jsonify(services().publisher_audit.entries(request_data(), auth_token()))
