"""The publisher's audit trail, attacked: every download and refused order is recorded once, in
order, with the bytes sent; an edited or removed entry is found; only the asset's publisher
reads its entries; client IPs can be kept only as hashes; pruning keeps the chain verifiable."""
from __future__ import annotations

import json
import sqlite3

import pytest

from provider.cli import main as cli
from provider.stores.audit import AuditTrail, RedisAuditLog, SqliteAuditLog, client_var
from provider.stores.sqlite import Database
from tests.helpers import sign
from tests.integration.test_access import CSV, Shop, origin, url_file  # noqa: F401 (origin: fixture)
from tests.integration.test_compute import compute_app, lab  # noqa: F401 (fixtures)


@pytest.fixture
def shop(dev_chain, publisher, make_app):
    app = make_app()
    shop = Shop(dev_chain, publisher, app.test_client())
    shop.app = app
    return shop


def trail_of(shop):
    return shop.app.extensions["provider"].audit


def test_a_download_and_a_refused_order_are_recorded_once_each_in_order(shop, dev_chain, origin):  # noqa: F811
    consumer = dev_chain.consumer
    asset = shop.publish([url_file(origin)])
    tx = shop.order(asset, consumer)
    assert shop.download(asset, consumer, tx).status_code == 200
    refused = shop.download(asset, consumer, "0x" + "12" * 32)
    assert refused.status_code == 400
    entries = trail_of(shop).entries(did=asset.did)
    summary = [(e["action"], e["outcome"]) for e in entries]
    assert summary == [("initialize", "ok"), ("order", "ok"), ("download", "ok"), ("order", "refused"),
                       ("download", "refused")]
    download = entries[2]
    assert download["details"]["bytes"] == len(CSV) and download["details"]["complete"] is True
    assert download["address"] == consumer.address and download["client"] == "127.0.0.1" and download["request_id"]
    assert entries[1]["details"]["orderTx"] == tx
    assert "not found" in entries[3]["reason"] or entries[3]["reason"]
    assert trail_of(shop).verify() == []
    # signatures and tokens never reach the trail
    assert "signature" not in json.dumps(entries)


def test_an_edited_or_removed_entry_is_found(shop, dev_chain, origin, monkeypatch, capsys):  # noqa: F811
    consumer = dev_chain.consumer
    asset = shop.publish([url_file(origin)])
    tx = shop.order(asset, consumer)
    for _ in range(3):
        shop.download(asset, consumer, tx)
    settings = shop.app.extensions["provider"].settings
    monkeypatch.setenv("STORAGE_PATH", str(settings.storage.sqlite_path))
    monkeypatch.setenv("NETWORK_URL", dev_chain.url)
    monkeypatch.setenv("ADDRESS_FILE", str(dev_chain.address_file))
    assert cli(["audit", "verify"]) == 0 and "one unbroken chain" in capsys.readouterr().out
    assert cli(["audit", "export", "--did", asset.did]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["action"] for line in lines].count("download") == 3

    downloads = [e["seq"] for e in trail_of(shop).entries(did=asset.did) if e["action"] == "download"]
    with sqlite3.connect(settings.storage.sqlite_path) as raw:
        raw.execute("UPDATE audit_entry SET details = ? WHERE seq = ?", ('{"bytes": 1, "complete": true}', downloads[0]))
    assert cli(["audit", "verify"]) == 1
    assert f"entry {downloads[0]}: its content was changed" in capsys.readouterr().out
    with sqlite3.connect(settings.storage.sqlite_path) as raw:
        raw.execute("DELETE FROM audit_entry WHERE seq = ?", (downloads[1],))
    assert cli(["audit", "verify"]) == 1
    assert f"entries {downloads[1]}..{downloads[1]} were removed" in capsys.readouterr().out


def audit_request(shop, account, did, nonce=None, signer=None):
    nonce = nonce or shop.nonce(account)
    return shop.client.get("/api/services/auditTrail", query_string={
        "did": did, "address": account.address, "nonce": nonce,
        "signature": sign(signer or account, f"{account.address}{did}{nonce}")})


def test_only_the_publisher_reads_its_assets_trail(shop, dev_chain, origin):  # noqa: F811
    consumer, publisher, stranger = dev_chain.consumer, dev_chain.publisher_account, dev_chain.accounts[3]
    asset = shop.publish([url_file(origin)])
    shop.download(asset, consumer, shop.order(asset, consumer))
    nonce = shop.nonce(publisher)
    reply = audit_request(shop, publisher, asset.did, nonce)
    assert reply.status_code == 200 and reply.get_json()["did"] == asset.did
    assert "download" in [e["action"] for e in reply.get_json()["entries"]]
    assert audit_request(shop, publisher, asset.did, nonce).status_code == 400  # the nonce is spent
    assert audit_request(shop, stranger, asset.did).status_code == 403  # signs as itself: not the owner
    forged = audit_request(shop, publisher, asset.did, signer=stranger)  # claims to be the publisher
    assert forged.status_code == 400
    assert "entries" not in json.dumps(forged.get_json())


def test_client_addresses_may_be_kept_as_hashes_only(make_app, dev_chain, origin, publisher):  # noqa: F811
    app = make_app(AUDIT_HASH_CLIENT_ADDRESSES="true")
    shop = Shop(dev_chain, publisher, app.test_client())
    asset = shop.publish([url_file(origin)])
    shop.initialize(asset, dev_chain.consumer)
    entry = app.extensions["provider"].audit.entries(did=asset.did)[-1]
    assert entry["client"].startswith("sha256:") and "127.0.0.1" not in json.dumps(entry)


@pytest.fixture(params=["sqlite", "redis"])
def audit_log(request, tmp_path):
    """Each store the trail can live in: the contract below holds for both."""
    if request.param == "sqlite":
        return SqliteAuditLog(Database(tmp_path / "a.db"))
    return RedisAuditLog(request.getfixturevalue("redis_client"))


def edit(log, seq, **changes):
    """What someone with access to the store does to an entry."""
    if isinstance(log, SqliteAuditLog):
        with sqlite3.connect(log.db.path) as raw:
            for column, value in changes.items():
                raw.execute(f"UPDATE audit_entry SET {column} = ? WHERE seq = ?", (value, seq))
        return
    key = RedisAuditLog.PREFIX + "entries"
    entry = json.loads(log.redis.hget(key, seq))
    log.redis.hset(key, seq, json.dumps(entry | changes))


def remove(log, seq):
    if isinstance(log, SqliteAuditLog):
        with sqlite3.connect(log.db.path) as raw:
            raw.execute("DELETE FROM audit_entry WHERE seq = ?", (seq,))
        return
    log.redis.hdel(RedisAuditLog.PREFIX + "entries", seq)


def test_every_store_keeps_one_chain_that_shows_edits_removals_and_survives_pruning(audit_log):
    import contextvars
    import threading

    trail = AuditTrail(audit_log, retention_seconds=100, prune_every=10 ** 9)
    token = client_var.set("10.0.0.1")
    try:
        threads = [threading.Thread(target=contextvars.copy_context().run,  # (the request's context)
                                    args=(lambda i=i: trail.record("fileinfo", did=f"did:op:{i % 3}"),))
                   for i in range(12)]  # appended at once: still one chain
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        client_var.reset(token)
    assert [e["seq"] for e in trail.entries()] == list(range(1, 13)) and trail.verify() == []
    assert len(trail.entries(did="did:op:1")) == 4
    assert trail.entries()[0]["client"] == "10.0.0.1"

    for seq in (1, 2, 3):  # the first three are past the retention
        edit(audit_log, seq, at=1.0)
    assert trail.verify() != []  # (moving them in time was an edit, found as such)
    trail.prune()
    assert [e["seq"] for e in trail.entries()] == list(range(4, 13))
    assert trail.verify() == []  # the chain starts from the last pruned entry's hash
    trail.record("fileinfo", did="did:op:new")
    assert trail.verify() == [] and trail.entries()[-1]["seq"] == 13

    edit(audit_log, 5, reason="nothing happened")
    assert trail.verify() == ["entry 5: its content was changed"]
    edit(audit_log, 5, reason=None)
    remove(audit_log, 8)
    assert "entries 8..8 were removed" in trail.verify()


def test_compute_actions_and_result_reads_are_recorded(lab):
    from tests.integration.test_compute import raw_algorithm

    dataset = lab.publish_dataset(raw=True)
    (tx,), _ = lab.order_all([dataset], None)
    job_id = lab.start(dataset, tx, raw_algorithm("open('/data/outputs/o', 'w').write('1234')")).get_json()[0]["jobId"]
    final = lab.wait(job_id)
    output = next(r for r in final["results"] if r["type"] == "output")
    assert lab.result(job_id, output["index"]).data == b"1234"
    stranger = lab.chain.accounts[3]
    assert lab.result(job_id, output["index"], account=stranger).status_code == 404
    entries = lab.client.application.extensions["provider"].audit.entries(did=dataset["id"])
    actions = [(e["action"], e["outcome"]) for e in entries]
    assert actions[:3] == [("compute.initialize", "ok"), ("order", "ok"), ("compute.start", "ok")]
    started = entries[2]
    assert started["details"]["jobId"] == job_id and started["address"] == lab.consumer.address
    reads = [e for e in entries if e["action"] == "compute.result"]
    assert [(e["outcome"], e["address"]) for e in reads] == [("ok", lab.consumer.address), ("refused", stranger.address)]
    assert reads[0]["details"]["bytes"] == 4 and reads[0]["details"]["complete"] is True


def test_providers_sharing_redis_share_one_trail(make_app, redis_url, redis_client, dev_chain, origin, publisher):  # noqa: F811
    first, second = make_app(REDIS_CONNECTION=redis_url), make_app(REDIS_CONNECTION=redis_url)
    asset = Shop(dev_chain, publisher, first.test_client()).publish([url_file(origin)])
    for app in (first, second):
        Shop(dev_chain, publisher, app.test_client()).initialize(asset, dev_chain.consumer)
    trail = second.extensions["provider"].audit
    assert isinstance(trail.log, RedisAuditLog)
    assert [e["action"] for e in trail.entries(did=asset.did)] == ["initialize", "initialize"]
    assert trail.verify() == []


def test_every_store_gives_the_newest_refusals_first_and_forgets_pruned_ones(audit_log):
    """What the operator console shows: the newest N refusals, not the whole trail filtered."""
    trail = AuditTrail(audit_log, retention_seconds=100, prune_every=10 ** 9)
    for i in range(30):
        trail.record("download", did=f"did:op:{i}", outcome="refused" if i % 3 == 0 else "ok", reason=f"r{i}")
    newest = trail.newest_not_ok(4)
    assert [e["did"] for e in newest] == ["did:op:27", "did:op:24", "did:op:21", "did:op:18"]
    assert all(e["outcome"] == "refused" and e["reason"] == "r" + e["did"].rsplit(":", 1)[1] for e in newest)
    assert len(trail.newest_not_ok(100)) == 10

    for seq in range(1, 11):  # entries 1..10 (refusals 0, 3, 6, 9) fall out of the retention
        edit(audit_log, seq, at=1.0)
    trail.prune()
    assert [e["did"] for e in trail.newest_not_ok(100)][-1] == "did:op:12"
    if isinstance(audit_log, SqliteAuditLog):  # read through the partial index, not a scan of the trail
        plan = " ".join(str(tuple(row)) for row in audit_log.db.read().execute(
            "EXPLAIN QUERY PLAN SELECT * FROM audit_entry WHERE outcome != 'ok' ORDER BY seq DESC LIMIT 4"))
        assert "audit_entry_not_ok" in plan


def test_fileinfo_of_a_did_is_kept_a_callers_own_file_object_only_when_refused(shop, origin):  # noqa: F811
    asset = shop.publish([url_file(origin)])
    client, trail = shop.app.test_client(), trail_of(shop)
    before = len(trail.entries())
    assert client.post("/api/services/fileinfo", json={"did": asset.did, "serviceId": "0"}).status_code == 200
    assert client.post("/api/services/fileinfo", json=url_file(origin)).status_code == 200
    assert client.post("/api/services/fileinfo", json={"type": "url", "url": "gopher://x", "method": "GET"}
                       ).status_code == 400
    kept = [(e["action"], e["did"], e["outcome"]) for e in trail.entries()[before:]]
    assert kept == [("fileinfo", asset.did, "ok"), ("fileinfo", None, "refused")]
    assert trail.verify() == []
