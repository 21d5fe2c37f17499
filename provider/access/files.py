"""File objects of DDO services (pure rules): validation and the upstream request to make.

Types: `url`, `ipfs`, `arweave`, `graphql`, `smartcontract` (provider-api.md §7.1), with the
reference's validation messages, which clients and tests match. Consumer `userdata` becomes
URL query parameters (GET) or the JSON body (POST) of a `url` file, the `variables` of a
`graphql` query, and the arguments of a `smartcontract` function.
"""
from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit, urlunsplit

from eth_abi.exceptions import ParseError
from eth_abi.grammar import parse as parse_abi_type

from provider import boundedjson
from provider.access.fetch import UpstreamRequest
from provider.errors import InvalidRequest, RangeNotSatisfiable

FILE_TYPES = ("ipfs", "url", "arweave", "graphql", "smartcontract")
HIDDEN_NAME_TYPES = {"ipfs", "arweave", "graphql", "smartcontract"}
# Headers a file object may not set: they frame the request itself (request smuggling, a
# forged Host sent to the pinned address).
FORBIDDEN_HEADERS = {"host", "transfer-encoding", "content-length", "connection"}
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$")  # an RFC 9110 token
_HEADER_VALUE = re.compile(r"^[\t\x20-\x7e\x80-\xff]{0,8192}$")  # no CR, LF, NUL or other controls


# Identifiers appended to a gateway URL: nothing that could make the join leave the gateway.
_IPFS_PATH = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,255}$")
_ARWEAVE_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


class FileObjectError(InvalidRequest):
    pass


def _scheme(url) -> str:
    """The scheme of a URL-like value; "" when it is not a string or does not parse."""
    if not isinstance(url, str):
        return ""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises for a port that is not a number in range
        return parts.scheme
    except ValueError:
        return ""


def check_headers(headers: dict) -> None:
    for name, value in headers.items():
        if not isinstance(name, str) or not _HEADER_NAME.match(name) or not isinstance(value, str) \
                or not _HEADER_VALUE.match(value):
            raise FileObjectError("malformed file object: invalid header name or value.")
        if name.lower() in FORBIDDEN_HEADERS:
            raise FileObjectError(f"malformed file object: the {name} header may not be set.")


def parse_userdata(value) -> dict[str, Any]:
    """A dict, or a JSON string of one; anything undecodable is treated as no userdata."""
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value:
        try:
            decoded = boundedjson.loads(value, what="userdata")
        except ValueError:
            return {}
        return decoded if isinstance(decoded, dict) else {}
    return {}


def validate_file_object(obj: Any) -> dict[str, Any]:
    """The file object if it is well formed; raises FileObjectError with the reference text."""
    if not isinstance(obj, dict) or not obj:
        raise FileObjectError("cannot decrypt files for this service.")
    kind = obj.get("type")
    if kind not in FILE_TYPES:
        raise FileObjectError(f"Unsupported type {kind}")
    headers = obj.get("headers", {})
    if headers is None:
        headers = {}
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        raise FileObjectError("malformed file object.")
    check_headers(headers)
    if kind == "url":
        if not obj.get("url"):
            raise FileObjectError("malformed service files, missing required keys.")
        method = str(obj.get("method") or "get").lower()
        if method not in ("get", "post"):
            raise FileObjectError(f"Unsafe method {obj.get('method')}.")
        if _scheme(obj["url"]) not in ("http", "https"):
            raise FileObjectError("Invalid file name format. It was not possible to get the file name.")
    elif kind == "ipfs":
        if not obj.get("hash"):
            raise FileObjectError("malformed service files, missing required keys.")
        if not isinstance(obj["hash"], str) or not _IPFS_PATH.match(obj["hash"]) or ".." in obj["hash"]:
            raise FileObjectError("malformed ipfs hash.")
    elif kind == "arweave":
        if not obj.get("transactionId"):
            raise FileObjectError("malformed service files, missing transactionId.")
        if not isinstance(obj["transactionId"], str) or not _ARWEAVE_ID.match(obj["transactionId"]):
            raise FileObjectError("malformed arweave transactionId.")
    elif kind == "graphql":
        if not obj.get("url"):
            raise FileObjectError("missing graphql endpoint")
        if not obj.get("query"):
            raise FileObjectError("missing graphql query")
        if _scheme(obj["url"]) not in ("http", "https"):
            raise FileObjectError("Invalid file name format. It was not possible to get the file name.")
    elif kind == "smartcontract":
        validate_smartcontract(obj)
    return obj


def validate_smartcontract(obj: dict) -> dict:
    if not obj.get("address"):
        raise FileObjectError("malformed smartcontract type, missing contract address")
    abi = obj.get("abi")
    if not isinstance(abi, dict) or abi.get("type", "function") != "function" or not isinstance(
        abi.get("inputs", []), list
    ):
        raise FileObjectError("invalid abi")
    if abi.get("stateMutability") not in ("view", "pure"):
        raise FileObjectError("only view or pure functions are allowed")
    if not abi.get("name"):
        raise FileObjectError("missing name")
    check_abi_types(abi)
    return abi


def check_abi_types(abi: dict) -> None:
    """Every input and output of a smartcontract file's ABI entry is a valid ABI type with a
    string name: web3 would otherwise fail deep inside the call, with errors of every kind."""
    if not isinstance(abi.get("name"), str) or not abi["name"].isidentifier():
        raise FileObjectError("invalid abi")
    for section in ("inputs", "outputs"):
        _check_abi_entries(abi.get(section, []), depth=0)


_TUPLE_TYPE = re.compile(r"tuple(\[[0-9]*\])*")


def _check_abi_entries(entries, depth: int) -> None:
    if not isinstance(entries, list) or len(entries) > 32 or depth > 4:
        raise FileObjectError("invalid abi")
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("type"), str) or not isinstance(
                entry.get("name", ""), str):
            raise FileObjectError("invalid abi")
        if _TUPLE_TYPE.fullmatch(entry["type"]):
            _check_abi_entries(entry.get("components"), depth + 1)
            continue
        try:
            parse_abi_type(entry["type"]).validate()
        except (ParseError, ValueError, TypeError, AttributeError):
            raise FileObjectError("invalid abi") from None


def smartcontract_arguments(abi: dict, userdata: dict) -> list[Any]:
    inputs = abi.get("inputs", [])
    if inputs and not userdata:
        raise FileObjectError("Missing parameters")
    args = []
    for item in inputs:
        name = item.get("name")
        if name not in userdata:
            raise FileObjectError("Missing parameters")
        args.append(userdata[name])
    return args


def _with_query(url: str, params: dict[str, Any]) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + [
        (k, v if isinstance(v, str) else json.dumps(v)) for k, v in params.items()
    ]
    return urlunsplit(parts._replace(query=urlencode(query)))


def build_request(obj: dict, userdata: dict, *, ipfs_gateway: str, arweave_gateway: str,
                  client_range: str | None = None) -> UpstreamRequest:
    """The HTTP request that fetches this file (not for smartcontract files)."""
    kind = obj["type"]
    headers = dict(obj.get("headers") or {})
    if client_range and not any(k.lower() == "range" for k in headers):
        headers["Range"] = client_range  # a Range set by the publisher wins
    if kind == "url":
        method = str(obj.get("method") or "get").upper()
        if method == "POST":
            body = json.dumps(userdata).encode() if userdata else None
            if body is not None:
                headers.setdefault("Content-Type", "application/json")
            return UpstreamRequest("POST", obj["url"], headers, body)
        return UpstreamRequest("GET", _with_query(obj["url"], userdata) if userdata else obj["url"], headers)
    if kind == "ipfs":
        return UpstreamRequest("GET", urljoin(_dir(ipfs_gateway), "ipfs/" + str(obj["hash"])), headers)
    if kind == "arweave":
        return UpstreamRequest("GET", urljoin(_dir(arweave_gateway), str(obj["transactionId"])), headers)
    if kind == "graphql":
        headers.setdefault("Content-Type", "application/json")
        body = json.dumps({"query": obj["query"], "variables": userdata}).encode()
        return UpstreamRequest("POST", obj["url"], headers, body)
    raise FileObjectError(f"Unsupported type {kind}")


def _dir(url: str) -> str:
    return url if url.endswith("/") else url + "/"


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_filename(name: str | None) -> str:
    """A file name a client can save as is: no path, no control or quote characters."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE.sub("_", name).strip("._") or "file"
    return name[:200]


_PLAIN_NAME = re.compile(r"^[A-Za-z0-9._-]{1,200}$")


def attachment_disposition(name: str) -> str:
    """`Content-Disposition` for a file a consumer saves. A plain name is sent as
    `attachment;filename=<name>` (the form clients parse); any other name gets an ASCII
    fallback and the exact name as RFC 6266 `filename*` (UTF-8, percent-encoded), so nothing
    the name contains reaches the header raw. A name with control characters (CR, LF, NUL, ...)
    is refused: no client could save it under that name."""
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        raise InvalidRequest("The result's file name contains control characters; it cannot be served.")
    name = name.replace("/", "_").replace("\\", "_")
    if _PLAIN_NAME.match(name):
        return f"attachment;filename={name}"
    return f"attachment;filename={safe_filename(name)};filename*=UTF-8''{quote(name, safe='')}"


def public_filename(obj: dict, final_url: str | None) -> str:
    """Name shown to consumers; hidden for types whose URL part would leak a CID or txId."""
    if obj["type"] in HIDDEN_NAME_TYPES:
        return uuid.uuid4().hex
    try:
        return safe_filename(urlsplit(final_url or obj.get("url", "")).path)
    except ValueError:
        return "file"


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int            # inclusive
    length: int | None  # of the whole body, when known

    @property
    def content_range(self) -> str:
        return f"bytes {self.start}-{self.end}/{self.length if self.length is not None else '*'}"


_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d{0,19})\s*-\s*(\d{0,19})\s*$")


def plan_range(header: str | None, length: int | None) -> ByteRange | None:
    """The single byte range a client asked for, for serving it ourselves when the origin
    ignored Range. None: serve the whole body (no Range, several ranges, or a form that needs
    the length when it is unknown; RFC 9110 allows ignoring Range)."""
    match = _RANGE.match(header or "")
    if not match or (not match.group(1) and not match.group(2)):
        return None
    first, last = match.group(1), match.group(2)
    if not first:  # suffix: the last N bytes
        if length is None:
            return None
        count = int(last)
        if count == 0:
            raise RangeNotSatisfiable(length)
        return ByteRange(max(0, length - count), length - 1, length)
    start = int(first)
    end = int(last) if last else None
    if end is not None and end < start:
        return None  # invalid: ignored
    if length is not None:
        if start >= length:
            raise RangeNotSatisfiable(length)
        end = length - 1 if end is None else min(end, length - 1)
    elif end is None:
        return None
    return ByteRange(start, end, length)


@dataclass(frozen=True)
class FileDetails:
    valid: bool
    content_type: str | None = None
    content_length: str | None = None
    filename: str | None = None
    checksum: str | None = None

    def as_fileinfo(self, index: int, kind: str) -> dict[str, Any]:
        entry: dict[str, Any] = {"index": index, "valid": self.valid, "type": kind}
        if self.valid:
            # `filename` for classic clients, `name` for Ocean Node's (ocean.js 8)
            entry.update(contentLength=self.content_length or "", contentType=self.content_type or "",
                         filename=self.filename or "", name=self.filename or "")
            if self.checksum is not None:
                entry.update(checksum=self.checksum, checksumType="sha256")
        return entry
