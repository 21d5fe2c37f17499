"""Client-side helpers for tests: sign requests the way ocean.py and ocean.js do."""
from provider.auth.signatures import sign_message


def sign(account, message: str, *, v01: bool = False) -> str:
    """ocean.js form (v 27/28), or ocean.py form (v 0/1) with v01=True."""
    sig = sign_message("0x" + bytes(account.key).hex(), message)
    if v01:
        sig = sig[:-2] + format(int(sig[-2:], 16) - 27, "02x")
    return sig
