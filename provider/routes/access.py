"""fileinfo, initialize and download."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from provider.routes.common import auth_token, request_data, services

bp = Blueprint("access", __name__)


@bp.post("/fileinfo")
def fileinfo():
    body = request.get_json(silent=True)
    return jsonify(services().access.fileinfo(body if isinstance(body, dict) else {}))


@bp.post("/fileInfo")
def fileInfo():
    """Ocean Node's spelling of the same operation (ocean.js 8 finds `fileinfo` in the root)."""
    return fileinfo()


fileInfo.unlisted = True


@bp.get("/initialize")
def initialize():
    return jsonify(services().access.initialize(request_data()))


@bp.get("/download")
def download():
    result = services().access.download(request_data(), auth_token(), request.headers.get("Range"))
    response = Response(result.body, status=result.status, headers=result.headers, direct_passthrough=True)
    # Runs when the client has the whole body or went away: the upstream transfer stops too.
    response.call_on_close(result.close)
    return response
