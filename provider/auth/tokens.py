"""Auth tokens: HS256 JWTs `{"exp", "address"}` keyed by the universal provider key.

Creation is deterministic (same address and expiry give the same token), as in the
reference, so clients that cache a token keep working; a revoked token that is created again
by its owner with a fresh signature is restored.

A token is revoked by what it means, not by its text: the identity of a token is its claims
(address and expiry), so every encoding of the same token (PyJWT also accepts base64 padding,
`token + "="`) stays revoked. Lifetimes are capped (`max_lifetime`, 30 days by default): a
token asking for more is not created, and one carrying a later `exp` is not accepted.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import time

import jwt

from provider.auth.signatures import same_address
from provider.errors import InvalidRequest
from provider.stores.revocations import RevocationStore

MAX_TOKEN_LENGTH = 2048
DEFAULT_LIFETIME = 24 * 3600  # tokens asked for without an expiry (ocean.js 8 sends none)


_JWT_HEADER = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=")


def encode_hs256(claims: dict, secret: str) -> str:
    """The HS256 JWT PyJWT's `jwt.encode(claims, secret, algorithm="HS256")` makes, byte for
    byte (its sorted compact header, compact claims in their order, unpadded base64url): PyJWT
    spends a quarter of its time on algorithm lookup and key checks, for every token a signed
    request creates. Tokens are still read by PyJWT."""
    body = base64.urlsafe_b64encode(json.dumps(claims, separators=(",", ":")).encode()).rstrip(b"=")
    signing_input = _JWT_HEADER + b"." + body
    mac = _keyed_hmac(secret).copy()
    mac.update(signing_input)
    return (signing_input + b"." + base64.urlsafe_b64encode(mac.digest()).rstrip(b"=")).decode("ascii")


@functools.lru_cache(maxsize=4)
def _keyed_hmac(secret: str) -> hmac.HMAC:
    """An HMAC-SHA256 with the key already absorbed, copied for each token: setting a key up
    hashes it into both pads and looks the digest up in OpenSSL, the larger part of a MAC over
    a token's hundred bytes (the provider has one secret)."""
    return hmac.new(secret.encode("utf-8"), digestmod=hashlib.sha256)


def token_identity(address: str, expiration: int) -> str:
    """What a token means, as a key: the same for every encoding of the same claims."""
    return hashlib.sha256(f"{address.lower()}|{int(expiration)}".encode()).hexdigest()


def legacy_identity(token: str) -> str | None:
    """The identity of a token stored by its text (before revocation by claims), if it decodes."""
    try:
        payload = jwt.decode(token, options={"verify_signature": False, "verify_exp": False})
        return token_identity(str(payload["address"]), int(payload["exp"]))
    except (jwt.PyJWTError, KeyError, TypeError, ValueError):
        return None


class AuthTokens:
    def __init__(self, secret: str, revocations: RevocationStore, max_lifetime: float = 30 * 86400,
                 clock=time.time):
        self._secret = secret
        self._revocations = revocations
        self.max_lifetime = max_lifetime
        self._clock = clock
        revocations.migrate(legacy_identity)

    def create(self, address: str, expiration: int) -> str:
        now = self._clock()
        if expiration <= now:
            raise InvalidRequest("Token is expired.")
        if expiration > now + self.max_lifetime:
            raise InvalidRequest(f"Token lifetime may not exceed {int(self.max_lifetime)} seconds.")
        token = encode_hs256({"exp": int(expiration), "address": address}, self._secret)
        identity = token_identity(address, expiration)
        # a new token for a revoked (address, expiry) pair is valid again; the read keeps the
        # common case (never revoked) from taking the store's write lock a second time
        if self._revocations.is_revoked(identity):
            self._revocations.restore(identity)
        return token

    def expiry_for(self, valid_until) -> int:
        """The expiry of a token created by an Ocean Node command: `validUntil` when the client
        sends one (seconds or, as Ocean Node's are, milliseconds), else a day (within the cap)."""
        now = self._clock()
        if valid_until is None or isinstance(valid_until, bool):
            return int(now + min(DEFAULT_LIFETIME, self.max_lifetime))
        try:
            value = int(valid_until)
        except (TypeError, ValueError):
            raise InvalidRequest("validUntil must be a timestamp.") from None
        return value // 1000 if value > 10 ** 11 else value

    def _claims(self, token: str) -> tuple[str, int]:
        if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
            raise InvalidRequest("Token is invalid.")
        try:
            payload = jwt.decode(token, self._secret, algorithms=["HS256"], options={"require": ["exp"]})
        except jwt.ExpiredSignatureError:
            raise InvalidRequest("Token is expired.") from None
        except (jwt.PyJWTError, RecursionError, ValueError, TypeError):
            raise InvalidRequest("Token is invalid.") from None
        address, expiration = payload.get("address"), payload.get("exp")
        if not isinstance(address, str) or isinstance(expiration, bool) or not isinstance(expiration, int):
            raise InvalidRequest("Token is invalid.")
        if expiration > self._clock() + self.max_lifetime:
            raise InvalidRequest("Token is invalid.")
        return address, expiration

    def address_of(self, token: str) -> str:
        """The address a valid token was issued to; raises InvalidRequest with the reference texts."""
        address, expiration = self._claims(token)
        if self._revocations.is_revoked(token_identity(address, expiration)):
            raise InvalidRequest("Token is deleted.")
        return address

    def check(self, token: str, address: str) -> None:
        if not same_address(self.address_of(token), address):
            raise InvalidRequest("Token is invalid.")

    def revoke(self, token: str, address: str) -> None:
        self.check(token, address)
        token_address, expiration = self._claims(token)
        self._revocations.revoke(token_identity(token_address, expiration))
