from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voicebridge.numbers.uscc import USCC_ALPHABET, check_char, normalize_uscc, validate_uscc

VALID = [
    "91350100M000100Y43",  # the example GB 32100-2015 material commonly cites
    "91110000600037341L",
    "91440300708461136T",
    "9144030071526726XG",
    "911101080000000007",  # by hand: sum 210, 210 % 31 = 24, 31 - 24 = 7
    "Y1110000000000000Q",  # by hand: sum 69, 69 % 31 = 7, 31 - 7 = 24 -> Q
]


@pytest.mark.parametrize("code", VALID)
def test_valid_codes(code: str) -> None:
    assert validate_uscc(code) is None


def test_check_char_by_hand() -> None:
    # weights 3^i mod 31: 1 3 9 27 19 26 16 17 20 29 25 13 8 24 10 30 28
    body = "91350100M000100Y4"
    values = [USCC_ALPHABET.index(c) for c in body]
    weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
    total = sum(v * w for v, w in zip(values, weights))
    assert USCC_ALPHABET[(31 - total % 31) % 31] == "3" == check_char(body)


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("", "licence code must be 18 characters, got 0"),
        ("91350100M000100Y4", "licence code must be 18 characters, got 17"),
        ("91350100M000100Y433", "licence code must be 18 characters, got 19"),
        ("91350100M000100Y44", "licence code check digit is '4', expected '3'"),
        ("91350100M000100Y42", "licence code check digit is '2', expected '3'"),
        ("91350100M000010Y43", "licence code check digit is '3', expected 'J'"),  # transposed digits
        (
            "91350100I000100Y43",
            "licence code has 'I' at position 9: only digits and upper-case letters other than I, O, S, V, Z are allowed",
        ),
        (
            "91350100m000100Y43",
            "licence code has 'm' at position 9: only digits and upper-case letters other than I, O, S, V, Z are allowed",
        ),
        (
            "9135010OM000100Y43",
            "licence code has 'O' at position 8: only digits and upper-case letters other than I, O, S, V, Z are allowed",
        ),
        ("01350100M000100Y43", "licence code starts with '0', not a registration authority code (1-9, A, N or Y)"),
        ("913501A0M000100Y43", "licence code positions 3-8 must be digits (administrative division code)"),
    ],
)
def test_invalid_codes(code: str, message: str) -> None:
    assert validate_uscc(code) == message


def test_not_text() -> None:
    assert validate_uscc(None) == "licence code must be text"  # type: ignore[arg-type]


def test_normalize() -> None:
    assert normalize_uscc(" 91350100m000100y43 ") == "91350100M000100Y43"
    assert normalize_uscc("9135-0100-M000-100Y-43") == "91350100M000100Y43"
    assert validate_uscc(normalize_uscc("91350100m000100y43")) is None


def test_check_char_rejects_bad_body() -> None:
    with pytest.raises(ValueError):
        check_char("123")
    with pytest.raises(ValueError):
        check_char("I" * 17)


_BODY = st.tuples(
    st.sampled_from("123456789ANY"),
    st.sampled_from(USCC_ALPHABET),
    st.text(alphabet="0123456789", min_size=6, max_size=6),
    st.text(alphabet=USCC_ALPHABET, min_size=9, max_size=9),
).map("".join)


@settings(database=None, max_examples=200, deadline=None)
@given(_BODY, st.integers(min_value=0, max_value=16), st.sampled_from(USCC_ALPHABET))
def test_any_single_substitution_is_caught(body: str, pos: int, ch: str) -> None:
    code = body + check_char(body)
    assert validate_uscc(code) is None
    changed = code[:pos] + ch + code[pos + 1 :]
    if changed != code:
        assert validate_uscc(changed) is not None
