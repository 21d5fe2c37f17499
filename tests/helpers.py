"""Client-side helpers for tests: sign requests the way ocean.py and ocean.js do, and wait."""
import time

from provider.auth.signatures import sign_message


def wait_for(predicate, timeout: float = 30, what: str = "condition", interval: float = 0.1):
    """The first truthy value of `predicate()` within `timeout` seconds; AssertionError after."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"{what} not reached")


def sign(account, message: str, *, v01: bool = False) -> str:
    """ocean.js form (v 27/28), or ocean.py form (v 0/1) with v01=True."""
    sig = sign_message("0x" + bytes(account.key).hex(), message)
    if v01:
        sig = sig[:-2] + format(int(sig[-2:], 16) - 27, "02x")
    return sig
