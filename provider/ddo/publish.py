"""`ddo/validate`: check a DDO before it is published and sign its hash (a service: it uses
the chains' keys and, for ocean.js 8, the request authenticator).

Three request forms: ocean.py posts the DDO itself; ocean.js 3.3/4 posts `{"ddo": ...}`;
ocean.js 8 posts `{"ddo", "publisherAddress", "nonce", "signature"}` with Ocean Node's
`validateDDO` command. The returned `hash` becomes the on-chain `metadataHash`, which the
indexer later compares with sha256 of the document it decrypts, i.e. of the bytes the client
encrypted: so it is sha256 of the DDO's exact bytes as posted, and those same bytes are what
is validated (a body with two `ddo` members cannot have one validated and another hashed).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from provider import boundedjson
from provider.auth.service import RequestAuthenticator
from provider.auth.signatures import prefixed_hash_digest, sign_digest
from provider.chain.client import Chains
from provider.ddo import schema
from provider.errors import InvalidRequest
from provider.validation import address_field, require


@dataclass(frozen=True)
class ValidationProof:
    hash: str
    public_key: str
    v: int
    r: str
    s: str


class PublishingValidator:
    def __init__(self, chains: Chains, authenticator: RequestAuthenticator):
        self.chains = chains
        self.authenticator = authenticator

    def validate(self, body: bytes, auth_token: str | None = None) -> ValidationProof:
        try:
            text = body.decode("utf-8")
            parsed = boundedjson.loads(text, what="DDO")
        except (UnicodeDecodeError, ValueError):
            raise InvalidRequest("Invalid DDO: not JSON") from None
        document_text = text
        if isinstance(parsed, dict) and "ddo" in parsed and isinstance(parsed.get("ddo"), dict):
            document_text = boundedjson.member_text(text, "ddo")
            if document_text is None:
                raise InvalidRequest("Invalid DDO: not JSON")
            self._authorize(parsed, auth_token)
            parsed = boundedjson.loads(document_text, what="DDO")
        errors = schema.validation_errors(parsed)
        chain = self.chains.find(schema.fields(parsed).chain_id) if isinstance(parsed, dict) else None
        if chain is None and isinstance(parsed, dict):
            errors.setdefault("chainId", "is not a chain this provider serves")
        if errors:
            raise InvalidRequest(errors)
        digest = hashlib.sha256(document_text.encode("utf-8")).digest()
        v, r, s = sign_digest(chain.settings.private_key, prefixed_hash_digest(digest))
        return ValidationProof("0x" + digest.hex(), chain.provider_address, v, "0x" + r.hex(), "0x" + s.hex())

    def _authorize(self, wrapper: dict[str, Any], auth_token: str | None) -> None:
        """ocean.js 8 signs validation (`validateDDO`) or sends its auth token; older clients
        send neither, and then nothing is checked (validation reveals nothing and costs a hash)."""
        if wrapper.get("signature"):
            require(wrapper, "publisherAddress", "nonce")
            publisher = address_field(wrapper, "publisherAddress")
            self.authenticator.authorize_command("validateDDO", publisher, wrapper["nonce"], wrapper["signature"])
        elif auth_token and wrapper.get("publisherAddress"):
            self.authenticator.verify_token(auth_token, address_field(wrapper, "publisherAddress"))
