"""Auth tokens: HS256 JWTs `{"exp", "address"}` keyed by the universal provider key.

Creation is deterministic (same address and expiry give the same token), as in the
reference, so clients that cache a token keep working; a revoked token that is created again
by its owner with a fresh signature is restored.
"""
from __future__ import annotations

import time

import jwt

from provider.auth.signatures import same_address
from provider.errors import BadRequest
from provider.stores.revocations import RevocationStore


class AuthTokens:
    def __init__(self, secret: str, revocations: RevocationStore):
        self._secret = secret
        self._revocations = revocations

    def create(self, address: str, expiration: int) -> str:
        if expiration <= time.time():
            raise BadRequest("Token is expired.")
        token = jwt.encode({"exp": int(expiration), "address": address}, self._secret, algorithm="HS256")
        self._revocations.restore(token)
        return token

    def address_of(self, token: str) -> str:
        """The address a valid token was issued to; raises BadRequest with the reference texts."""
        try:
            payload = jwt.decode(token, self._secret, algorithms=["HS256"], options={"require": ["exp"]})
        except jwt.ExpiredSignatureError:
            raise BadRequest("Token is expired.") from None
        except jwt.PyJWTError:
            raise BadRequest("Token is invalid.") from None
        if self._revocations.is_revoked(token):
            raise BadRequest("Token is deleted.")
        address = payload.get("address")
        if not isinstance(address, str):
            raise BadRequest("Token is invalid.")
        return address

    def check(self, token: str, address: str) -> None:
        if not same_address(self.address_of(token), address):
            raise BadRequest("Token is invalid.")

    def revoke(self, token: str, address: str) -> None:
        self.check(token, address)
        self._revocations.revoke(token)
