"""Tokens are made without PyJWT but must be what PyJWT makes and reads."""
import jwt
import pytest

from provider.auth.tokens import encode_hs256

SECRET = "0x" + "5e" * 32


@pytest.mark.parametrize("claims", [
    {"exp": 1800000000, "address": "0x" + "Ab" * 20},
    {"exp": 1, "address": "0x" + "00" * 20},
    {"exp": 2**40, "address": "ünïcode and \"quotes\" \\ / +"},
])
def test_the_same_bytes_as_pyjwt_and_pyjwt_reads_them(claims):
    token = encode_hs256(claims, SECRET)
    assert token == jwt.encode(claims, SECRET, algorithm="HS256")
    assert jwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_exp": False}) == claims
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, SECRET + "0", algorithms=["HS256"], options={"verify_exp": False})
