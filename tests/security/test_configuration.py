"""Item: `--production` means production. Without PROVIDER_MODE it used to run in development
mode with the public barge key and private-network fetching."""
import os
import subprocess
import sys

import pytest

from provider.config import PROJECT_ROOT, dev_account_key, load_settings
from provider.errors import ConfigurationError
from tests.conftest import MNEMONIC

DEV_KEY = dev_account_key(MNEMONIC, 8)


def run_production(env: dict, tmp_path) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PROVIDER_", "NETWORK_URL", "CHAIN_ID"))}
    environ.update(STORAGE_PATH=str(tmp_path / "p.db"), PROVIDER_BIND="127.0.0.1:1", **env)
    return subprocess.run([sys.executable, "-m", "provider.cli", "run", "--production", "--workers", "1"],
                          cwd=PROJECT_ROOT, env=environ, capture_output=True, text=True, timeout=60)


def test_production_without_a_key_refuses_to_start_whatever_the_mode_says(tmp_path):
    for mode in ({}, {"PROVIDER_MODE": "development"}):
        result = run_production({"NETWORK_URL": "http://127.0.0.1:8545", "CHAIN_ID": "8996", **mode}, tmp_path)
        assert result.returncode == 2
        assert "PROVIDER_PRIVATE_KEY is required in production mode" in result.stderr


def test_production_settings_do_not_allow_private_networks(tmp_path):
    settings = load_settings({"PROVIDER_MODE": "production", "NETWORK_URL": "http://127.0.0.1:8545",
                              "CHAIN_ID": "8996", "PROVIDER_PRIVATE_KEY": "0x" + "5a" * 32,
                              "STORAGE_PATH": str(tmp_path / "p.db")})
    assert settings.access.allow_non_public_ip is False and not settings.development


@pytest.mark.parametrize("mode", ["development", "production"])
def test_the_development_key_is_refused_off_the_development_chain(tmp_path, mode):
    with pytest.raises(ConfigurationError, match="development key may only be used on chain 8996"):
        load_settings({"PROVIDER_MODE": mode, "NETWORK_URL": "http://127.0.0.1:8545", "CHAIN_ID": "1",
                       "PROVIDER_PRIVATE_KEY": DEV_KEY, "STORAGE_PATH": str(tmp_path / "p.db")})
    with pytest.raises(ConfigurationError, match="development key"):
        load_settings({"PROVIDER_MODE": mode, "NETWORK_URL": '{"8996": "http://a:1", "137": "http://b:1"}',
                       "PROVIDER_PRIVATE_KEY": f'{{"8996": "0x{"1" * 64}", "137": "{DEV_KEY}"}}',
                       "UNIVERSAL_PRIVATE_KEY": "0x" + "2" * 64, "STORAGE_PATH": str(tmp_path / "p.db")})
