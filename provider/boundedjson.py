"""One JSON parser for every text that comes from outside: request bodies and query fields,
on-chain documents, decrypted file lists, replies of remote services.

Python's C decoder recurses once per nesting level, guarded only by the interpreter's
recursion limit. web3's stack raises that limit to 100000 when it is imported (py_ecc), so a
200 KB `[[[[...]]]]` overflows the C stack and kills the process (SIGSEGV) instead of raising.
Two layers stop that: `loads` measures the nesting depth before decoding (strings skipped;
the scan stops at the first level too deep) and refuses documents deeper than `max_depth` or
larger than `max_bytes`; and `restore_recursion_limit` puts the limit back to a value the
C stack can hold, for any parser we do not control (PyJWT, web3's own JSON-RPC replies).
"""
from __future__ import annotations

import json
import re
import sys
from typing import Any

from provider.errors import InvalidRequest

DEFAULT_MAX_DEPTH = 64
SANE_RECURSION_LIMIT = 2000

# A JSON string (with escapes) or a bracket. Strings are matched whole so that brackets inside
# them are not counted.
_TOKENS_BYTES = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)
_TOKENS_TEXT = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)
_OPEN_BYTES = (ord("["), ord("{"))


class JSONRejected(InvalidRequest):
    """A JSON text that is too deep or too large to be decoded safely."""


def nesting_depth(text: str | bytes, limit: int) -> int:
    """The deepest nesting of arrays and objects, counted up to `limit + 1` (then it stops)."""
    if isinstance(text, (bytes, bytearray)):
        if text.count(b"[") + text.count(b"{") <= limit:
            return 0  # cannot be deeper than the number of openings: the common, fast path
        tokens, openers = _TOKENS_BYTES, _OPEN_BYTES
    else:
        if text.count("[") + text.count("{") <= limit:
            return 0
        tokens, openers = _TOKENS_TEXT, ("[", "{")
    depth = deepest = 0
    for match in tokens.finditer(text):
        first = match.group()[0]
        if first in openers:
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    return deepest
        elif first in (ord("]"), ord("}"), "]", "}"):
            depth -= 1
    return deepest


def loads(text: str | bytes, *, max_depth: int = DEFAULT_MAX_DEPTH, max_bytes: int | None = None,
          what: str = "JSON document") -> Any:
    """Decode JSON from outside. Raises `JSONRejected` for a text that is too deep or too large,
    and `ValueError` (as `json.loads` does) for one that is not JSON."""
    if max_bytes is not None and len(text) > max_bytes:
        raise JSONRejected(f"{what} is larger than {max_bytes} bytes")
    if nesting_depth(text, max_depth) > max_depth:
        raise JSONRejected(f"{what} is nested more than {max_depth} levels deep")
    try:
        return json.loads(text)
    except RecursionError:  # a last line of defence; the depth check above should prevent it
        raise JSONRejected(f"{what} is nested too deeply") from None


def restore_recursion_limit(limit: int = SANE_RECURSION_LIMIT) -> None:
    """Undo what imports did to the recursion limit (py_ecc sets 100000), once they are done."""
    if sys.getrecursionlimit() > limit:
        sys.setrecursionlimit(limit)


_SCANNER = json.JSONDecoder()
_SPACE = " \t\n\r"


def member_text(text: str, key: str) -> str | None:
    """The exact source text of member `key` of the top-level JSON object in `text`, or None.

    Publishing hashes the DDO exactly as the client serialised it (ocean.js posts
    `{"ddo": <JSON.stringify(ddo)>, ...}` and puts sha256 of those bytes on chain); parsing and
    serialising again in Python need not reproduce them. Call after `loads(text)` accepted
    the document, so its depth is known to be bounded."""
    position = _skip(text, 0)
    if position >= len(text) or text[position] != "{":
        return None
    position = _skip(text, position + 1)
    while position < len(text) and text[position] != "}":
        name, position = _SCANNER.raw_decode(text, position)
        position = _skip(text, position)
        if position >= len(text) or text[position] != ":":
            return None
        start = _skip(text, position + 1)
        _, end = _SCANNER.raw_decode(text, start)
        if name == key:
            return text[start:end]
        position = _skip(text, end)
        if position < len(text) and text[position] == ",":
            position = _skip(text, position + 1)
    return None


def _skip(text: str, position: int) -> int:
    while position < len(text) and text[position] in _SPACE:
        position += 1
    return position
