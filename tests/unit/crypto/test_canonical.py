"""RFC 8785 canonical JSON: the examples of the RFC and ECMAScript's number forms."""
import json

import pytest

from provider.crypto.canonical import NotCanonicalisable, canonical


def test_the_rfc_8785_example():
    # RFC 8785 §3.2.2 / appendix: numbers, escapes and member order
    value = json.loads('{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],'
                       ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",'
                       ' "literals": [null, true, false]}')
    assert canonical(value) == ('{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
                                '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}')


@pytest.mark.parametrize("number,text", [
    (0.0, "0"), (-0.0, "0"), (1.0, "1"), (-5.0, "-5"), (0.1, "0.1"), (1e21, "1e+21"), (1e20, "100000000000000000000"),
    (123456789012345680000.0, "123456789012345680000"), (1e-6, "0.000001"), (1e-7, "1e-7"), (1.5e-9, "1.5e-9"),
    (9007199254740991, "9007199254740991"), (-12, "-12"), (2.5e25, "2.5e+25"),
])
def test_numbers_in_ecmascript_form(number, text):
    assert canonical(number) == text


def test_members_sort_by_utf16_code_units():
    # U+1F600 (surrogates D83D DE00) sorts before U+FB01 in UTF-16, after it by code point
    assert canonical({"\ufb01": 1, "\U0001f600": 2, "a": 3}) == '{"a":3,"\U0001f600":2,"\ufb01":1}'


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 2 ** 60, {1: "x"}, object()])
def test_what_has_no_canonical_form_is_refused(value):
    with pytest.raises(NotCanonicalisable):
        canonical(value)


def test_the_repr_shortcut_gives_the_ecmascript_form_it_stands_for():
    """Floats between 1e-4 and 1e16 skip the digit-by-digit form: both must agree there."""
    import random

    from provider.crypto.canonical import _number, ecmascript_number

    rng = random.Random(8785)
    samples = [1e-4, 1e16 - 2, 1.0, 10.0, 0.5, 1733175296.123, 123456789012345.6, 2.0 ** 52]
    samples += [rng.uniform(-1, 1) * 10 ** rng.uniform(-4, 16) for _ in range(20000)]
    for value in samples:
        if 1e-4 <= abs(value) < 1e16:
            assert _number(value) == ecmascript_number(value), value
