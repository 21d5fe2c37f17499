"""Web3 connections and the per-chain handle the services use.

`ChainClient` owns one web3 instance, the provider's key on that chain and the Ocean
contract addresses. It translates connection failures into `DependencyUnavailable`, so a dead node
becomes a 503 with a safe message instead of a stack trace that names the RPC URL.
"""
from __future__ import annotations

import http.client
import itertools
import json
import os
import threading
from collections import OrderedDict
from contextlib import contextmanager
from functools import cached_property
from typing import Any, Iterator

import certifi
import eth_abi
import requests
import urllib3
import urllib3.connection
import urllib3.util.ssl_
from eth_abi.exceptions import DecodingError, EncodingError
from eth_utils.abi import collapse_if_tuple, function_abi_to_4byte_selector
from web3.exceptions import Web3Exception
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from web3 import Web3
from web3.contract import Contract
from web3.middleware import ExtraDataToPOAMiddleware

from provider import boundedjson
from provider.boundedjson import JSONRejected
from provider.chain.contracts import abi, abi_entry, network_display_name, network_entry, read_address_file
from provider.chain.events import decode_own_logs, event_shape
from provider.config import ChainSettings, Settings
from provider.crypto.addresses import is_valid_address
from provider.crypto.ecies import compressed_public_key, public_key_hex
from provider.errors import ConfigurationError, DependencyUnavailable

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


class RpcFailed(ValueError):
    """The chain node answered a JSON-RPC call with an error (or not in JSON-RPC form)."""


class ViewCallFailed(ValueError):
    """A view function did not answer with a decodable result: the address is not a contract,
    the call reverted, or what came back does not fit the ABI."""


_VIEWS: dict[tuple[str, str], tuple[bytes, list[str], list[str]]] = {}


def view_signature(contract_name: str, function: str) -> tuple[bytes, list[str], list[str]]:
    """(selector, input types, output types) of a contract's function, worked out once."""
    key = (contract_name, function)
    if key not in _VIEWS:
        entry = abi_entry(contract_name, "function", function)
        _VIEWS[key] = (function_abi_to_4byte_selector(entry), [collapse_if_tuple(i) for i in entry["inputs"]],
                       [collapse_if_tuple(o) for o in entry["outputs"]])
    return _VIEWS[key]


RPC_TIMEOUT_S = 30.0


def _call_key(method: str, params: list) -> str:
    return method + json.dumps(params, sort_keys=True)


def operator_ca_bundle() -> str | None:
    """The CA bundle the operator named for outbound HTTPS, as requests reads it."""
    return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or None


def rpc_session(url: str) -> requests.Session:
    """An HTTP session for the chain node with the proxy and CA settings of the environment read
    once, here. A session that trusts the environment reads and parses every proxy variable
    again on each call (about a fifth of a signed download's CPU); the operator's HTTPS_PROXY,
    NO_PROXY and REQUESTS_CA_BUNDLE still apply. (.netrc is not read: RPC credentials go in
    NETWORK_URL.)"""
    session = requests.Session()
    session.trust_env = False
    session.proxies = dict(requests.utils.get_environ_proxies(url))
    bundle = operator_ca_bundle()
    if bundle:
        session.verify = bundle
    return session


RPC_MAX_DEPTH = 32  # a receipt's logs' topics are four deep
RPC_MAX_ANSWER = 64 * 1024 * 1024  # bytes: a block of receipts is megabytes, never this
RPC_POOL_CONNECTIONS = 16


# What a failed exchange with the node raises (besides our own RpcFailed for an oversized answer)
_CONNECTION_ERRORS = (OSError, http.client.HTTPException, urllib3.exceptions.HTTPError)


class _KeptConnection(threading.local):
    """One thread's kept-alive connection to the node, and the process that opened it: a
    connection inherited across a fork is never used (two processes on one socket would read
    each other's answers)."""
    connection: urllib3.connection.HTTPConnection | None = None
    pid: int = 0


class RawRpc:
    """Read-only JSON-RPC calls for the request path: one kept-alive connection per thread.

    Through web3's HTTP provider a call costs about 0.6 ms of the worker's CPU (its request
    builder, middleware, requests' session machinery); through a urllib3 pool manager about
    0.32 ms (the pool lookup, retry and timeout objects built per call); over a connection of
    its own, urllib3's connection class, 0.21 ms. Only reads go here (eth_call, receipts,
    blocks): a call that fails on a connection kept from before (the node closed it while
    idle) is sent once more on a new one, which a transaction must never be. The operator's
    CA bundle and credentials in the URL apply as they do for web3's session; with a proxy
    (HTTPS_PROXY / NO_PROXY) the calls go through urllib3's proxy manager instead."""

    def __init__(self, url: str, timeout: float, label: str):
        parsed = urllib3.util.parse_url(url)
        self._headers = {"Content-Type": "application/json"}
        if parsed.auth:
            self._headers.update(urllib3.util.make_headers(basic_auth=parsed.auth))
            url = parsed._replace(auth=None).url
        self._url = url
        self._label = label
        self._ids = itertools.count(1)
        bundle = operator_ca_bundle() or certifi.where()  # requests' default, too
        proxies = requests.utils.get_environ_proxies(url)
        proxy = proxies.get(parsed.scheme) or proxies.get("all")
        if proxy:
            # maxsize: one kept connection per request thread (gunicorn threads, compute
            # scheduler); urllib3's default of one made every concurrent call open and drop one
            self._pool = urllib3.ProxyManager(proxy, ca_certs=bundle, maxsize=RPC_POOL_CONNECTIONS)
            self._pool_timeout = urllib3.Timeout(total=timeout)
            self._pool_retries = urllib3.Retry(total=1, connect=1, read=1, status=0, redirect=0, other=0,
                                               allowed_methods=frozenset({"POST"}), raise_on_status=False)
        else:
            self._pool = None
            https = parsed.scheme == "https"
            self._connection_class = urllib3.connection.HTTPSConnection if https else urllib3.connection.HTTPConnection
            self._connection_options = {"host": parsed.host, "port": parsed.port or (443 if https else 80),
                                        "timeout": timeout}
            if https:
                self._connection_options["ssl_context"] = urllib3.util.ssl_.create_urllib3_context()
                self._connection_options["ca_certs"] = bundle
            self._path = parsed.request_uri
            self._kept = _KeptConnection()

    def request(self, method: str, params: list) -> Any:
        return self._post({"jsonrpc": "2.0", "method": method, "params": params, "id": next(self._ids)})

    def batch(self, calls: list[tuple[str, list]]) -> list[Any] | None:
        """Several calls in one HTTP request (a JSON-RPC batch): each call's answer object, in
        the order of `calls` (None for a call the node did not answer); None when the node does
        not answer batches (an error object or anything but a list)."""
        ids = [next(self._ids) for _ in calls]
        answers = self._post([{"jsonrpc": "2.0", "method": method, "params": params, "id": id_}
                              for id_, (method, params) in zip(ids, calls)])
        if not isinstance(answers, list):
            return None
        by_id = {a.get("id"): a for a in answers if isinstance(a, dict)}
        return [by_id.get(id_) for id_ in ids]

    def _post(self, payload) -> Any:
        status, data = self._send(json.dumps(payload).encode())
        if status != 200:
            raise DependencyUnavailable(f"Provider {self._label}: chain node answered HTTP {status}")
        try:
            # depth-bounded: a node (or whatever answers at its address) nesting deeply would
            # otherwise take the parser's recursion down with the worker
            return boundedjson.loads(data, max_depth=RPC_MAX_DEPTH)
        except (JSONRejected, ValueError, RecursionError) as exc:
            raise RpcFailed("the chain node's answer is not JSON") from exc

    def _send(self, body: bytes) -> tuple[int, bytes]:
        """(HTTP status, body) of one POST to the node."""
        return self._send_direct(body) if self._pool is None else self._send_through_proxy(body)

    def _send_direct(self, body: bytes) -> tuple[int, bytes]:
        kept = self._kept
        connection = kept.connection if kept.pid == os.getpid() else None
        if connection is not None and connection.sock is not None:
            try:
                return self._exchange(connection, body)
            except (TimeoutError, urllib3.exceptions.TimeoutError) as exc:
                raise self._unreachable() from exc  # a slow node is not asked twice
            except _CONNECTION_ERRORS:
                pass  # closed by the node while idle: once more, on a new connection
        kept.connection, kept.pid = self._connection_class(**self._connection_options), os.getpid()
        try:
            return self._exchange(kept.connection, body)
        except _CONNECTION_ERRORS as exc:
            raise self._unreachable() from exc

    def _exchange(self, connection: urllib3.connection.HTTPConnection, body: bytes) -> tuple[int, bytes]:
        """One POST on `connection`; on any failure the connection is closed and forgotten (a
        half-read answer would be read as the next call's)."""
        try:
            connection.request("POST", self._path, body=body, headers=self._headers, preload_content=False)
            response = connection.getresponse()
            data = response.read(RPC_MAX_ANSWER + 1)
            if len(data) > RPC_MAX_ANSWER:
                raise RpcFailed("the chain node's answer is too large")
        except BaseException:
            connection.close()
            self._kept.connection = None
            raise
        return response.status, data

    def _send_through_proxy(self, body: bytes) -> tuple[int, bytes]:
        try:
            answer = self._pool.request("POST", self._url, body=body, headers=self._headers, timeout=self._pool_timeout,
                                        retries=self._pool_retries, redirect=False, preload_content=False)
            data = answer.read(RPC_MAX_ANSWER + 1)
        except urllib3.exceptions.HTTPError as exc:
            raise self._unreachable() from exc
        if len(data) > RPC_MAX_ANSWER:
            answer.close()  # (its connection, with the rest of the answer unread, is not kept)
            raise RpcFailed("the chain node's answer is too large")
        answer.release_conn()
        return answer.status, data

    def _unreachable(self) -> DependencyUnavailable:
        """(The node's address and the foreign error's text stay in the log, never the answer.)"""
        return DependencyUnavailable(f"Provider {self._label}: chain node unreachable")


def make_web3(url: str, timeout: float = RPC_TIMEOUT_S) -> Web3:
    if url.startswith(("ws://", "wss://")):
        raise ConfigurationError("websocket RPC URLs are not supported; use http(s)")
    if not url.startswith(("http://", "https://")):
        raise ConfigurationError("NETWORK_URL must be an http(s) URL")
    # cache_allowed_requests: eth_chainId is otherwise asked again before every call.
    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": timeout}, session=rpc_session(url),
                                cache_allowed_requests=True))
    w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
    return w3


class ChainClient:
    """Everything the provider does on one chain goes through here."""

    def __init__(self, chain: ChainSettings, addresses: dict[str, Any], receipt_timeout: float):
        self.chain_id = chain.chain_id
        self.settings = chain
        self.receipt_timeout = receipt_timeout
        self._addresses = addresses
        self._local = threading.local()
        self.account: LocalAccount = Account.from_key(chain.private_key)

    # web3 instances keep an HTTP session; one per thread keeps them independent.
    @property
    def w3(self) -> Web3:
        w3 = getattr(self._local, "w3", None)
        if w3 is None:
            w3 = self._local.w3 = make_web3(self.settings.rpc_url)
        return w3

    @property
    def provider_address(self) -> str:
        return self.account.address

    @cached_property
    def raw_rpc(self) -> RawRpc:
        return RawRpc(self.settings.rpc_url, RPC_TIMEOUT_S, self.network_name)

    @cached_property
    def node_public_key(self) -> str:
        """The compressed public key of this chain's provider key (Ocean Node's `nodePublicKey`),
        derived once: the root document and node status show it on every request."""
        return compressed_public_key(self.settings.private_key)

    @cached_property
    def public_key(self) -> str:
        """The 64-byte public key of this chain's provider key as 0x-hex, what documents are
        encrypted to (derived once: deriving it was a third of an encrypt request)."""
        return public_key_hex(self.settings.private_key)

    @cached_property
    def network_name(self) -> str:
        return network_display_name(self._addresses, self.chain_id)

    @cached_property
    def contract_addresses(self) -> dict[str, Any]:
        return network_entry(self._addresses, self.chain_id)[1]

    def contract_address(self, name: str) -> str:
        try:
            value = self.contract_addresses[name]
        except KeyError:
            raise ConfigurationError(f"address file has no {name} for chain {self.chain_id}") from None
        return to_checksum_address(value)

    @property
    def start_block(self) -> int:
        return int(self.contract_addresses.get("startBlock", 0))

    @property
    def fee_token(self) -> str:
        """PROVIDER_FEE_TOKEN for this chain, else OCEAN, else the zero address."""
        if self.settings.fee_token:
            return to_checksum_address(self.settings.fee_token)
        try:
            return self.contract_address("Ocean")
        except ConfigurationError:
            return ZERO_ADDRESS

    _CONTRACT_CACHE_SIZE = 512

    def contract(self, name: str, address: str) -> Contract:
        """A web3 contract object, cached per thread: building one from the large Ocean ABIs
        costs tens of milliseconds, more than the RPC call it is made for."""
        cache = getattr(self._local, "contracts", None)
        if cache is None:
            cache = self._local.contracts = OrderedDict()
        key = (name, to_checksum_address(address))
        contract = cache.get(key)
        if contract is None:
            contract = cache[key] = self.w3.eth.contract(address=key[1], abi=abi(name))
            if len(cache) > self._CONTRACT_CACHE_SIZE:
                cache.popitem(last=False)
        else:
            cache.move_to_end(key)
        return contract

    def view(self, contract_name: str, address: str, function: str, *args: Any) -> tuple:
        """A view function's outputs by one raw `eth_call` at the latest block.

        On the request path (asset state, access lists, escrow balances) web3's contract layer
        and middleware cost about ten times the RPC itself: ABI lookup and validation, argument
        normalisation, the middleware onion. The selector and types are worked out once here
        and the call goes straight to the HTTP provider. Addresses come back in lower case.
        Raises ViewCallFailed for an invalid
        address, a revert or an undecodable answer; DependencyUnavailable when the node is down.
        """
        method, params, outputs = self.view_request(contract_name, address, function, *args)
        response = self._request(method, params)
        result = response.get("result") if isinstance(response, dict) else None
        if not isinstance(result, str) or not result.startswith("0x") or len(result) <= 2:
            raise ViewCallFailed("no result")  # a revert (an error object), or no code at the address
        try:
            return tuple(eth_abi.decode(outputs, bytes.fromhex(result[2:])))
        except (DecodingError, ValueError, OverflowError) as exc:
            raise ViewCallFailed("result does not fit the ABI") from exc

    def view_request(self, contract_name: str, address: str, function: str, *args: Any) -> tuple[str, list, list[str]]:
        """(method, params, output types) of the `eth_call` that `view` makes."""
        if not is_valid_address(address):
            raise ViewCallFailed("not an address")
        selector, inputs, outputs = view_signature(contract_name, function)
        try:
            data = selector + eth_abi.encode(inputs, [a.lower() if isinstance(a, str) else a for a in args])
        except (EncodingError, TypeError, ValueError) as exc:
            raise ViewCallFailed("arguments do not fit the ABI") from exc
        return "eth_call", [{"to": address.lower(), "data": "0x" + data.hex()}, "latest"], outputs

    @contextmanager
    def read_ahead(self, calls: list[tuple[str, list]]) -> Iterator[None]:
        """Send `calls` now, as one JSON-RPC batch, and answer the same calls from it inside the
        block: a request that will make several reads waits for one round trip instead of one
        per read, while its checks still run one by one in their order.

        Each answer is used once, only by this thread and only inside the block (never a
        stale state). A node that refuses batches, or answers one with something unreadable or
        a member with an error, leaves those calls to be made on their own, as without the
        block; a node that cannot be reached raises DependencyUnavailable here, at once (each
        call would wait for it again)."""
        calls = [c for c in calls if c is not None]
        primed: dict[str, list] = {}
        if len(calls) > 1:
            try:
                answers = self.raw_rpc.batch(calls)
            except RpcFailed:
                answers = None
            for (method, params), answer in zip(calls, answers or []):
                # only answers: an error for one member (some hosted nodes cap or refuse batches
                # item by item) is left for the call itself to ask again, on its own
                if isinstance(answer, dict) and "result" in answer and "error" not in answer:
                    primed.setdefault(_call_key(method, params), []).append(answer)
        outer = getattr(self._local, "primed", None)
        self._local.primed = primed
        try:
            yield
        finally:
            self._local.primed = outer

    def _request(self, method: str, params: list) -> Any:
        primed = getattr(self._local, "primed", None)
        if primed:
            answers = primed.get(_call_key(method, params))
            if answers:
                return answers.pop(0)
        return self.raw_rpc.request(method, params)

    def factory(self) -> Contract:
        return self.contract("ERC721Factory", self.contract_address("ERC721Factory"))

    def events_in(self, receipt, contract_name: str, address: str, event_name: str) -> list[dict[str, Any]]:
        """Args of `event_name` logs that `address` itself emitted in a receipt (web3's or a raw
        one from `rpc`); logs that do not decode with the ABI are skipped (see chain/events.py)."""
        return decode_own_logs(receipt["logs"], event_shape(contract_name, event_name), address)

    def rpc(self, method: str, params: list) -> Any:
        """One JSON-RPC call's raw result (0x-hex quantities, None for "not found"), without
        web3's method formatters: on the request path they cost more than the call itself.
        Raises RpcFailed for an error answer, DependencyUnavailable when the node is down."""
        response = self._request(method, params)
        if not isinstance(response, dict) or "error" in response or "result" not in response:
            raise RpcFailed(f"{method} was refused by the chain node")
        return response["result"]

    def token_decimals(self, token: str) -> int:
        """An ERC-20's decimals, read once per token (18 when the token does not say)."""
        cache = self.__dict__.setdefault("_decimals", {})
        key = to_checksum_address(token)
        if key not in cache:
            try:
                cache[key] = int(self.call(self.contract("ERC20Template", key).functions.decimals().call))
            except (Web3Exception, ValueError):
                cache[key] = 18
        return cache[key]

    def call(self, fn, *args, **kwargs):
        """Run a web3 call, turning transport failures into a client-safe 503."""
        try:
            return fn(*args, **kwargs)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise DependencyUnavailable(f"Provider {self.network_name}: chain node unreachable") from exc


class Chains:
    """The configured chains, keyed by chain id."""

    def __init__(self, settings: Settings):
        addresses = read_address_file(settings.address_file) if settings.address_file.exists() else {}
        self._clients = {
            chain_id: ChainClient(chain, addresses, settings.receipt_timeout)
            for chain_id, chain in settings.chains.items()
        }

    def __iter__(self):
        return iter(self._clients.values())

    def ids(self) -> list[int]:
        return sorted(self._clients)

    def get(self, chain_id) -> ChainClient:
        try:
            return self._clients[int(chain_id)]
        except (KeyError, TypeError, ValueError):
            raise ConfigurationError(f"Unconfigured chain_id {chain_id}") from None

    def find(self, chain_id) -> ChainClient | None:
        try:
            return self._clients.get(int(chain_id))
        except (TypeError, ValueError):
            return None
