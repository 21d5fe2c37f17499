"""Request authentication: signatures, nonces and auth tokens."""
