from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voicebridge.billing.rent import anniversary, next_anniversary, period_end, rent_periods


def test_issue_day_is_charged() -> None:
    assert rent_periods(date(2024, 3, 10), date(2024, 3, 10)) == [date(2024, 3, 10)]


def test_before_issue_nothing() -> None:
    assert rent_periods(date(2024, 3, 10), date(2024, 3, 9)) == []


def test_plain_months() -> None:
    assert rent_periods(date(2024, 3, 10), date(2024, 6, 9)) == [date(2024, 3, 10), date(2024, 4, 10), date(2024, 5, 10)]
    assert rent_periods(date(2024, 3, 10), date(2024, 6, 10))[-1] == date(2024, 6, 10)


def test_31st_falls_back_and_keeps_anchor() -> None:
    assert rent_periods(date(2024, 1, 31), date(2024, 8, 31)) == [
        date(2024, 1, 31),
        date(2024, 2, 29),  # leap year
        date(2024, 3, 31),
        date(2024, 4, 30),
        date(2024, 5, 31),
        date(2024, 6, 30),
        date(2024, 7, 31),
        date(2024, 8, 31),
    ]
    assert rent_periods(date(2023, 1, 31), date(2023, 3, 1)) == [date(2023, 1, 31), date(2023, 2, 28)]


def test_30th_and_29th() -> None:
    assert rent_periods(date(2023, 1, 30), date(2023, 3, 30)) == [date(2023, 1, 30), date(2023, 2, 28), date(2023, 3, 30)]
    assert rent_periods(date(2023, 1, 29), date(2023, 3, 29)) == [date(2023, 1, 29), date(2023, 2, 28), date(2023, 3, 29)]
    assert rent_periods(date(2024, 1, 29), date(2024, 2, 29)) == [date(2024, 1, 29), date(2024, 2, 29)]


def test_issued_on_leap_day() -> None:
    periods = rent_periods(date(2024, 2, 29), date(2028, 3, 1))
    assert periods[:3] == [date(2024, 2, 29), date(2024, 3, 29), date(2024, 4, 29)]
    assert date(2025, 2, 28) in periods
    assert date(2028, 2, 29) in periods
    assert len(periods) == 49


def test_year_end() -> None:
    assert rent_periods(date(2024, 12, 31), date(2025, 2, 28)) == [date(2024, 12, 31), date(2025, 1, 31), date(2025, 2, 28)]


def test_long_downtime_catch_up() -> None:
    # the job was down for 14 months: every missed period is listed once
    periods = rent_periods(date(2023, 5, 31), date(2024, 7, 15))
    assert len(periods) == 14
    assert len(set(periods)) == 14
    assert periods[-1] == date(2024, 6, 30)
    # a rerun the same day lists the same periods: charging by (number, start) stays idempotent
    assert rent_periods(date(2023, 5, 31), date(2024, 7, 15)) == periods


def test_period_end() -> None:
    assert period_end(date(2024, 1, 31), 31) == date(2024, 2, 28)
    assert period_end(date(2024, 2, 29), 31) == date(2024, 3, 30)
    assert period_end(date(2024, 3, 10), 10) == date(2024, 4, 9)
    assert period_end(date(2024, 12, 15), 15) == date(2025, 1, 14)
    assert period_end(date(2023, 2, 28), 29) == date(2023, 3, 28)
    assert next_anniversary(date(2024, 4, 30), 31) == date(2024, 5, 31)


def test_period_end_refuses_non_starts() -> None:
    with pytest.raises(ValueError, match="2024-01-15 is not a rent period start for anchor day 31"):
        period_end(date(2024, 1, 15), 31)
    with pytest.raises(ValueError, match="anchor_day must be 1-31, got 0"):
        period_end(date(2024, 1, 15), 0)


def test_anniversary() -> None:
    assert anniversary(date(2024, 1, 31), 0) == date(2024, 1, 31)
    assert anniversary(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert anniversary(date(2024, 1, 31), 13) == date(2025, 2, 28)
    with pytest.raises(ValueError):
        anniversary(date(2024, 1, 31), -1)


@settings(database=None, max_examples=200, deadline=None)
@given(
    st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 1, 1)),
    st.integers(min_value=0, max_value=400),
)
def test_periods_tile_the_calendar(issued: date, days: int) -> None:
    until = date.fromordinal(issued.toordinal() + days)
    periods = rent_periods(issued, until)
    assert periods[0] == issued
    assert periods == sorted(set(periods))
    for start, following in zip(periods, periods[1:]):
        assert date.fromordinal(period_end(start, issued.day).toordinal() + 1) == following
    # until falls inside the last period
    assert periods[-1] <= until <= period_end(periods[-1], issued.day)
