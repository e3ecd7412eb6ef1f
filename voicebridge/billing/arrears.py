"""Arrears: from a negative balance through grace and retention to release.

Days by customer level, from the product's table (grace, retention):

=====  =========  ============
level  on-demand  subscription
=====  =========  ============
V5     7 / 15     7 / 15
V4     7 / 15     7 / 15
V3     1 / 7      7 / 7
V2     0 / 7      1 / 7
V1     0 / 7      1 / 7
V0     0 / 1      1 / 1
=====  =========  ============

A day is 24 hours counted from the moment the balance went negative. Each
state starts at its boundary: with 1 grace day, ``negative_since + 1 day`` is
already retention.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = [
    "ARREARS_DAYS",
    "COLUMNS",
    "LEVELS",
    "ArrearsPolicy",
    "ArrearsState",
    "arrears_state",
    "next_transition",
]

ON_DEMAND = "on_demand"
SUBSCRIPTION = "subscription"
COLUMNS = (ON_DEMAND, SUBSCRIPTION)
LEVELS = ("V0", "V1", "V2", "V3", "V4", "V5")

ARREARS_DAYS: dict[str, dict[str, tuple[int, int]]] = {
    ON_DEMAND: {"V5": (7, 15), "V4": (7, 15), "V3": (1, 7), "V2": (0, 7), "V1": (0, 7), "V0": (0, 1)},
    SUBSCRIPTION: {"V5": (7, 15), "V4": (7, 15), "V3": (7, 7), "V2": (1, 7), "V1": (1, 7), "V0": (1, 1)},
}
"""column → level → (grace days, retention days)."""


class ArrearsState(str, enum.Enum):
    ACTIVE = "active"  # balance >= 0
    GRACE = "grace"  # negative, service still works
    RETENTION = "retention"  # service stopped, numbers and data kept
    RELEASED = "released"  # numbers released, documents deleted

    def __str__(self) -> str:
        return self.value


def _aware(name: str, ts: datetime) -> None:
    if ts.tzinfo is None or ts.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


@dataclass(frozen=True)
class ArrearsPolicy:
    """The arrears timeline of one customer level in one column of the table."""

    level: str
    column: str = ON_DEMAND

    def __post_init__(self) -> None:
        if self.column not in ARREARS_DAYS:
            raise ValueError(f"unknown arrears column {self.column!r} (expected on_demand or subscription)")
        if self.level not in ARREARS_DAYS[self.column]:
            raise ValueError(f"unknown customer level {self.level!r} (expected V0-V5)")

    @property
    def grace(self) -> timedelta:
        return timedelta(days=ARREARS_DAYS[self.column][self.level][0])

    @property
    def retention(self) -> timedelta:
        return timedelta(days=ARREARS_DAYS[self.column][self.level][1])

    def state(self, negative_since: datetime | None, now: datetime) -> ArrearsState:
        """The state at ``now``; ``negative_since`` is None while the balance is >= 0."""
        _aware("now", now)
        if negative_since is None:
            return ArrearsState.ACTIVE
        _aware("negative_since", negative_since)
        elapsed = max(now - negative_since, timedelta(0))  # a clock behind is the first state
        if elapsed < self.grace:
            return ArrearsState.GRACE
        if elapsed < self.grace + self.retention:
            return ArrearsState.RETENTION
        return ArrearsState.RELEASED

    def next_transition(self, negative_since: datetime | None, now: datetime) -> datetime | None:
        """When the state after ``now`` changes next by time alone; None if never.

        Active waits for the balance, not the clock; released is final.
        """
        state = self.state(negative_since, now)
        if negative_since is None or state is ArrearsState.RELEASED:
            return None
        if state is ArrearsState.GRACE:
            return negative_since + self.grace
        return negative_since + self.grace + self.retention

    @staticmethod
    def calls_allowed(state: ArrearsState) -> bool:
        """Reminder calls may be placed in active and grace, not after."""
        return state in (ArrearsState.ACTIVE, ArrearsState.GRACE)

    @staticmethod
    def numbers_kept(state: ArrearsState) -> bool:
        """Numbers (and uploaded documents) survive until release."""
        return state is not ArrearsState.RELEASED


def arrears_state(
    negative_since: datetime | None, now: datetime, level: str, column: str = ON_DEMAND
) -> ArrearsState:
    """The arrears state at ``now`` for a customer ``level`` ("V0"-"V5")."""
    return ArrearsPolicy(level, column).state(negative_since, now)


def next_transition(
    negative_since: datetime | None, now: datetime, level: str, column: str = ON_DEMAND
) -> datetime | None:
    """When the arrears state next changes by time alone; None if it never will."""
    return ArrearsPolicy(level, column).next_transition(negative_since, now)
