from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from voicebridge.numbers.callerid import OwnedNumber, choose_caller, choose_caller_for_reminder, city_key

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)

BEIJING_MOBILE = "+8618612345678"  # geocoder: Beijing / 北京市
LIANYUNGANG_MOBILE = "+8613812345678"  # Lianyungang, Jiangsu / 江苏省连云港市
GUANGZHOU_FIXED = "+862087654321"
UNKNOWN_CITY_MOBILE = "+8619212345678"  # geocoder knows only "China"

SHANGHAI = OwnedNumber("+862161234567", "上海", T0)
BEIJING = OwnedNumber("+861061234567", "北京", T0 + timedelta(days=1))
BEIJING_LATER = OwnedNumber("+861061234568", "Beijing", T0 + timedelta(days=5))
GUANGZHOU = OwnedNumber("+862061234567", "广州市", T0 + timedelta(days=2))


@pytest.mark.parametrize(
    ("place", "key"),
    [
        ("Lianyungang, Jiangsu", "lianyungang"),
        ("江苏省连云港市", "连云港"),
        ("北京市", "北京"),
        ("北京", "北京"),
        ("Beijing City", "beijing"),
        ("Bayan Nur, Inner Mongolia", "bayannur"),
        ("Bayannur", "bayannur"),
        ("新疆维吾尔自治区乌鲁木齐市", "乌鲁木齐"),
        ("云南省红河哈尼族彝族自治州", "红河"),
        ("云南红河", "红河"),
        ("吉林省吉林市", "吉林"),
        ("青海省海南藏族自治州", "海南"),
        ("内蒙古锡林郭勒", "锡林郭勒"),
        ("锡林郭勒盟", "锡林郭勒"),
        ("西藏那曲地区、嘉黎县", "那曲"),
        ("海南省海口市、三亚市", "海口"),
        ("", ""),
        ("   ", ""),
    ],
)
def test_city_key(place: str, key: str) -> None:
    assert city_key(place) == key


def test_no_numbers() -> None:
    assert choose_caller([], BEIJING_MOBILE) is None
    assert choose_caller_for_reminder([], [BEIJING_MOBILE]) is None


def test_callee_city_wins() -> None:
    assert choose_caller([SHANGHAI, BEIJING, GUANGZHOU], BEIJING_MOBILE) == BEIJING.e164
    assert choose_caller([SHANGHAI, BEIJING, GUANGZHOU], GUANGZHOU_FIXED) == GUANGZHOU.e164


def test_english_city_names_match_too() -> None:
    assert choose_caller([SHANGHAI, BEIJING_LATER], BEIJING_MOBILE) == BEIJING_LATER.e164


def test_first_issued_in_the_city() -> None:
    assert choose_caller([BEIJING_LATER, SHANGHAI, BEIJING], BEIJING_MOBILE) == BEIJING.e164


def test_no_city_match_takes_first_issued() -> None:
    assert choose_caller([GUANGZHOU, BEIJING, SHANGHAI], LIANYUNGANG_MOBILE) == SHANGHAI.e164
    assert choose_caller([GUANGZHOU, BEIJING, SHANGHAI], UNKNOWN_CITY_MOBILE) == SHANGHAI.e164
    assert choose_caller([GUANGZHOU, BEIJING, SHANGHAI], "garbage") == SHANGHAI.e164


def test_empty_city_falls_back_to_the_numbers_own_place() -> None:
    unnamed = OwnedNumber("+861061234599", "", T0 + timedelta(days=9))
    assert choose_caller([SHANGHAI, unnamed], BEIJING_MOBILE) == unnamed.e164


def test_same_issue_time_is_deterministic() -> None:
    a = OwnedNumber("+862161234502", "上海", T0)
    b = OwnedNumber("+862161234501", "上海", T0)
    assert choose_caller([a, b], LIANYUNGANG_MOBILE) == b.e164
    assert choose_caller([b, a], LIANYUNGANG_MOBILE) == b.e164


def test_reminder_uses_city_of_most_callees() -> None:
    numbers = [SHANGHAI, BEIJING, GUANGZHOU]
    callees = [GUANGZHOU_FIXED, BEIJING_MOBILE, BEIJING_MOBILE, LIANYUNGANG_MOBILE]
    assert choose_caller_for_reminder(numbers, callees) == BEIJING.e164


def test_reminder_tie_and_no_match_go_to_first_issued() -> None:
    numbers = [GUANGZHOU, BEIJING, SHANGHAI]
    assert choose_caller_for_reminder(numbers, [GUANGZHOU_FIXED, BEIJING_MOBILE]) == BEIJING.e164
    assert choose_caller_for_reminder(numbers, [LIANYUNGANG_MOBILE]) == SHANGHAI.e164
    assert choose_caller_for_reminder(numbers, []) == SHANGHAI.e164
