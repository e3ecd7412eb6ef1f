from __future__ import annotations

import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voicebridge.numbers.e164 import REASONS, InvalidPhone, city_of, mask, national, parse_phone, region_of

MOBILE = "+8613812345678"
BEIJING = "+861012345678"

# raw input, keyword arguments, expected E.164 or the InvalidPhone reason
ACCEPTED = [
    ("13812345678", {}, MOBILE),
    ("+86 138 1234 5678", {}, MOBILE),
    ("008613812345678", {}, MOBILE),
    ("0086 138 1234 5678", {}, MOBILE),
    ("+8613812345678", {}, MOBILE),
    ("+86-138-1234-5678", {}, MOBILE),
    ("(+86) 138.1234.5678", {}, MOBILE),
    ("  13812345678\t", {}, MOBILE),
    ("8613812345678", {}, MOBILE),
    ("１３８１２３４５６７８", {}, MOBILE),  # full-width digits from a Chinese IME
    ("＋８６ １３８ １２３４ ５６７８", {}, MOBILE),
    ("138 1234 5678", {}, MOBILE),
    ("19012345678", {}, "+8619012345678"),  # 190 is a China Telecom mobile range
    ("16612345678", {}, "+8616612345678"),
    ("+852 9123 4567", {}, "+85291234567"),
    ("+1 415 555 2671", {}, "+14155552671"),  # US: fixed line or mobile
    ("4155552671", {"region": "US"}, "+14155552671"),
    ("010-12345678", {"allow_fixed_line": True}, BEIJING),
    ("(010) 1234-5678", {"allow_fixed_line": True}, BEIJING),
    ("+86 10 1234 5678", {"allow_fixed_line": True}, BEIJING),
    ("+86 (0) 10 12345678", {"allow_fixed_line": True}, BEIJING),
    ("0086 10 12345678", {"allow_fixed_line": True}, BEIJING),
    ("020-87654321", {"allow_fixed_line": True}, "+862087654321"),
    ("0571-87654321", {"allow_fixed_line": True}, "+8657187654321"),
    ("010-12345678", {"allow_any_type": True}, BEIJING),
    ("13812345678", {"allow_any_type": True}, MOBILE),
    ("8008101234", {"allow_any_type": True}, "+868008101234"),  # toll-free pool number
]

REFUSED = [
    ("010-12345678", {}, "fixed_line_not_allowed"),
    ("+44 20 7946 0958", {}, "fixed_line_not_allowed"),
    ("8008101234", {}, "not_mobile"),
    ("8008101234", {"allow_fixed_line": True}, "not_mobile"),
    ("abc", {}, "not_a_number"),
    ("1-800-FLOWERS", {}, "not_a_number"),
    ("138abc45678", {}, "not_a_number"),
    ("13812345678 ext. 12", {}, "not_a_number"),
    ("13812345678;ext=1", {}, "not_a_number"),
    ("", {}, "not_a_number"),
    ("   ", {}, "not_a_number"),
    ("+", {}, "not_a_number"),
    ("--", {}, "not_a_number"),
    ("12345", {}, "too_short"),
    ("13", {}, "too_short"),
    ("95555", {"allow_any_type": True}, "too_short"),
    ("0086", {}, "too_short"),
    ("1381234567", {}, "too_short"),
    ("+86 10 1234 567", {}, "too_short"),
    ("138123456789", {}, "too_long"),
    ("138123456789", {"allow_fixed_line": True}, "too_long"),
    ("1" * 80, {}, "too_long"),
    ("+999 1234567", {}, "invalid_country_code"),
    ("13812345678", {"region": "ZZ"}, "invalid_country_code"),
    ("+8699112345678", {}, "invalid"),
    ("1381234567", {"allow_fixed_line": True}, "invalid"),
    ("16812345", {}, "premium_rate"),  # CN premium-rate (168 information lines)
    ("16812345", {"allow_any_type": True}, "premium_rate"),
    ("4001234567", {"allow_fixed_line": True}, "premium_rate"),  # shared cost
    ("400-123-4567", {"allow_any_type": True}, "premium_rate"),
    ("+1 900 234 5678", {"allow_any_type": True}, "premium_rate"),
]


@pytest.mark.parametrize(("raw", "kwargs", "expected"), ACCEPTED)
def test_accepted_forms(raw: str, kwargs: dict[str, object], expected: str) -> None:
    assert parse_phone(raw, **kwargs) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(("raw", "kwargs", "reason"), REFUSED)
def test_refused_forms(raw: str, kwargs: dict[str, object], reason: str) -> None:
    with pytest.raises(InvalidPhone) as info:
        parse_phone(raw, **kwargs)  # type: ignore[arg-type]
    assert info.value.reason == reason
    assert info.value.raw == raw
    assert str(info.value) == f"{raw!r} {REASONS[reason]}"


def test_message_is_exact() -> None:
    with pytest.raises(InvalidPhone, match=r"^'010-12345678' is a fixed-line number and only mobile numbers are allowed$"):
        parse_phone("010-12345678")


def test_invalid_phone_is_a_value_error_and_pickles() -> None:
    exc = InvalidPhone("12", "too_short")
    assert isinstance(exc, ValueError)
    copy = pickle.loads(pickle.dumps(exc))
    assert (copy.raw, copy.reason, str(copy)) == ("12", "too_short", "'12' is too short")
    with pytest.raises(ValueError, match="unknown InvalidPhone reason"):
        InvalidPhone("1", "nope")


def test_non_string_input() -> None:
    with pytest.raises(InvalidPhone) as info:
        parse_phone(13812345678)  # type: ignore[arg-type]
    assert info.value.reason == "not_a_number"


def test_parse_is_idempotent_on_e164() -> None:
    for raw, kwargs, expected in ACCEPTED:
        assert parse_phone(expected, **kwargs) == expected  # type: ignore[arg-type]


@settings(database=None, max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_arbitrary_text_raises_only_invalid_phone(raw: str) -> None:
    try:
        result = parse_phone(raw, allow_any_type=True)
    except InvalidPhone:
        return
    assert result.startswith("+") and result[1:].isdigit()


_PHONEISH = st.text(alphabet="0123456789+-() .", max_size=24)


@settings(database=None, max_examples=300, deadline=None)
@given(_PHONEISH, st.sampled_from(["CN", "US", "HK", "GB", "ZZ"]), st.booleans(), st.booleans())
def test_phone_like_text_raises_only_invalid_phone(raw: str, region: str, fixed: bool, any_type: bool) -> None:
    try:
        result = parse_phone(raw, region, allow_fixed_line=fixed, allow_any_type=any_type)
    except InvalidPhone as exc:
        assert exc.reason in REASONS
        return
    assert parse_phone(result, allow_any_type=True) == result


@settings(database=None, max_examples=200, deadline=None)
@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True))
def test_cn_mobile_shapes_parse_or_are_invalid(raw: str) -> None:
    try:
        e164 = parse_phone(raw)
    except InvalidPhone as exc:
        assert exc.reason in {"invalid", "not_mobile", "premium_rate"}
    else:
        assert e164 == "+86" + raw


@pytest.mark.parametrize(
    ("e164", "expected"),
    [
        (MOBILE, "138 1234 5678"),
        (BEIJING, "010 1234 5678"),
        ("+862087654321", "020 8765 4321"),
        ("+14155552671", "(415) 555-2671"),
    ],
)
def test_national(e164: str, expected: str) -> None:
    assert national(e164) == expected


def test_national_rejects_non_e164() -> None:
    with pytest.raises(InvalidPhone):
        national("13812345678")
    with pytest.raises(InvalidPhone):
        national("+")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (MOBILE, "+86 138****5678"),
        (BEIJING, "+86 101***5678"),
        ("+85291234567", "+852 91****67"),
        ("+14155552671", "+1 415***2671"),
        ("+8616812345", "+86 16****45"),
        ("13812345678", "*********78"),  # not E.164: last two digits only
        ("garbage", "****"),
        ("", "****"),
    ],
)
def test_mask(value: str, expected: str) -> None:
    assert mask(value) == expected


def test_mask_never_shows_the_whole_number() -> None:
    for _, _, e164 in ACCEPTED:
        masked = mask(e164)
        assert "*" in masked
        assert masked.replace(" ", "").replace("*", "") != e164


@pytest.mark.parametrize(
    ("e164", "lang", "expected"),
    [
        (MOBILE, "en", "Lianyungang, Jiangsu"),
        (MOBILE, "zh", "江苏省连云港市"),
        (BEIJING, "en", "Beijing"),
        (BEIJING, "zh", "北京市"),
        ("+862087654321", "en", "Guangzhou, Guangdong"),
        ("+8619212345678", "en", ""),  # only the country is known
        ("+8699112345678", "en", ""),  # invalid
        ("not a number", "en", ""),
        ("+14155552671", "en", "San Francisco, CA"),
    ],
)
def test_city_of(e164: str, lang: str, expected: str) -> None:
    assert city_of(e164, lang) == expected


@pytest.mark.parametrize(
    ("e164", "expected"),
    [(MOBILE, "CN"), ("+85291234567", "HK"), ("+14155552671", "US"), ("+99912345", ""), ("junk", "")],
)
def test_region_of(e164: str, expected: str) -> None:
    assert region_of(e164) == expected
