"""Encrypting documents to the provider key, and decrypting published DDOs."""
from __future__ import annotations

from flask import Blueprint, Response, request

from provider.crypto.ecies import encrypt as ecies_encrypt
from provider.ddo.decrypt import DecryptRequest
from provider.errors import InvalidRequest
from provider.routes.common import address_field, auth_token, request_data, require, services

bp = Blueprint("documents", __name__)


@bp.post("/encrypt")
def encrypt():
    if request.content_type != "application/octet-stream":
        raise InvalidRequest("Invalid request content type: should be application/octet-stream")
    # A plain dict: werkzeug's MultiDict builds an HTTP exception for every key it lacks (`get`
    # included), and most clients send no signature.
    query = request.args.to_dict()
    chain_id = query.get("chainId")
    if not chain_id:
        raise InvalidRequest("Missing chainId query parameter.")
    svc = services()
    chain = svc.chains.find(chain_id)
    body = request.get_data()
    if chain is None or not body:
        raise InvalidRequest("Failed to encrypt.")
    signature = query.get("signature")
    if signature and signature not in ("null", "undefined"):
        # ocean.js 8 signs encrypt (Ocean Node's `encrypt` command); classic clients send nothing,
        # and ocean.js 8 with an auth token sends `signature=null`: encrypting needs no identity.
        require(query, "consumerAddress", "nonce")
        consumer = address_field(query, "consumerAddress")
        svc.authenticator.authorize_command("encrypt", consumer, query["nonce"], signature)
    ciphertext = ecies_encrypt(chain.public_key, body)
    return Response("0x" + ciphertext.hex(), status=201, content_type="text/plain")


@bp.post("/decrypt")
def decrypt():
    data = request_data()
    require(data, "decrypterAddress", "chainId", "dataNftAddress", "nonce")
    if not data.get("transactionId"):
        require(data, "encryptedDocument", "flags", "documentHash")
    document = services().decryptor.decrypt(
        DecryptRequest(
            decrypter_address=data["decrypterAddress"], chain_id=data["chainId"],
            nft_address=data["dataNftAddress"], nonce=data["nonce"], signature=data.get("signature"),
            auth_token=auth_token(), transaction_id=data.get("transactionId"),
            encrypted_document=data.get("encryptedDocument"), flags=data.get("flags"),
            document_hash=data.get("documentHash"),
        )
    )
    return Response(document, status=201, content_type="text/plain")
