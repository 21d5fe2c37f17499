"""`ChainClient.view`, the raw eth_call the request path uses, against the real contracts on
anvil: the same answers as web3's contract layer, and a clean refusal for hostile addresses."""
import base64
import http.server
import json
import threading
import time

import pytest
import urllib3

from provider.chain.client import Chains, RawRpc, RpcFailed, ViewCallFailed
from provider.devtools.anvil import free_port
from provider.errors import DependencyUnavailable
from tests.helpers import count_rpc_posts


@pytest.fixture
def chain(make_settings):
    return Chains(make_settings()).get(8996)


def lowered(values) -> tuple:
    """web3 checksums the addresses it decodes; a raw view gives them in lower case."""
    return tuple(v.lower() if isinstance(v, str) else v for v in values)


def test_views_answer_what_the_web3_contract_layer_answers(chain):
    factory = chain.factory()
    address = chain.contract_address("ERC721Factory")
    assert chain.view("ERC721Factory", address, "getCurrentNFTCount") == (factory.functions.getCurrentNFTCount().call(),)
    assert chain.view("ERC721Factory", address, "owner")[0].lower() == factory.functions.owner().call().lower()
    assert chain.view("ERC721Factory", address, "nftTemplateList", 1) == lowered(
        factory.functions.nftTemplateList(1).call())
    stranger = "0x" + "ab" * 20  # an argument in any letter case
    assert chain.view("ERC721Factory", address.lower(), "erc721List", stranger.upper().replace("0X", "0x")) == (
        "0x" + "00" * 20,)
    tuple_valued = chain.view("ERC721Factory", address, "getTokenTemplate", 1)[0]
    assert tuple_valued == lowered(factory.functions.getTokenTemplate(1).call())


@pytest.mark.parametrize("target", [None, "", "0x1234", "not an address", 12, "0x" + "zz" * 20])
def test_what_is_not_an_address_is_refused_before_any_call(chain, target):
    with pytest.raises(ViewCallFailed):
        chain.view("ERC721Template", target, "getMetaData")


def test_no_contract_a_revert_or_a_misfit_answer_is_a_failed_view(chain, dev_chain):
    factory = chain.contract_address("ERC721Factory")
    with pytest.raises(ViewCallFailed):  # an account with no code answers "0x"
        chain.view("ERC721Template", dev_chain.consumer.address, "getMetaData")
    with pytest.raises(ViewCallFailed):  # the factory has no getMetaData: it reverts
        chain.view("ERC721Template", factory, "getMetaData")
    with pytest.raises(ViewCallFailed):  # an argument that does not fit the ABI
        chain.view("AccessList", factory, "balanceOf", "not an address")


def test_the_rpc_session_keeps_the_operators_proxy_settings(monkeypatch):
    from provider.chain.client import rpc_session

    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "node.local")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/operator.pem")
    proxied = rpc_session("https://rpc.example.org")
    assert proxied.proxies.get("https") == "http://proxy.internal:3128" and proxied.verify == "/etc/ssl/operator.pem"
    assert proxied.trust_env is False  # (read once above, not again on every call)
    assert "https" not in rpc_session("https://node.local:8545").proxies


class _Node(http.server.BaseHTTPRequestHandler):
    """A chain node that misbehaves as the test says, and remembers what it was sent."""
    answers: list = []
    seen: list = []

    def do_POST(self):
        _Node.seen.append(({k.lower(): v for k, v in self.headers.items()}, self.rfile.read(int(self.headers["Content-Length"]))))
        status, body = _Node.answers.pop(0) if _Node.answers else (200, b'{"jsonrpc":"2.0","id":1,"result":"0x1"}')
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def node():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Node)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Node.answers, _Node.seen = [], []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_raw_rpc_answers_and_sends_the_credentials_of_the_url(node):
    rpc = RawRpc(node.replace("http://", "http://alice:s3cret@"), 5, "test")
    assert rpc.request("eth_blockNumber", [])["result"] == "0x1"
    headers, body = _Node.seen[-1]
    assert headers["authorization"] == "Basic " + base64.b64encode(b"alice:s3cret").decode()
    assert json.loads(body)["method"] == "eth_blockNumber"


@pytest.mark.parametrize("status, body, error", [
    (500, b"upstream exploded at http://10.0.0.7:8545", DependencyUnavailable),
    (401, b"", DependencyUnavailable),
    (200, b"<html>not json</html>", RpcFailed),
    (200, b"[" * 100000, RpcFailed),
])
def test_a_misbehaving_node_is_a_clean_error_without_its_words(node, status, body, error):
    _Node.answers = [(status, body)]
    with pytest.raises(error) as caught:
        RawRpc(node, 5, "test").request("eth_blockNumber", [])
    assert "10.0.0.7" not in str(caught.value) and "127.0.0.1" not in str(caught.value)


def test_a_dead_node_is_unavailable_and_an_error_answer_a_failed_rpc(node):
    with pytest.raises(DependencyUnavailable):
        RawRpc(f"http://127.0.0.1:{free_port()}", 2, "test").request("eth_blockNumber", [])
    _Node.answers = [(200, b'{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"no"}}')]
    chain_like = RawRpc(node, 5, "test")
    assert "error" in chain_like.request("eth_noSuchMethod", [])


def test_read_ahead_answers_the_calls_of_the_block_from_one_batch(chain):
    address = chain.contract_address("ERC721Factory")
    count = chain.view_request("ERC721Factory", address, "getCurrentNFTCount")[:2]
    block = ("eth_getBlockByNumber", ["0x1", False])
    expected = (chain.view("ERC721Factory", address, "getCurrentNFTCount"), chain.rpc(*block))
    sent = count_rpc_posts(chain)
    with chain.read_ahead([count, None, block]):
        assert len(sent) == 1 and [c["method"] for c in sent[0]] == ["eth_call", "eth_getBlockByNumber"]
        assert (chain.view("ERC721Factory", address, "getCurrentNFTCount"), chain.rpc(*block)) == expected
        assert len(sent) == 1  # both answered from the batch
        seen_elsewhere = []
        other = threading.Thread(target=lambda: seen_elsewhere.append(chain.rpc(*block)))
        other.start()
        other.join()
        assert seen_elsewhere == [expected[1]] and len(sent) == 2  # another thread asks the node itself
        chain.rpc(*block)
        assert len(sent) == 3  # an answer serves one call, not a second one
    chain.view("ERC721Factory", address, "getCurrentNFTCount")
    assert len(sent) == 4  # and none outlives the block


class _NoBatchNode(http.server.BaseHTTPRequestHandler):
    """A node in front of anvil that refuses JSON-RPC batches, as some hosted endpoints do: as
    a whole, or (per_item) with an error for every member."""
    upstream = ""
    per_item = False

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if body.startswith(b"[") and _NoBatchNode.per_item:
            # refused member by member, as nodes that cap batches do
            answer = json.dumps([{"jsonrpc": "2.0", "id": call["id"], "error": {"code": -32005, "message": "limit"}}
                                 for call in json.loads(body)]).encode()
        elif body.startswith(b"["):
            answer = b'{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"batch not allowed"}}'
        else:
            answer = urllib3.request("POST", _NoBatchNode.upstream, body=body,
                                     headers={"Content-Type": "application/json"}).data
        self.send_response(200)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("per_item", [False, True])
def test_read_ahead_from_a_node_without_batches_makes_every_call_itself(chain, dev_chain, per_item):
    _NoBatchNode.per_item = per_item
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NoBatchNode)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _NoBatchNode.upstream = dev_chain.url
    try:
        address = chain.contract_address("ERC721Factory")
        expected = chain.view("ERC721Factory", address, "getCurrentNFTCount")
        chain.__dict__["raw_rpc"] = RawRpc(f"http://127.0.0.1:{server.server_address[1]}", 5, "test")
        with chain.read_ahead([chain.view_request("ERC721Factory", address, "getCurrentNFTCount")[:2],
                               ("eth_blockNumber", [])]):
            assert chain.view("ERC721Factory", address, "getCurrentNFTCount") == expected
            assert int(chain.rpc("eth_blockNumber", []), 16) >= 1
    finally:
        server.shutdown()


def test_read_ahead_from_a_dead_node_is_unavailable_at_once(chain):
    address = chain.contract_address("ERC721Factory")
    calls = [chain.view_request("ERC721Factory", address, "getCurrentNFTCount")[:2], ("eth_blockNumber", [])]
    chain.__dict__["raw_rpc"] = RawRpc(f"http://127.0.0.1:{free_port()}", 2, "test")
    entered = []
    with pytest.raises(DependencyUnavailable):
        with chain.read_ahead(calls):
            entered.append(True)
    assert not entered  # nothing inside the block ran against a node that is not there


def test_a_batch_is_matched_by_id_whatever_order_or_company_the_answers_come_in(node):
    rpc = RawRpc(node, 5, "test")
    first = next(rpc._ids) + 1  # the ids the batch below will use: first, first + 1
    rpc._ids = iter(range(first, first + 10))
    _Node.answers = [(200, json.dumps([
        {"jsonrpc": "2.0", "id": first + 1, "result": "0xb"},
        {"jsonrpc": "2.0", "id": 999, "result": "0xforged"},  # an id nobody asked for
        {"jsonrpc": "2.0", "id": first, "result": "0xa"},
    ]).encode())]
    answers = rpc.batch([("eth_blockNumber", []), ("eth_chainId", []), ("eth_gasPrice", [])])
    assert [a and a["result"] for a in answers] == ["0xa", "0xb", None]
    _Node.answers = [(200, b'{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"no batches"}}')]
    assert rpc.batch([("eth_blockNumber", []), ("eth_chainId", [])]) is None


class _KeepAliveNode(http.server.BaseHTTPRequestHandler):
    """A node speaking HTTP/1.1 with kept-alive connections, counting them; `then` says what it
    does after each answer: keep the connection, drop it silently (as a node does with an idle
    connection), or stall the next answer for `stall` seconds."""
    protocol_version = "HTTP/1.1"
    connections = 0
    requests = 0
    then = "keep"
    stall = 0.0
    body = b'{"jsonrpc":"2.0","id":1,"result":"0x1"}'

    def setup(self):
        super().setup()
        _KeepAliveNode.connections += 1

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        _KeepAliveNode.requests += 1
        if _KeepAliveNode.then == "stall" and _KeepAliveNode.requests > 1:
            time.sleep(_KeepAliveNode.stall)
        self.send_response(200)
        self.send_header("Content-Length", str(len(_KeepAliveNode.body)))
        self.end_headers()
        self.wfile.write(_KeepAliveNode.body)
        self.close_connection = _KeepAliveNode.then == "drop"

    def log_message(self, *args):
        pass


@pytest.fixture
def keepalive_node():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _KeepAliveNode)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _KeepAliveNode.connections = _KeepAliveNode.requests = 0
    _KeepAliveNode.then, _KeepAliveNode.stall = "keep", 0.0
    _KeepAliveNode.body = b'{"jsonrpc":"2.0","id":1,"result":"0x1"}'
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_calls_share_one_kept_connection_per_thread(keepalive_node):
    rpc = RawRpc(keepalive_node, 5, "test")
    for _ in range(5):
        assert rpc.request("eth_blockNumber", [])["result"] == "0x1"
    assert _KeepAliveNode.connections == 1
    other = threading.Thread(target=lambda: rpc.request("eth_blockNumber", []))
    other.start()
    other.join()
    assert _KeepAliveNode.connections == 2  # a thread never shares a connection mid-exchange


def test_a_connection_the_node_dropped_while_idle_is_replaced_without_an_error(keepalive_node):
    _KeepAliveNode.then = "drop"
    rpc = RawRpc(keepalive_node, 5, "test")
    for _ in range(4):
        assert rpc.request("eth_blockNumber", [])["result"] == "0x1"
    assert _KeepAliveNode.requests == 4 and _KeepAliveNode.connections >= 4


def test_a_stalled_node_is_asked_once_and_unavailable_after_the_timeout(keepalive_node):
    _KeepAliveNode.then, _KeepAliveNode.stall = "stall", 3.0
    rpc = RawRpc(keepalive_node, 0.5, "test")
    rpc.request("eth_blockNumber", [])  # answered at once; its connection is kept
    started = time.monotonic()
    with pytest.raises(DependencyUnavailable) as caught:
        rpc.request("eth_blockNumber", [])
    assert time.monotonic() - started < 1.5 and "127.0.0.1" not in str(caught.value)
    assert _KeepAliveNode.requests == 2  # not sent again on a new connection to wait once more


def test_an_answer_larger_than_any_chain_answer_is_refused_unread(keepalive_node, monkeypatch):
    from provider.chain import client
    monkeypatch.setattr(client, "RPC_MAX_ANSWER", 1000)
    _KeepAliveNode.body = b'{"jsonrpc":"2.0","id":1,"result":"0x' + b"0" * 5000 + b'"}'
    rpc = RawRpc(keepalive_node, 5, "test")
    with pytest.raises(RpcFailed):
        rpc.request("eth_blockNumber", [])
    _KeepAliveNode.body = b'{"jsonrpc":"2.0","id":1,"result":"0x2"}'
    assert rpc.request("eth_blockNumber", [])["result"] == "0x2"  # on a new connection: the rest was not read
    assert _KeepAliveNode.connections == 2


def test_a_forked_process_opens_its_own_connection(keepalive_node):
    import os
    rpc = RawRpc(keepalive_node, 5, "test")
    rpc.request("eth_blockNumber", [])
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe
        try:
            os.write(write_end, rpc.request("eth_blockNumber", [])["result"].encode())
        finally:
            os._exit(0)
    os.close(write_end)
    assert os.read(read_end, 100) == b"0x1"
    os.waitpid(child, 0)
    assert rpc.request("eth_blockNumber", [])["result"] == "0x1"  # the parent's connection still answers it alone
    assert _KeepAliveNode.connections == 2 and _KeepAliveNode.requests == 3


class _ForwardingProxy(http.server.BaseHTTPRequestHandler):
    """The operator's HTTP proxy: forwards absolute-URI requests, remembering them."""
    seen: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _ForwardingProxy.seen.append(self.path)
        answer = urllib3.request("POST", self.path, body=body, headers={"Content-Type": "application/json"})
        self.send_response(answer.status)
        self.send_header("Content-Length", str(len(answer.data)))
        self.end_headers()
        self.wfile.write(answer.data)

    def log_message(self, *args):
        pass


def test_with_a_proxy_configured_calls_go_through_it(keepalive_node, monkeypatch):
    proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _ForwardingProxy)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    _ForwardingProxy.seen = []
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.server_address[1]}")
    try:
        rpc = RawRpc(keepalive_node, 5, "test")
        assert rpc.request("eth_blockNumber", [])["result"] == "0x1"
        assert rpc.request("eth_blockNumber", [])["result"] == "0x1"
        assert _ForwardingProxy.seen == [keepalive_node] * 2 and _KeepAliveNode.requests == 2
    finally:
        proxy.shutdown()
