"""Ocean Node's own endpoints that ocean.js 8 calls (`/directCommand`)."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from provider.node import direct_command
from provider.routes.common import services

bp = Blueprint("node", __name__)


@bp.post("/directCommand")
def directCommand():
    return jsonify(direct_command(services(), request.get_json(silent=True)))
