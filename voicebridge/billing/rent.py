"""Rent periods: the issue date, then each monthly anniversary.

A day past the end of a month (the 29th-31st) falls back to that month's last
day; the issue day stays the anchor, so Jan 31 → Feb 28 (29) → Mar 31 → Apr 30.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

__all__ = ["anniversary", "next_anniversary", "period_end", "rent_periods"]


def _check_anchor(anchor_day: int) -> None:
    if not isinstance(anchor_day, int) or isinstance(anchor_day, bool) or not 1 <= anchor_day <= 31:
        raise ValueError(f"anchor_day must be 1-31, got {anchor_day!r}")


def _on_day(year: int, month: int, anchor_day: int) -> date:
    return date(year, month, min(anchor_day, calendar.monthrange(year, month)[1]))


def anniversary(issued: date, months: int) -> date:
    """The start of the rent period ``months`` months after ``issued`` (0 = issued)."""
    if months < 0:
        raise ValueError(f"months must not be negative, got {months}")
    index = issued.year * 12 + issued.month - 1 + months
    return _on_day(index // 12, index % 12 + 1, issued.day)


def next_anniversary(start: date, anchor_day: int) -> date:
    """The period start after ``start``, a period start with ``anchor_day``."""
    _check_anchor(anchor_day)
    if start != _on_day(start.year, start.month, anchor_day):
        raise ValueError(f"{start.isoformat()} is not a rent period start for anchor day {anchor_day}")
    index = start.year * 12 + start.month  # the next month, zero-based
    return _on_day(index // 12, index % 12 + 1, anchor_day)


def period_end(start: date, anchor_day: int) -> date:
    """The last day (inclusive) of the rent period that begins on ``start``.

    ``anchor_day`` is the issue date's day of month. Raises ``ValueError`` if
    ``start`` is not a period start for that anchor.
    """
    return next_anniversary(start, anchor_day) - timedelta(days=1)


def rent_periods(issued: date, until: date) -> list[date]:
    """Every period start from ``issued`` up to and including ``until``.

    Empty when ``until`` is before ``issued``. The rent job charges each start
    not yet charged, so downtime is caught up and reruns charge nothing twice.
    """
    out: list[date] = []
    months = 0
    while (start := anniversary(issued, months)) <= until:
        out.append(start)
        months += 1
    return out
