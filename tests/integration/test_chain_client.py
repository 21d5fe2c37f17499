"""`ChainClient.view`, the raw eth_call the request path uses, against the real contracts on
anvil: the same answers as web3's contract layer, and a clean refusal for hostile addresses."""
import pytest

from provider.chain.client import Chains, ViewCallFailed


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
