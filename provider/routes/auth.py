"""Nonces and auth tokens."""
from __future__ import annotations

from flask import Blueprint, jsonify

from provider.auth.messages import signed_message
from provider.routes.common import address_field, integer_field, json_body, request_data, require, services
from provider.stores.nonces import nonce_json

bp = Blueprint("auth", __name__)


@bp.get("/nonce")
def nonce():
    data = request_data()
    address = address_field(data, "userAddress")
    stored = services().nonces.current(address)
    # A number, not the reference's Decimal-as-string: clients parse either.
    return jsonify(nonce=nonce_json(stored, missing=0))


@bp.get("/createAuthToken")
def create_auth_token():
    data = request_data()
    require(data, "address", "expiration", "nonce", "signature")
    address = address_field(data, "address")
    expiration = integer_field(data, "expiration")
    svc = services()
    # Unlike the reference, creating a token consumes the nonce: the request cannot be replayed.
    svc.authenticator.authorize(
        signer=address, message=signed_message("createAuthToken", address=address), nonce=data["nonce"],
        signature=data["signature"], allow_token=False)
    return jsonify(token=svc.tokens.create(address, expiration))


@bp.delete("/deleteAuthToken")
def delete_auth_token():
    data = request_data()
    require(data, "address", "token", "nonce", "signature")
    address = address_field(data, "address")
    svc = services()
    svc.authenticator.authorize(
        signer=address, message=signed_message("deleteAuthToken", address=address), nonce=data["nonce"],
        signature=data["signature"], allow_token=False)
    svc.tokens.revoke(str(data["token"]), address)
    return jsonify(success="Token has been deactivated.")


# ---- the Ocean Node form (ocean.js 8): JSON bodies, `address + nonce + command` signatures ----

@bp.post("/auth/token")
def generateAuthToken():
    data = json_body()
    require(data, "address", "nonce", "signature")
    address = address_field(data, "address")
    svc = services()
    svc.authenticator.authorize_command("createAuthToken", address, data["nonce"], data["signature"])
    return jsonify(token=svc.tokens.create(address, svc.tokens.expiry_for(data.get("validUntil"))))


@bp.post("/auth/token/invalidate")
def invalidateAuthToken():
    data = json_body()
    require(data, "address", "token", "nonce", "signature")
    address = address_field(data, "address")
    svc = services()
    svc.authenticator.authorize_command("invalidateAuthToken", address, data["nonce"], data["signature"])
    svc.tokens.revoke(str(data["token"]), address)
    return jsonify(success=True)
