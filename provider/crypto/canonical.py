"""RFC 8785 JSON Canonicalization Scheme (JCS), pure: the bytes a receipt's signature covers.

Anyone can recompute them without our code: object members sorted by the UTF-16 code units of
their names, no whitespace, strings escaped as ECMAScript's JSON.stringify does, numbers in
ECMAScript's shortest round-trip form (RFC 8785 §3.2.2.3). Integers beyond 2^53 are refused:
JCS numbers are IEEE doubles, so amounts in token base units travel as strings.
"""
from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
MAX_SAFE_INTEGER = 2 ** 53 - 1


class NotCanonicalisable(ValueError):
    """A value JCS has no form for (NaN, infinity, a huge integer, a non-string key...)."""


_NEEDS_ESCAPE = re.compile(r'[\x00-\x1f"\\]')


def _escape(match: re.Match) -> str:
    char = match.group()
    return _ESCAPES.get(char) or f"\\u{ord(char):04x}"


def _string(text: str) -> str:
    return '"' + _NEEDS_ESCAPE.sub(_escape, text) + '"'  # (most strings have nothing to escape)


def _number(value: int | float) -> str:
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise NotCanonicalisable("integers beyond 2^53 have no exact JCS form: send them as strings")
        return str(value)
    if not math.isfinite(value):
        raise NotCanonicalisable("NaN and infinities have no JSON form")
    if 1e-4 <= abs(value) < 1e16:
        # Here Python's repr already is ECMAScript's form (same shortest digits, no exponent)
        # except for a trailing ".0" on whole numbers; timestamps take this path.
        text = repr(value)
        return text[:-2] if text.endswith(".0") else text
    return ecmascript_number(value)


def ecmascript_number(value: float) -> str:
    """ECMAScript Number::toString of a finite float, worked out from its digits."""
    if value == 0:
        return "0"
    # ECMAScript Number::toString over the shortest round-trip digits (Python's repr has them):
    # value = 0.d1d2...dk x 10^n
    _, digit_tuple, exponent = Decimal(repr(abs(value))).as_tuple()
    digits = "".join(map(str, digit_tuple))
    n = len(digits) + exponent
    digits = digits.rstrip("0")
    k = len(digits)
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        text = digits[0] + ("." + digits[1:] if k > 1 else "") + "e" + ("+" if e >= 0 else "-") + str(abs(e))
    return ("-" if value < 0 else "") + text


def canonical(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (int, float)):
        return _number(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(canonical(item) for item in value) + "]"
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise NotCanonicalisable("object member names must be strings")
        if all(name.isascii() for name in value):  # UTF-16 order is code point order here
            names = sorted(value)
        else:
            names = sorted(value, key=lambda name: name.encode("utf-16-be"))
        return "{" + ",".join(_string(name) + ":" + canonical(value[name]) for name in names) + "}"
    raise NotCanonicalisable(f"{type(value).__name__} has no JSON form")


def canonical_bytes(value: Any) -> bytes:
    return canonical(value).encode("utf-8")
