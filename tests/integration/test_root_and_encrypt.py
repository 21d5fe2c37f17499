from provider.routes.root import service_endpoints  # noqa: F401  (import check)

EXPECTED = {"nonce": ["GET", "/api/services/nonce"], "encrypt": ["POST", "/api/services/encrypt"],
            "decrypt": ["POST", "/api/services/decrypt"],
            "create_auth_token": ["GET", "/api/services/createAuthToken"],
            "delete_auth_token": ["DELETE", "/api/services/deleteAuthToken"]}


def test_root_lists_endpoints_under_client_names(client, dev_chain):
    body = client.get("/").get_json()
    assert body["software"] == "Provider" and body["version"]
    assert body["chainIds"] == [8996]
    assert body["providerAddresses"] == {"8996": dev_chain.provider_account.address}
    for name, value in EXPECTED.items():
        assert body["serviceEndpoints"][name] == value
    # every announced endpoint is a registered route
    routes = {(m, r.rule) for r in client.application.url_map.iter_rules() for m in r.methods}
    assert all((m, p) in routes for m, p in body["serviceEndpoints"].values())


def test_unknown_route_and_head_give_json(client):
    response = client.get("/api/services/nothing")
    assert response.status_code == 404 and response.get_json() == {"error": "Not Found"}
    head = client.head("/api/services/nonce?userAddress=0x" + "00" * 20)
    assert head.status_code == 405


def test_encrypt_validation(client):
    assert client.post("/api/services/encrypt?chainId=8996", json={"a": 1}).get_json() == {
        "error": "Invalid request content type: should be application/octet-stream"}
    r = client.post("/api/services/encrypt", data=b"x", content_type="application/octet-stream")
    assert r.status_code == 400 and r.get_json() == {"error": "Missing chainId query parameter."}
    r = client.post("/api/services/encrypt?chainId=1", data=b"x", content_type="application/octet-stream")
    assert r.status_code == 400 and r.get_json() == {"error": "Failed to encrypt."}


def test_encrypt_returns_hex_text_the_provider_key_opens(client, dev_chain):
    from provider.crypto.ecies import decrypt

    r = client.post("/api/services/encrypt?chainId=8996", data=b'{"files":[]}',
                    content_type="application/octet-stream")
    assert r.status_code == 201 and r.content_type.startswith("text/plain")
    text = r.get_data(as_text=True)
    assert text.startswith("0x")
    assert decrypt(dev_chain.provider_account.key.hex(), bytes.fromhex(text[2:])) == b'{"files":[]}'


def test_cors_is_open_for_browser_clients(client):
    assert client.get("/").headers["Access-Control-Allow-Origin"] == "*"
