"""Request helpers shared by the blueprints."""
from __future__ import annotations

from typing import Any

from flask import current_app, request

from provider.services import ProviderServices
from provider.validation import address_field, integer_field, raw_transaction_ids, require  # noqa: F401


def services() -> ProviderServices:
    return current_app.extensions["provider"]


def request_data() -> dict[str, Any]:
    """The query arguments if there are any, else the JSON body (reference §1.1)."""
    if request.args:
        return request.args.to_dict() | raw_transaction_ids(request.query_string)
    return json_body()


def json_body() -> dict[str, Any]:
    """The JSON object body (Ocean Node commands travel there, never in the query)."""
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def auth_token() -> str | None:
    """The auth token of a request: classic clients send `AuthToken: <jwt>`, ocean.js 8 sends
    `Authorization: <jwt>` (no scheme; "Bearer" is accepted too). ocean.js 8 also sends the
    literal `Authorization: undefined` when it has no token: that is no token."""
    classic = request.headers.get("AuthToken")
    if classic:
        return classic
    value = (request.headers.get("Authorization") or "").strip()
    if value.lower().startswith("bearer "):
        value = value[7:].strip()
    return value if value and value not in ("undefined", "null") else None
