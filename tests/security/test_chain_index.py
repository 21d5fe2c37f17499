"""Items: poisoned on-chain documents, decompression bombs in the index, and an index that
follows the chain it is on (reorganisations, a node restarted on a fresh chain)."""
import hashlib
import lzma
import resource

import pytest

from provider.app import create_app
from provider.chain.client import make_web3
from provider.config import load_settings
from provider.devtools.anvil import Anvil, free_port
from provider.devtools.deploy import dev_accounts, ensure_deployed
from provider.devtools.publisher import Publisher
from tests.conftest import MNEMONIC

NESTED = b"[" * 100000 + b"]" * 100000


def publish_raw(publisher, owner, plain: bytes, flags: int = 1):
    """A data NFT whose metadata is `plain` (compressed by flags), with its correct hash."""
    nft, _ = publisher.create_nft_with_datatoken(owner)
    data = lzma.compress(plain) if flags & 1 else plain
    publisher.set_metadata(owner, nft, plain, flags, data=data, document_hash=hashlib.sha256(plain).digest())
    return nft


def did_of(nft, chain_id=8996):
    from provider.ddo.schema import make_did
    return make_did(nft, chain_id)


def test_a_poisoned_document_is_refused_with_its_reason_and_indexing_goes_on(client, dev_chain, publisher):
    owner = dev_chain.publisher_account
    poisoned = publish_raw(publisher, owner, NESTED)
    services = client.application.extensions["provider"]
    services.indexers[0].sync()
    refused = services.assets.get(did_of(poisoned))
    assert refused is not None and refused.ddo is None and "nested more than" in refused.error
    later = publisher.publish(owner, [])
    assert client.get(f"/api/aquarius/assets/ddo/{later.did}").status_code == 200
    assert services.indexers[0].last_indexed_block() == dev_chain.w3.eth.block_number


def test_documents_that_are_not_json_objects_are_refused_not_fatal(client, dev_chain, publisher):
    owner = dev_chain.publisher_account
    nfts = [publish_raw(publisher, owner, plain, flags=0) for plain in (b"\xff\xfe", b"[1,2]", b"{\"id\": [")]
    services = client.application.extensions["provider"]
    services.indexers[0].sync()
    for nft in nfts:
        assert services.assets.get(did_of(nft)).error


@pytest.fixture(scope="module")
def bomb():
    return b"\0" * (64 * 1024 * 1024)  # 64 MiB: 10 KB compressed, four times the default cap


def test_a_decompression_bomb_in_the_index_is_refused_before_it_expands(client, dev_chain, publisher, bomb):
    owner = dev_chain.publisher_account
    nft = publish_raw(publisher, owner, bomb)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # an unsigned lookup of the unknown DID makes the provider catch up with the chain
    response = client.get(f"/api/aquarius/assets/ddo/{did_of(nft)}")
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert response.status_code == 404
    asset = client.application.extensions["provider"].assets.get(did_of(nft))
    assert "larger than" in asset.error
    assert grown_mib < 40  # the cap is 16 MiB; unbounded, this lookup allocated the whole 64 MiB and more


# ---- following the chain ---------------------------------------------------------------------

class OwnChain:
    """An anvil of its own (reverting or replacing the session chain would disturb other tests)."""

    def __init__(self, tmp_path):
        self.address_file = tmp_path / "address.json"
        self.db = tmp_path / "provider.db"
        self.anvil = None
        self.start()

    def start(self):
        self.anvil = Anvil(free_port(), 8996, MNEMONIC)
        self.w3 = make_web3(self.anvil.url)
        self.contracts = ensure_deployed(self.w3, MNEMONIC, self.address_file)
        self.accounts = dev_accounts(MNEMONIC)
        self.publisher = Publisher(self.w3, self.contracts["ERC721Factory"], self.accounts[8].key.hex(),
                                   "http://127.0.0.1:8030")

    def app(self):
        settings = load_settings({"PROVIDER_MODE": "development", "NETWORK_URL": self.anvil.url,
                                  "ADDRESS_FILE": str(self.address_file), "STORAGE_PATH": str(self.db),
                                  "LOG_LEVEL": "WARNING", "COMPUTE_ENABLED": "false"})
        return create_app(settings, start_background=False)

    def rpc(self, method, *params):
        return self.w3.provider.make_request(method, list(params))["result"]


@pytest.fixture
def own_chain(tmp_path):
    chain = OwnChain(tmp_path)
    yield chain
    chain.anvil.stop()


def resolves(app, did) -> bool:
    return app.test_client().get(f"/api/aquarius/assets/ddo/{did}").status_code == 200


def test_a_reorganisation_undoes_the_events_of_the_blocks_that_are_gone(own_chain):
    app = own_chain.app()
    indexer = app.extensions["provider"].indexers[0]
    owner = own_chain.accounts[1]
    kept = own_chain.publisher.publish(owner, [])
    snapshot = own_chain.rpc("evm_snapshot")
    # NFT addresses come from the factory's nonce: the new branch's first NFT gets the address of
    # the lost branch's first one, so the lost branch publishes one more, which must vanish.
    replaced = own_chain.publisher.publish(owner, [])
    gone = own_chain.publisher.publish(owner, [])
    updated = dict(kept.ddo, metadata=dict(kept.ddo["metadata"], name="renamed on the lost branch"))
    own_chain.publisher.set_metadata(owner, kept.nft_address, updated, 2)
    indexer.sync()
    assert resolves(app, gone.did)
    assert app.extensions["provider"].assets.get(kept.did).ddo["metadata"]["name"] == "renamed on the lost branch"
    lost_head = own_chain.w3.eth.block_number

    assert own_chain.rpc("evm_revert", snapshot) is True
    other = own_chain.publisher.publish(owner, [])  # new blocks at the heights the lost branch had
    own_chain.rpc("anvil_mine", hex(lost_head - own_chain.w3.eth.block_number + 3))
    indexer.sync()
    assert not resolves(app, gone.did)
    assert other.did == replaced.did
    assert app.extensions["provider"].assets.get(other.did).ddo == other.ddo != replaced.ddo
    # the update on the lost branch is undone: the asset is back to its first document
    assert app.extensions["provider"].assets.get(kept.did).ddo == kept.ddo
    assert indexer.last_indexed_block() == own_chain.w3.eth.block_number


def test_a_shorter_chain_after_a_revert_is_followed_too(own_chain):
    app = own_chain.app()
    indexer = app.extensions["provider"].indexers[0]
    owner = own_chain.accounts[1]
    snapshot = own_chain.rpc("evm_snapshot")
    own_chain.publisher.publish(owner, [])
    gone = own_chain.publisher.publish(owner, [])
    own_chain.rpc("anvil_mine", hex(20))
    indexer.sync()
    assert resolves(app, gone.did)
    own_chain.rpc("evm_revert", snapshot)  # the head is now below the indexed block
    fresh = own_chain.publisher.publish(owner, [])
    indexer.sync()
    assert not resolves(app, gone.did)
    assert app.extensions["provider"].assets.get(fresh.did).ddo == fresh.ddo


def test_a_node_restarted_on_a_fresh_chain_is_indexed_from_the_start(own_chain):
    app = own_chain.app()
    owner = own_chain.accounts[1]
    own_chain.publisher.publish(owner, [])
    old = own_chain.publisher.publish(owner, [])
    own_chain.rpc("anvil_mine", hex(50))  # the old chain is well ahead of what the new one will have
    app.extensions["provider"].indexers[0].sync()
    assert resolves(app, old.did)
    app.extensions["provider"].stop_background()

    own_chain.anvil.stop()
    own_chain.start()  # `make run` again: a fresh anvil, contracts deployed again, same database
    app = own_chain.app()
    new = own_chain.publisher.publish(owner, [])
    assert own_chain.w3.eth.block_number < 50  # published at a height the old index had passed
    app.extensions["provider"].indexers[0].sync()  # what the indexer thread does every second
    assert resolves(app, new.did)
    assert app.extensions["provider"].assets.get(new.did).ddo == new.ddo
    assert not resolves(app, old.did)  # the old chain's second asset is not on this chain
