"""`GET /console`: the operator's page (server-rendered, no JavaScript, no CDN)."""
from __future__ import annotations

from flask import Blueprint, make_response, redirect, render_template, request

from provider.console import SESSION_SECONDS, console_view
from provider.errors import NotAuthorized, NotFound
from provider.routes.common import services

bp = Blueprint("console", __name__)
SESSION_COOKIE = "provider_console"


@bp.get("/console")
def console():
    svc = services()
    access = svc.console
    if access is None:
        raise NotFound("The operator console is not enabled (CONSOLE_ENABLED, CONSOLE_TOKEN).")
    args = request.args
    if "token" in args or "signature" in args:
        # A credential in the address: open a session and send the browser on without it, so
        # it stays in neither the history nor a proxy's log.
        try:
            if "signature" in args:
                access.admin_signed(args.get("address"), args.get("nonce"), args.get("signature"))
            elif not access.token_matches(args.get("token")):
                raise NotAuthorized("That is not the console token.")
        except NotAuthorized as exc:
            return _login(exc.user_message)
        response = redirect("/console", code=303)
        response.set_cookie(SESSION_COOKIE, access.new_session(), max_age=SESSION_SECONDS, httponly=True,
                            samesite="Strict", secure=request.is_secure, path="/console")
        return response
    bearer = request.headers.get("Authorization", "")
    if not (access.open_without_credentials or access.session_valid(request.cookies.get(SESSION_COOKIE))
            or (bearer.startswith("Bearer ") and access.token_matches(bearer[7:]))):
        return _login(None)
    response = make_response(render_template("console.html", view=console_view(svc)))
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    return response


def _login(error: str | None):
    response = make_response(render_template("console_login.html", error=error), 401)
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"
    return response
