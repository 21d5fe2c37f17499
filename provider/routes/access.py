"""fileinfo, initialize and download."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from provider.routes.common import auth_token, json_body, request_data, services
from provider.routes.docs import unlisted

bp = Blueprint("access", __name__)


@bp.post("/fileinfo")
def fileinfo():
    return jsonify(services().access.fileinfo(json_body()))


@bp.post("/fileInfo")
@unlisted
def fileInfo():
    """Ocean Node's spelling of the same operation (ocean.js 8 finds `fileinfo` in the root)."""
    return fileinfo()


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
