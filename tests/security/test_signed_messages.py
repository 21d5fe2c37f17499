"""Issue "compute guarantees", 2: a signature made for one action is worthless for every other.
Before: the status poll did not consume its nonce, and status, stop and delete sign the same
string, so a victim's ocean.py status URL replayed as DELETE destroyed their results; and a
status-list signature (`consumer + did + nonce`) started a job on the victim's order."""
import itertools

from provider.auth.messages import SIGNED_ACTIONS, signed_message
from provider.compute import status as st
from tests.helpers import sign
from tests.integration.test_compute import raw_algorithm


def test_every_signed_action_consumes_its_nonce():
    assert all(action.consumes_nonce for action in SIGNED_ACTIONS.values())


def test_actions_that_sign_the_same_shape_are_listed_and_all_consume():
    """Pairs whose messages can be the very same string: harmless only because each consumes."""
    same_shape = [(a, b) for a, b in itertools.combinations(SIGNED_ACTIONS, 2)
                  if SIGNED_ACTIONS[a].fields == SIGNED_ACTIONS[b].fields]
    assert ("computeStatus", "computeStop") in same_shape and ("computeStop", "computeDelete") in same_shape
    assert signed_message("computeStatus", consumerAddress="0xA", documentId="did:op:1") == signed_message(
        "computeStart", consumerAddress="0xA", dataset_documentId="did:op:1")
    for a, b in same_shape:
        assert SIGNED_ACTIONS[a].consumes_nonce and SIGNED_ACTIONS[b].consumes_nonce


def finished_job(lab):
    dataset = lab.publish_dataset(raw=True)
    (tx,), _ = lab.order_all([dataset], None)
    job_id = lab.start(dataset, tx, raw_algorithm("open('/data/outputs/r','w').write('mine')")).get_json()[0]["jobId"]
    lab.wait(job_id)
    return dataset, tx, job_id


def test_a_replayed_status_url_cannot_delete_or_stop_the_job(lab):
    dataset, _, job_id = finished_job(lab)
    nonce = lab.next_nonce()
    query = {"consumerAddress": lab.consumer.address, "jobId": job_id, "documentId": dataset["id"], "nonce": nonce,
             "signature": sign(lab.consumer, f"{lab.consumer.address}{job_id}{dataset['id']}{nonce}", v01=True)}
    assert lab.client.get("/api/services/compute", query_string=query).status_code == 200  # the victim's poll
    for method in ("DELETE", "PUT", "GET"):
        replay = lab.client.open("/api/services/compute", method=method, query_string=query)
        assert replay.status_code == 400 and "nonce" in replay.get_json()["errors"]["signature"]
    assert lab.status(job_id).get_json()[0]["status"] == st.FINISHED  # still there, results intact
    assert lab.result(job_id, 2).data == b"mine"


def test_a_status_list_signature_cannot_start_a_job(lab):
    dataset = lab.publish_dataset(raw=True)
    (tx,), _ = lab.order_all([dataset], None)
    nonce = lab.next_nonce()
    signature = sign(lab.consumer, f"{lab.consumer.address}{dataset['id']}{nonce}")
    listed = lab.client.get("/api/services/compute", query_string={
        "consumerAddress": lab.consumer.address, "documentId": dataset["id"], "nonce": nonce, "signature": signature})
    assert listed.status_code == 200
    attack = lab.client.post("/api/services/compute", json={
        "dataset": {"documentId": dataset["id"], "serviceId": dataset["services"][0]["id"], "transferTxId": tx},
        "algorithm": raw_algorithm("print('attacker code')"), "environment": "test-free",
        "consumerAddress": lab.consumer.address, "nonce": nonce, "signature": signature})
    assert attack.status_code == 400 and "nonce" in attack.get_json()["errors"]["signature"]
    assert lab.client.application.extensions["provider"].compute.jobs.of_owner(lab.consumer.address, dataset["id"]) == []


def test_one_order_starts_one_job_even_after_the_job_is_deleted(lab):
    dataset, tx, job_id = finished_job(lab)
    assert lab.signed("DELETE", job_id).status_code == 200
    again = lab.start(dataset, tx, raw_algorithm("print('second job on the same order')"))
    assert again.status_code == 400 and again.get_json() == {"error": {"order": "agreement_already_used"}}


def test_initialize_never_offers_a_used_order_as_it_is(lab):
    dataset, tx, _ = finished_job(lab)
    reply = lab.client.post("/api/services/initializeCompute", json={
        "datasets": [{"documentId": dataset["id"], "serviceId": dataset["services"][0]["id"], "transferTxId": tx}],
        "algorithm": raw_algorithm("print(1)"), "compute": {"env": "test-free", "validUntil": int(__import__("time").time()) + 600},
        "consumerAddress": lab.consumer.address}).get_json()
    entry = reply["datasets"][0]
    assert entry["validOrder"] == tx and "providerFee" in entry  # reuse it with reuseOrder: a new agreement


def test_node_commands_name_their_action_and_the_one_shared_shape_is_single_use():
    """ocean.js 8 signs `address + nonce + command`: distinct per action, so one action's
    signature is never another's. The exception is invalidateAuthToken (`address + nonce`, as
    ocean.js sends it), the same string as the classic createAuthToken/deleteAuthToken message:
    all three consume the nonce (test_node_protocol replays it across them)."""
    from provider.auth.messages import NODE_COMMANDS, node_message
    commands = [c.command for c in NODE_COMMANDS.values() if c.command is not None]
    assert len(commands) == len(set(commands))
    messages = {action: node_message(action, "0xA", "7") for action in NODE_COMMANDS}
    assert len(set(messages.values())) == len(messages)
    classic_address_only = [a for a, spec in SIGNED_ACTIONS.items() if spec.fields == ("address",)]
    assert sorted(classic_address_only) == ["createAuthToken", "deleteAuthToken"]
    assert messages["invalidateAuthToken"] == signed_message("createAuthToken", address="0xA") + "7"
    # no other node message reads as a classic message with a nonce appended: each ends in its command
    assert all(messages[a].endswith(NODE_COMMANDS[a].command) for a in NODE_COMMANDS if a != "invalidateAuthToken")
