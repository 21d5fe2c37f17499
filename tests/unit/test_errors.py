from provider.errors import InvalidSignature, ProviderError, URL_PLACEHOLDER, strip_urls


def test_urls_are_stripped_from_client_messages():
    text = "failed https://mainnet.infura.io/v3/SECRETKEY and wss://node:8546/x and http://10.0.0.1/a?k=1"
    stripped = strip_urls(text)
    assert "SECRET" not in stripped and "10.0.0.1" not in stripped and "node:8546" not in stripped
    assert stripped.count(URL_PLACEHOLDER) == 3
    assert ProviderError("see http://secret.example/x").body() == {"error": f"see {URL_PLACEHOLDER}"}


def test_signature_errors_use_the_reference_shapes():
    assert InvalidSignature("nonce too low").body()["errors"] == {"signature": "nonce too low"}
    assert InvalidSignature("no sig", as_list=True).body() == {
        "errors": {"signature": ["no sig"]}, "message": "Validation error", "success": False}
