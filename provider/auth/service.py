"""Authorising a signed request: signature or auth token, then the nonce, atomically.

Order matters: the signature (or token) is checked first, then the nonce is consumed in one
atomic step, and only then does the endpoint do its work. A replay (same or lower nonce)
therefore fails before anything happens, also when copies arrive concurrently at several
processes sharing the store.
"""
from __future__ import annotations

import re
from decimal import Decimal
from typing import Callable

from provider.auth.messages import node_message
from provider.auth.signatures import SignatureError, recover_signer, recover_signers, same_address
from provider.auth.tokens import AuthTokens
from provider.errors import InvalidSignature, ProviderError, ValidationError
from provider.stores.nonces import NonceRejected, NonceStore, format_nonce

MAX_CONTRACT_SIGNATURE = 4096  # hex characters: smart-account signatures are longer than 65 bytes, not this
NO_SIGNATURE = "Invalid signature provided. Please check the nonce or documentId."


# What real clients send: counters, millisecond timestamps, ocean.js's "1712345678902.123".
# Nothing else is read as a number: `1e1000000` would take seconds to convert (while holding the
# store's write lock), and exponents, signs or spaces are no client's nonce.
NONCE_FORM = re.compile(r"[0-9]{1,78}(\.[0-9]{1,18})?")  # ASCII digits only, matched whole


def parse_nonce(value) -> tuple[Decimal, str]:
    """(numeric value, the text clients signed). Only plain decimal digits are accepted."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValidationError.field("nonce", "The nonce field must be numeric.")
    text = value if isinstance(value, str) else str(value)
    if not NONCE_FORM.fullmatch(text):
        raise ValidationError.field("nonce", "The nonce field must be a decimal number (digits, optionally a "
                                             "fraction of up to 18 digits).")
    return Decimal(text), text


class RequestAuthenticator:
    def __init__(self, nonces: NonceStore, tokens: AuthTokens, on_verified: Callable[[str], None] | None = None,
                 contract_signatures: Callable[[str, str, str], bool] | None = None):
        self.nonces = nonces
        self.tokens = tokens
        # (address, message, signature) -> whether a contract wallet at `address` accepts it
        self.contract_signatures = contract_signatures
        # Called with an address once its signature or token checked out (the per-address rate
        # limit): only a verified address is counted, so nobody can spend another's budget.
        self.on_verified = on_verified or (lambda address: None)

    def verify_token(self, auth_token: str, address: str) -> None:
        """The token belongs to `address` (no nonce involved); counts the address."""
        try:
            self.tokens.check(auth_token, address)
        except ProviderError as exc:
            raise InvalidSignature(exc.user_message, as_list=True) from None
        self.on_verified(address)

    def authorize(
        self,
        *,
        signer: str,
        message: str | None,
        nonce,
        signature: str | None,
        auth_token: str | None = None,
        allow_token: bool = True,
        node_action: str | None = None,
        address_as_sent: str | None = None,
    ) -> Decimal:
        """Check who signed the request (or the token's owner), then consume the nonce.

        A signature is accepted for the classic message `message + nonce` (when `message` is
        given) or for the Ocean Node command `address + nonce + command` of `node_action`
        (when given; the address as the client sent it), never for anything else."""
        number, text = parse_nonce(nonce)
        if signature:
            try:
                signed = self._signed_by(signer, signature, message, text, node_action, address_as_sent)
            except SignatureError:
                raise InvalidSignature(f"{NO_SIGNATURE.split('.')[0]}.", as_list=True) from None
            if not signed:
                raise InvalidSignature(
                    f"Invalid signature {signature} for ethereum address {signer} and nonce {text}.",
                    as_list=True,
                )
            self.on_verified(signer)
        elif auth_token and allow_token:
            self.verify_token(auth_token, signer)
        else:
            raise InvalidSignature(NO_SIGNATURE, as_list=True)
        try:
            self.nonces.consume(signer, number)
        except NonceRejected as exc:
            raise InvalidSignature(
                f"Invalid signature expected nonce ({format_nonce(exc.stored)}) > current nonce ({text})."
            ) from None
        return number

    def authorize_command(self, action: str, address: str, nonce, signature: str | None) -> Decimal:
        """An Ocean Node command alone: `address + nonce + command` signed by `address` (as the
        client sent it), no classic message and no token."""
        return self.authorize(signer=address, message=None, nonce=nonce, signature=signature, allow_token=False,
                              node_action=action, address_as_sent=address)

    def _signed_by(self, signer: str, signature: str, message: str | None, nonce: str, node_action: str | None,
                   address_as_sent: str | None) -> bool:
        """Raises SignatureError for a classic-only check whose signature cannot be parsed."""
        candidates = [node_message(node_action, address, nonce)
                      for address in sorted({address_as_sent or signer, signer})] if node_action else []
        try:
            if message is not None and same_address(recover_signer(message + nonce, signature), signer):
                return True
            for candidate in candidates:
                if any(same_address(recovered, signer) for recovered in recover_signers(candidate, signature)):
                    return True
        except SignatureError:
            if not candidates:
                raise
        # A contract wallet (ERC-1271) signs through its own code, of any length: asked on chain.
        return (self.contract_signatures is not None and isinstance(signature, str)
                and len(signature) <= MAX_CONTRACT_SIGNATURE
                and any(self.contract_signatures(signer, candidate, signature) for candidate in candidates))
