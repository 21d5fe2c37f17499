"""Client-side helpers for tests: sign requests the way ocean.py and ocean.js do, and wait."""
import json
import time

from eth_utils import keccak

from provider.auth.signatures import sign_digest, sign_message


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


def node_sign(account, message: str, *, hex_text: bool = False) -> str:
    """How ocean.js 8 signs a command (`address + nonce + command`): EIP-191 over the message's
    keccak256 as 32 bytes, or (hex_text) over the 0x-hex text of that hash."""
    if not hex_text:
        return sign(account, message)
    text = ("0x" + keccak(message.encode()).hex()).encode()
    v, r, s = sign_digest("0x" + bytes(account.key).hex(), keccak(b"\x19Ethereum Signed Message:\n66" + text))
    return "0x" + (r + s + bytes([v])).hex()


def count_rpc_posts(chain) -> list:
    """The JSON bodies a ChainClient's request-path RPC sends to its node from now on (the real
    node still answers each): to see how many round trips a request costs."""
    sent = []
    send = chain.raw_rpc._send

    def counted(body: bytes):
        sent.append(json.loads(body))
        return send(body)
    chain.raw_rpc._send = counted
    return sent
