"""Request-field checks shared by routes and services, in the reference's 400 shape."""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from provider.crypto.addresses import is_valid_address
from provider.errors import ValidationError

_HEX_TEXT = re.compile(rb"^(0x)?[0-9a-fA-F]*$")


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
    if not isinstance(value, str) or not is_valid_address(value):
        raise ValidationError.field(name, f"The {name} field must be an address.")
    return value


# Query fields that carry a transaction hash.
TRANSACTION_FIELDS = ("transferTxId", "transactionId")


def raw_transaction_ids(query_string: bytes) -> dict[str, str]:
    """Transaction hashes sent as 32 raw bytes in the query string, as 0x-hex.

    ocean.py 3.1.2 passes the HexBytes it got from web3 straight into `requests` params, which
    percent-encodes the raw bytes (`transferTxId=%A4%1B...`). Decoded as UTF-8 text that value is
    lost, so it is read again from the raw query string here. Only an exact 32-byte value that
    is not already hex text is converted; anything else is left for the normal checks.
    """
    found: dict[str, str] = {}
    if b"transferTxId" not in query_string and b"transactionId" not in query_string:
        return found  # (most requests: no second parse of the query)
    text = query_string.decode("ascii", "replace")  # percent-encoded: plain ASCII on the wire
    for name, decoded in parse_qsl(text, keep_blank_values=True, encoding="latin-1"):
        value = decoded.encode("latin-1")  # latin-1 maps every byte to one character and back
        if name in TRANSACTION_FIELDS and len(value) == 32 and not _HEX_TEXT.match(value):
            found[name] = "0x" + value.hex()
    return found
