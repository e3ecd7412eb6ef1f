from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from voicebridge.billing.arrears import (
    ARREARS_DAYS,
    ArrearsPolicy,
    ArrearsState,
    arrears_state,
    next_transition,
)

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=timezone.utc)
MS = timedelta(milliseconds=1)
DAY = timedelta(days=1)

ON_DEMAND = {"V5": (7, 15), "V4": (7, 15), "V3": (1, 7), "V2": (0, 7), "V1": (0, 7), "V0": (0, 1)}
SUBSCRIPTION = {"V5": (7, 15), "V4": (7, 15), "V3": (7, 7), "V2": (1, 7), "V1": (1, 7), "V0": (1, 1)}
CASES = [(lvl, "on_demand", *d) for lvl, d in ON_DEMAND.items()] + [
    (lvl, "subscription", *d) for lvl, d in SUBSCRIPTION.items()
]


def test_table_matches_design() -> None:
    assert ARREARS_DAYS == {"on_demand": ON_DEMAND, "subscription": SUBSCRIPTION}


@pytest.mark.parametrize(("level", "column", "grace", "retention"), CASES)
def test_timeline_boundaries(level: str, column: str, grace: int, retention: int) -> None:
    g, r = grace * DAY, retention * DAY

    def at(offset: timedelta) -> ArrearsState:
        return arrears_state(T0, T0 + offset, level, column)

    assert arrears_state(None, T0, level, column) is ArrearsState.ACTIVE
    if grace:
        assert at(timedelta(0)) is ArrearsState.GRACE
        assert at(g - MS) is ArrearsState.GRACE
    else:
        assert at(timedelta(0)) is ArrearsState.RETENTION
    assert at(g) is ArrearsState.RETENTION
    assert at(g + r - MS) is ArrearsState.RETENTION
    assert at(g + r) is ArrearsState.RELEASED
    assert at(g + r + 365 * DAY) is ArrearsState.RELEASED


@pytest.mark.parametrize(("level", "column", "grace", "retention"), CASES)
def test_next_transition(level: str, column: str, grace: int, retention: int) -> None:
    g, r = grace * DAY, retention * DAY
    assert next_transition(None, T0, level, column) is None
    if grace:
        assert next_transition(T0, T0, level, column) == T0 + g
    assert next_transition(T0, T0 + g, level, column) == T0 + g + r
    assert next_transition(T0, T0 + g + r - MS, level, column) == T0 + g + r
    assert next_transition(T0, T0 + g + r, level, column) is None


def test_walking_the_clock_visits_states_in_order() -> None:
    policy = ArrearsPolicy("V3", "on_demand")
    now, seen = T0, [policy.state(T0, T0)]
    while (nxt := policy.next_transition(T0, now)) is not None:
        now = nxt
        seen.append(policy.state(T0, now))
    assert seen == [ArrearsState.GRACE, ArrearsState.RETENTION, ArrearsState.RELEASED]
    assert now == T0 + 8 * DAY


def test_clock_before_negative_since_is_the_first_state() -> None:
    assert arrears_state(T0, T0 - DAY, "V5") is ArrearsState.GRACE
    assert arrears_state(T0, T0 - DAY, "V0") is ArrearsState.RETENTION


def test_other_time_zones_compare_by_instant() -> None:
    cst = timezone(timedelta(hours=8))
    assert arrears_state(T0, (T0 + DAY).astimezone(cst), "V3") is ArrearsState.RETENTION


def test_calls_allowed() -> None:
    assert ArrearsPolicy.calls_allowed(ArrearsState.ACTIVE)
    assert ArrearsPolicy.calls_allowed(ArrearsState.GRACE)
    assert not ArrearsPolicy.calls_allowed(ArrearsState.RETENTION)
    assert not ArrearsPolicy.calls_allowed(ArrearsState.RELEASED)
    assert ArrearsPolicy.numbers_kept(ArrearsState.RETENTION)
    assert not ArrearsPolicy.numbers_kept(ArrearsState.RELEASED)


def test_policy_durations() -> None:
    policy = ArrearsPolicy("V2", "subscription")
    assert (policy.grace, policy.retention) == (DAY, 7 * DAY)
    assert ArrearsPolicy("V0").retention == DAY


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match=r"unknown customer level 'V6' \(expected V0-V5\)"):
        arrears_state(T0, T0, "V6")
    with pytest.raises(ValueError, match="unknown arrears column 'monthly'"):
        arrears_state(T0, T0, "V1", "monthly")
    with pytest.raises(ValueError, match="now must be timezone-aware"):
        arrears_state(None, datetime(2024, 1, 1), "V1")
    with pytest.raises(ValueError, match="negative_since must be timezone-aware"):
        arrears_state(datetime(2024, 1, 1), T0, "V1")


def test_state_values() -> None:
    assert [str(s) for s in ArrearsState] == ["active", "grace", "retention", "released"]
