from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voicebridge.billing.rating import (
    DEFAULT_RATE_FEN_PER_MIN,
    DEFAULT_RENT_FEN,
    Charge,
    PricePlan,
    billable_minutes,
    max_call_seconds,
    rate_call,
)

HOUR_MS = 3_600_000


def test_list_prices() -> None:
    assert DEFAULT_RATE_FEN_PER_MIN == 18
    assert DEFAULT_RENT_FEN == 3000
    assert PricePlan() == PricePlan(rate_fen_per_min=18, rent_fen_per_number=3000, included_minutes=0)


@pytest.mark.parametrize(
    ("ms", "minutes"),
    [
        (0, 0),
        (1, 1),
        (1_000, 1),
        (59_999, 1),
        (60_000, 1),
        (60_001, 2),
        (119_999, 2),
        (120_000, 2),
        (HOUR_MS, 60),
        (HOUR_MS + 1, 61),
        (10 * HOUR_MS, 600),
    ],
)
def test_billable_minutes(ms: int, minutes: int) -> None:
    assert billable_minutes(ms) == minutes


@pytest.mark.parametrize(
    ("ms", "fen"),
    [(0, 0), (1, 18), (1_000, 18), (59_999, 18), (60_000, 18), (60_001, 36), (HOUR_MS, 1080), (3 * HOUR_MS + 1, 3258)],
)
def test_rate_call_default_rate(ms: int, fen: int) -> None:
    charge = rate_call(ms)
    assert charge.fen == fen
    assert isinstance(charge.fen, int)
    assert charge.chargeable_minutes == charge.minutes


def test_unanswered_call_costs_nothing() -> None:
    assert rate_call(0) == Charge(minutes=0, chargeable_minutes=0, fen=0)
    assert rate_call(0, 18, included_minutes_left=5) == Charge(0, 0, 0)


def test_included_minutes() -> None:
    assert rate_call(150_000, 18, included_minutes_left=5) == Charge(minutes=3, chargeable_minutes=0, fen=0)
    assert rate_call(150_000, 18, included_minutes_left=2) == Charge(minutes=3, chargeable_minutes=1, fen=18)
    assert rate_call(150_000, 18, included_minutes_left=3) == Charge(3, 0, 0)
    assert rate_call(150_000, 18, included_minutes_left=2).included_minutes_used == 2


def test_other_rate() -> None:
    assert rate_call(61_000, 25) == Charge(2, 2, 50)
    assert rate_call(61_000, 0) == Charge(2, 2, 0)
    assert PricePlan(rate_fen_per_min=10, included_minutes=400).rate(61_000, 1) == Charge(2, 1, 10)


@pytest.mark.parametrize("bad", [1.5, 60.0, "60000", None, True])
def test_floats_and_others_refused(bad: object) -> None:
    with pytest.raises(TypeError, match="billable_ms must be an int"):
        billable_minutes(bad)  # type: ignore[arg-type]


def test_negative_refused() -> None:
    with pytest.raises(ValueError, match="billable_ms must not be negative, got -1"):
        rate_call(-1)
    with pytest.raises(ValueError, match="rate_fen_per_min must not be negative"):
        rate_call(1, -18)
    with pytest.raises(ValueError, match="included_minutes_left must not be negative"):
        rate_call(1, 18, -1)
    with pytest.raises(TypeError, match="rate_fen_per_min must be an int, got float"):
        rate_call(1, 0.18)  # type: ignore[arg-type]


def test_price_plan_validates() -> None:
    with pytest.raises(ValueError):
        PricePlan(rent_fen_per_number=-1)
    with pytest.raises(TypeError):
        PricePlan(rate_fen_per_min=0.18)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("available", "rate", "included", "seconds"),
    [
        (0, 18, 0, 0),
        (17, 18, 0, 0),
        (18, 18, 0, 60),
        (35, 18, 0, 60),
        (36, 18, 0, 120),
        (1080, 18, 0, 3600),
        (-500, 18, 0, 0),
        (-500, 18, 3, 180),
        (17, 18, 2, 120),
        (36, 18, 2, 240),
    ],
)
def test_max_call_seconds(available: int, rate: int, included: int, seconds: int) -> None:
    assert max_call_seconds(available, rate, included) == seconds


def test_max_call_seconds_cap_and_free_rate() -> None:
    assert max_call_seconds(100_000, 18, cap_seconds=600) == 600
    assert max_call_seconds(18, 18, cap_seconds=600) == 60
    assert max_call_seconds(0, 0, cap_seconds=600) == 600
    with pytest.raises(ValueError, match="rate_fen_per_min is 0: give cap_seconds"):
        max_call_seconds(100, 0)
    with pytest.raises(TypeError):
        max_call_seconds(1.0, 18)  # type: ignore[arg-type]


@settings(database=None, max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=10**9), st.integers(min_value=1, max_value=1000))
def test_a_call_up_to_max_seconds_is_covered(available: int, rate: int) -> None:
    seconds = max_call_seconds(available, rate)
    assert seconds % 60 == 0
    assert rate_call(seconds * 1000, rate).fen <= available
    # one more started minute would not be covered
    assert rate_call(seconds * 1000 + 1, rate).fen > available


@settings(database=None, max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=100 * HOUR_MS), st.integers(min_value=0, max_value=1000))
def test_rating_is_ceil_minutes_times_rate(ms: int, rate: int) -> None:
    charge = rate_call(ms, rate)
    assert (charge.minutes - 1) * 60_000 < ms <= charge.minutes * 60_000 or (ms == 0 and charge.minutes == 0)
    assert charge.fen == charge.minutes * rate
