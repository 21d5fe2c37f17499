"""Item: no unhandled 500 from malformed input: unparsable URLs, a port above 65535 in a
redirect, CR/LF in file-object headers, framing headers set by a publisher, bad ABIs in a
smartcontract file, and result names a header cannot carry."""
import pytest



def fileinfo(client, **obj):
    return client.post("/api/services/fileinfo", json={"type": "url", "method": "GET", **obj})


@pytest.mark.parametrize("url", ["http://[::1", "http://[::1]:99999/x", "http://host:port/x", "http://[zz::1]/",
                                 "http://a:-1/", "ftp://example.com/x"])
def test_unparsable_or_unsupported_urls_are_a_clean_400(client, url):
    response = fileinfo(client, url=url)
    assert response.status_code == 400, response.get_json()
    assert "error" in response.get_json()


def test_credentials_in_a_file_url_make_an_unavailable_file(client):
    response = fileinfo(client, url="http://user:pw@127.0.0.1:9/")
    assert response.status_code == 200 and response.get_json()[0]["valid"] is False


@pytest.mark.parametrize("location", ["http://127.0.0.1:99999/x", "http://[::1", "http://[::1]:0/", "gopher://x/"])
def test_a_malformed_redirect_is_an_unavailable_file_not_a_crash(client, hostile, location):
    response = fileinfo(client, url=f"{hostile.url}/redirect?location={location}")
    assert response.status_code == 200 and response.get_json()[0]["valid"] is False


@pytest.mark.parametrize("headers,message", [
    ({"X-Key": "v\r\nInjected: 1"}, "invalid header"),
    ({"X-Key\r\nInjected": "v"}, "invalid header"),
    ({"X-Key": "v\x00"}, "invalid header"),
    ({"Host": "internal.example"}, "the Host header may not be set"),
    ({"transfer-encoding": "chunked"}, "may not be set"),
    ({"Content-Length": "5"}, "may not be set"),
    ({"Connection": "close"}, "may not be set"),
])
def test_file_object_headers_are_checked(client, hostile, headers, message):
    response = fileinfo(client, url=f"{hostile.url}/ignores-range/10", headers=headers)
    assert response.status_code == 400 and message in response.get_json()["error"]


@pytest.mark.parametrize("abi", [
    {"name": "f", "type": "function", "stateMutability": "view", "inputs": [{"name": "a", "type": "uint999"}]},
    {"name": "f", "type": "function", "stateMutability": "view", "inputs": [{"name": 5, "type": "uint256"}]},
    {"name": "f", "type": "function", "stateMutability": "view", "inputs": "all", "outputs": []},
    {"name": "f", "type": "function", "stateMutability": "view", "inputs": [], "outputs": [{"type": "tuple"}]},
    {"name": "f", "type": "function", "stateMutability": "view", "inputs": [], "outputs": [{"type": ["x"]}]},
    {"name": "not a name", "type": "function", "stateMutability": "view", "inputs": [], "outputs": []},
])
def test_bad_abis_in_smartcontract_files_are_a_clean_400(client, dev_chain, abi):
    response = client.post("/api/services/fileinfo", json={
        "type": "smartcontract", "chainId": 8996, "address": dev_chain.contracts["Ocean"], "abi": abi})
    assert response.status_code == 400 and response.get_json()["error"] == "invalid abi"


def test_arguments_a_function_cannot_take_make_an_unavailable_file(client, dev_chain):
    abi = {"name": "balanceOf", "type": "function", "stateMutability": "view",
           "inputs": [{"name": "account", "type": "address"}], "outputs": [{"name": "", "type": "uint256"}]}
    for value in ("not an address", 12, ["x"], {"a": 1}):
        response = client.post("/api/services/fileinfo", json={
            "type": "smartcontract", "chainId": 8996, "address": dev_chain.contracts["Ocean"], "abi": abi,
            "userdata": {"account": value}})
        assert response.status_code == 200 and response.get_json()[0]["valid"] is False


@pytest.mark.parametrize("field,value", [("hash", "../../admin"), ("hash", "http://evil.example/x"),
                                         ("transactionId", "http://evil.example/"), ("transactionId", "a/../b")])
def test_gateway_identifiers_cannot_leave_the_gateway(client, field, value):
    kind = "ipfs" if field == "hash" else "arweave"
    response = client.post("/api/services/fileinfo", json={"type": kind, field: value})
    assert response.status_code == 400
