"""Request-field checks shared by routes and services, in the reference's 400 shape."""
from __future__ import annotations

from typing import Any

from eth_utils import is_address

from provider.errors import ValidationError


def require(data: dict[str, Any], *names: str) -> None:
    missing = {name: [f"The {name} field is required."] for name in names if data.get(name) in (None, "")}
    if missing:
        raise ValidationError(missing)


def integer_field(data: dict[str, Any], name: str, minimum: int | None = None) -> int:
    value = data.get(name)
    if isinstance(value, bool):
        raise ValidationError.field(name, f"The {name} must be an integer.")
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise ValidationError.field(name, f"The {name} must be an integer.") from None
    if minimum is not None and number < minimum:
        raise ValidationError.field(name, f"The {name} must be at least {minimum}.")
    return number


def address_field(data: dict[str, Any], name: str) -> str:
    require(data, name)
    value = data[name]
    if not isinstance(value, str) or not is_address(value):
        raise ValidationError.field(name, f"The {name} field must be an address.")
    return value
