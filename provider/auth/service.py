"""Authorising a signed request: signature or auth token, then the nonce, atomically.

Order matters: the signature (or token) is checked first, then the nonce is consumed in one
atomic step, and only then does the endpoint do its work. A replay (same or lower nonce)
therefore fails before anything happens, also when copies arrive concurrently at several
processes sharing the store.
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from provider.auth.signatures import SignatureError, recover_signer, same_address
from provider.auth.tokens import AuthTokens
from provider.errors import InvalidSignature, ProviderError, ValidationError
from provider.stores.nonces import NonceRejected, NonceStore, format_nonce

NO_SIGNATURE = "Invalid signature provided. Please check the nonce or documentId."


def parse_nonce(value) -> tuple[Decimal, str]:
    """(numeric value, the text clients signed). Booleans and non-finite values are refused."""
    if isinstance(value, bool) or value is None:
        raise ValidationError.field("nonce", "The nonce field must be numeric.")
    text = value if isinstance(value, str) else str(value)
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        raise ValidationError.field("nonce", "The nonce field must be numeric.") from None
    if not number.is_finite() or number < 0:
        raise ValidationError.field("nonce", "The nonce field must be numeric.")
    return number, text


class RequestAuthenticator:
    def __init__(self, nonces: NonceStore, tokens: AuthTokens):
        self.nonces = nonces
        self.tokens = tokens

    def authorize(
        self,
        *,
        signer: str,
        message: str,
        nonce,
        signature: str | None,
        auth_token: str | None = None,
        allow_token: bool = True,
    ) -> Decimal:
        """Check who signed `message + nonce` (or the token's owner), then consume the nonce."""
        number, text = parse_nonce(nonce)
        if signature:
            try:
                recovered = recover_signer(message + text, signature)
            except SignatureError:
                raise InvalidSignature(f"{NO_SIGNATURE.split('.')[0]}.", as_list=True) from None
            if not same_address(recovered, signer):
                raise InvalidSignature(
                    f"Invalid signature {signature} for ethereum address {signer} and nonce {text}.",
                    as_list=True,
                )
        elif auth_token and allow_token:
            try:
                self.tokens.check(auth_token, signer)
            except ProviderError as exc:
                raise InvalidSignature(exc.user_message, as_list=True) from None
        else:
            raise InvalidSignature(NO_SIGNATURE, as_list=True)
        try:
            self.nonces.consume(signer, number)
        except NonceRejected as exc:
            raise InvalidSignature(
                f"Invalid signature expected nonce ({format_nonce(exc.stored)}) > current nonce ({text})."
            ) from None
        return number
