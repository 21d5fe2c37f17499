import json

import pytest

from provider.config import dev_account_key, load_settings
from provider.errors import ConfigurationError

KEY_A = "0x" + "aa" * 32
KEY_B = "0x" + "bb" * 32


def settings(**env):
    return load_settings({"STORAGE_PATH": "/tmp/unused.db", **env}, ask_chain_id=lambda url: 1234)


def test_development_defaults_are_barge():
    s = settings()
    assert s.development and list(s.chains) == [8996]
    assert s.chains[8996].private_key == dev_account_key(s.dev_mnemonic, 8)
    assert s.access.allow_non_public_ip is True  # the demo file is on loopback


def test_environment_overrides_ini():
    s = settings(PROVIDER_MODE="production", NETWORK_URL="http://node:8545", PROVIDER_PRIVATE_KEY=KEY_A,
                 CHAIN_ID="", ALLOW_NON_PUBLIC_IP="false", REQUEST_TIMEOUT="3")
    assert list(s.chains) == [1234]  # asked the node
    assert s.access.allow_non_public_ip is False and s.access.request_timeout == 3
    assert s.universal_private_key == KEY_A


def test_production_requires_a_key():
    with pytest.raises(ConfigurationError, match="PROVIDER_PRIVATE_KEY"):
        settings(PROVIDER_MODE="production")


def test_multichain_json_needs_matching_keys_and_a_universal_key():
    urls = json.dumps({"1": "http://a", "137": "http://b"})
    keys = json.dumps({"1": KEY_A, "137": KEY_B})
    with pytest.raises(ConfigurationError, match="both be single or both json"):
        settings(NETWORK_URL=urls, PROVIDER_PRIVATE_KEY=KEY_A)
    with pytest.raises(ConfigurationError, match="UNIVERSAL_PRIVATE_KEY"):
        settings(NETWORK_URL=urls, PROVIDER_PRIVATE_KEY=keys)
    s = settings(NETWORK_URL=urls, PROVIDER_PRIVATE_KEY=keys, UNIVERSAL_PRIVATE_KEY=KEY_A,
                 PROVIDER_FEE_TOKEN=json.dumps({"137": "0x" + "12" * 20}))
    assert sorted(s.chains) == [1, 137]
    assert s.chains[137].private_key == KEY_B and s.chains[137].fee_token == "0x" + "12" * 20
    assert s.chains[1].fee_token is None


@pytest.mark.parametrize("env", [
    {"PROVIDER_PRIVATE_KEY": "0x1234"},
    {"REQUEST_TIMEOUT": "soon"},
    {"ALLOW_NON_PUBLIC_IP": "maybe"},
    {"PROVIDER_MODE": "staging"},
    {"AUTHORIZED_DECRYPTERS": '{"a": 1}'},
    {"STORAGE_DURABILITY": "eventually"},
])
def test_bad_values_are_refused_at_load(env):
    with pytest.raises(ConfigurationError):
        settings(**env)


def test_storage_durability_defaults_to_a_killed_process_and_may_ask_for_power_loss():
    assert settings().storage.durability == "process"
    assert settings(STORAGE_DURABILITY="power").storage.durability == "power"


def test_private_keys_are_not_in_the_repr():
    assert KEY_A[2:] not in repr(settings(PROVIDER_PRIVATE_KEY=KEY_A))
