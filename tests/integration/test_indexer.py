"""The built-in indexer and the Aquarius-compatible routes, on real published assets."""
import hashlib
import json

import pytest

from provider.chain.contracts import abi
from provider.chain.tx import send_transaction
from provider.ddo.indexer import ChainIndexer
from provider.ddo.store import AssetStore
from provider.stores.leases import Leases
from provider.devtools.publisher import compact


def get_ddo(client, did):
    return client.get(f"/api/aquarius/assets/ddo/{did}")


@pytest.mark.parametrize("flags", [0, 1, 2, 3])
def test_published_asset_resolves_with_indexer_blocks(client, dev_chain, publisher, flags):
    asset = publisher.publish(dev_chain.publisher_account, [], flags=flags)
    r = get_ddo(client, asset.did)
    assert r.status_code == 200
    ddo = r.get_json()
    assert ddo["id"] == asset.did and ddo["services"] == asset.ddo["services"]
    assert ddo["nft"]["address"] == asset.nft_address
    assert ddo["nft"]["state"] == 0
    assert ddo["nft"]["owner"] == dev_chain.publisher_account.address
    assert ddo["event"]["tx"] == asset.tx_hash
    assert ddo["datatokens"] == [{"address": asset.datatoken_address, "serviceId": "0"}]
    assert client.get(f"/api/aquarius/assets/metadata/{asset.did}").get_json() == asset.ddo["metadata"]


def test_indexed_metadata_for_ocean_js_8_with_the_prices_on_chain(client, dev_chain, publisher):
    owner = dev_chain.publisher_account
    asset = publisher.publish(owner, [])
    indexed = get_ddo(client, asset.did).get_json()["indexedMetadata"]
    assert indexed["event"]["txid"] == asset.tx_hash and indexed["nft"]["address"] == asset.nft_address
    assert indexed["stats"] == [{"datatokenAddress": asset.datatoken_address, "serviceId": "0",
                                 "name": indexed["stats"][0]["name"], "symbol": indexed["stats"][0]["symbol"],
                                 "prices": []}]
    # the publisher adds a dispenser and a fixed-rate exchange, then updates the document
    contracts = json.loads(dev_chain.address_file.read_text())["development"]
    datatoken = dev_chain.w3.eth.contract(address=asset.datatoken_address, abi=abi("ERC20Template"))
    send_transaction(dev_chain.w3, owner, datatoken.functions.createDispenser(
        contracts["Dispenser"], 10**18, 10**18, True, "0x" + "00" * 20))
    send_transaction(dev_chain.w3, owner, datatoken.functions.createFixedRate(
        contracts["FixedPrice"], [contracts["Ocean"], owner.address, owner.address, "0x" + "00" * 20],
        [18, 18, 3 * 10**18, 0, 1]))
    tx = publisher.set_metadata(owner, asset.nft_address, asset.ddo)
    client.application.extensions["provider"].indexers[0].sync()
    indexed = get_ddo(client, asset.did).get_json()["indexedMetadata"]
    assert indexed["event"]["txid"] == tx
    prices = {p["type"]: p for p in indexed["stats"][0]["prices"]}
    assert prices["dispenser"]["price"] == "0" and prices["dispenser"]["contract"] == contracts["Dispenser"]
    assert prices["fixedrate"]["price"] == "3" and prices["fixedrate"]["token"] == contracts["Ocean"]


def test_unknown_did_body_has_the_text_ocean_py_looks_for(client):
    did = "did:op:" + "ab" * 32
    r = get_ddo(client, did)
    assert r.status_code == 404 and f"Asset DID {did} not found in Elasticsearch" in r.get_data(as_text=True)
    assert get_ddo(client, "did:op:nothex").status_code == 404


def test_update_and_state_change_are_picked_up(client, dev_chain, publisher):
    owner = dev_chain.publisher_account
    asset = publisher.publish(owner, [])
    assert get_ddo(client, asset.did).status_code == 200
    updated = dict(asset.ddo, metadata=dict(asset.ddo["metadata"], name="Renamed"))
    tx = publisher.set_metadata(owner, asset.nft_address, updated, 3)
    publisher.set_state(owner, asset.nft_address, 4)
    services = client.application.extensions["provider"]
    services.indexers[0].sync()
    ddo = get_ddo(client, asset.did).get_json()
    assert ddo["metadata"]["name"] == "Renamed" and ddo["event"]["tx"] == tx
    assert ddo["nft"]["state"] == 4


def test_documents_that_fail_checks_are_not_served(client, dev_chain, publisher):
    owner = dev_chain.publisher_account
    nft, dt = publisher.create_nft_with_datatoken(owner)
    ddo = publisher.make_ddo(nft, dt, [])
    publisher.set_metadata(owner, nft, ddo, 2, document_hash=b"\x01" * 32)  # wrong hash
    assert get_ddo(client, ddo["id"]).status_code == 404
    assert client.application.extensions["provider"].assets.get(ddo["id"]).error == "Checksum doesn't match."
    # a document claiming another DID under this NFT is refused too
    nft2, dt2 = publisher.create_nft_with_datatoken(owner)
    impostor = dict(publisher.make_ddo(nft2, dt2, []), id=ddo["id"])
    publisher.set_metadata(owner, nft2, impostor, 2)
    assert get_ddo(client, ddo["id"]).status_code == 404
    # a valid update afterwards is served
    publisher.set_metadata(owner, nft, ddo, 2)
    assert get_ddo(client, ddo["id"]).status_code == 200


class RecordingIndexer(ChainIndexer):
    """Records the block ranges it asks the node for; indexing itself is unchanged."""

    ranges: list

    def _index_range(self, first, last):
        self.ranges.append((first, last))
        super()._index_range(first, last)


def test_restart_resumes_from_the_stored_block(app, dev_chain, publisher):
    services = app.extensions["provider"]
    chain = services.chains.get(8996)
    first = RecordingIndexer(chain, AssetStore(services.db), Leases(services.db), services.settings.indexer)
    first.ranges = []
    first.sync()
    head = dev_chain.w3.eth.block_number
    assert first.ranges[0][0] == 0 and first.ranges[-1][1] == head
    asset = publisher.publish(dev_chain.publisher_account, [])
    # "restart": a new indexer (new holder id) on the same database, after the lease expires
    with services.db.write() as conn:
        conn.execute("DELETE FROM lease")
    second = RecordingIndexer(chain, AssetStore(services.db), Leases(services.db), services.settings.indexer)
    second.ranges = []
    second.sync()
    assert second.ranges and second.ranges[0][0] == head + 1
    assert services.assets.get(asset.did).ddo == asset.ddo


def test_only_the_lease_holder_indexes(app):
    services = app.extensions["provider"]
    chain = services.chains.get(8996)
    a = ChainIndexer(chain, AssetStore(services.db), Leases(services.db), services.settings.indexer)
    b = ChainIndexer(chain, AssetStore(services.db), Leases(services.db), services.settings.indexer)
    assert a.sync() is True
    assert b.sync() is False
    assert a.sync() is True


def test_validate_proof_is_accepted_by_set_metadata_on_chain(client, dev_chain, publisher):
    """ocean.py publishes with the proof from ddo/validate; the contract checks it."""
    owner = dev_chain.publisher_account
    nft, dt = publisher.create_nft_with_datatoken(owner)
    ddo = publisher.make_ddo(nft, dt, [])
    body = compact(ddo)
    proof = client.post("/api/aquarius/assets/ddo/validate", data=body,
                        content_type="application/octet-stream").get_json()
    assert proof["hash"] == "0x" + hashlib.sha256(body).hexdigest()
    assert proof["publicKey"] == dev_chain.provider_account.address
    contract = dev_chain.w3.eth.contract(address=nft, abi=abi("ERC721Template"))
    data, digest = publisher.encode(ddo, 2)
    proofs = [(proof["publicKey"], proof["v"], proof["r"][0], proof["s"][0])]
    send_transaction(dev_chain.w3, owner, contract.functions.setMetaData(
        0, "http://127.0.0.1:8030", owner.address, b"\x02", data, digest, proofs))
    # a proof for another document makes the transaction revert
    other = client.post("/api/aquarius/assets/ddo/validate", data=body + b" ",
                        content_type="application/octet-stream").get_json()
    with pytest.raises(Exception):
        send_transaction(dev_chain.w3, owner, contract.functions.setMetaData(
            0, "http://127.0.0.1:8030", owner.address, b"\x02", data, digest,
            [(other["publicKey"], other["v"], other["r"][0], other["s"][0])]))


def test_validate_refuses_malformed_documents(client):
    r = client.post("/api/aquarius/assets/ddo/validate", data=b"not json", content_type="application/octet-stream")
    assert r.status_code == 400
    r = client.post("/api/aquarius/assets/ddo/validate", data=json.dumps({"id": "x"}).encode(),
                    content_type="application/octet-stream")
    assert r.status_code == 400 and set(r.get_json()["error"]) >= {"id", "metadata", "services", "chainId"}
