"""Request helpers shared by the blueprints."""
from __future__ import annotations

from typing import Any

from flask import current_app, request

from provider.errors import ValidationError
from provider.services import ProviderServices


def services() -> ProviderServices:
    return current_app.extensions["provider"]


def request_data() -> dict[str, Any]:
    """The query arguments if there are any, else the JSON body (reference §1.1)."""
    if request.args:
        return request.args.to_dict()
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def require(data: dict[str, Any], *names: str) -> None:
    missing = {name: [f"The {name} field is required."] for name in names
               if data.get(name) is None or data.get(name) == ""}
    if missing:
        raise ValidationError(missing)


def integer_field(data: dict[str, Any], name: str) -> int:
    value = data.get(name)
    if isinstance(value, bool):
        raise ValidationError.field(name, f"The {name} must be an integer.")
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        raise ValidationError.field(name, f"The {name} must be an integer.") from None


def auth_token() -> str | None:
    return request.headers.get("AuthToken") or None
