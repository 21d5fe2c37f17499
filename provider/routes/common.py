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
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def auth_token() -> str | None:
    return request.headers.get("AuthToken") or None
