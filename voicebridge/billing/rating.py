"""Rating: what an answered call costs. Integer fen and milliseconds only."""

from __future__ import annotations

from dataclasses import dataclass

from voicebridge.domain import Fen

__all__ = [
    "DEFAULT_RATE_FEN_PER_MIN",
    "DEFAULT_RENT_FEN",
    "MS_PER_MINUTE",
    "Charge",
    "PricePlan",
    "billable_minutes",
    "max_call_seconds",
    "rate_call",
]

DEFAULT_RATE_FEN_PER_MIN: Fen = 18
"""0.18 CNY per started minute."""
DEFAULT_RENT_FEN: Fen = 3000
"""30 CNY per number per month."""
MS_PER_MINUTE = 60_000


def _check_count(name: str, value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} must not be negative, got {value}")
    return value


def billable_minutes(billable_ms: int) -> int:
    """Started minutes of talk: ``ceil(billable_ms / 60000)``; 0 for 0 ms."""
    _check_count("billable_ms", billable_ms)
    return -(-billable_ms // MS_PER_MINUTE)


@dataclass(frozen=True)
class Charge:
    """The rating of one call.

    ``minutes`` started minutes of talk; ``chargeable_minutes`` those left after
    included minutes; ``fen`` the charge (non-negative; the ledger debits it).
    """

    minutes: int
    chargeable_minutes: int
    fen: Fen

    @property
    def included_minutes_used(self) -> int:
        return self.minutes - self.chargeable_minutes


def rate_call(
    billable_ms: int,
    rate_fen_per_min: int = DEFAULT_RATE_FEN_PER_MIN,
    included_minutes_left: int = 0,
) -> Charge:
    """Rate one call: every started minute beyond the included ones at the rate.

    Unanswered calls have ``billable_ms == 0`` and cost nothing.
    """
    _check_count("rate_fen_per_min", rate_fen_per_min)
    _check_count("included_minutes_left", included_minutes_left)
    minutes = billable_minutes(billable_ms)
    chargeable = max(0, minutes - included_minutes_left)
    return Charge(minutes=minutes, chargeable_minutes=chargeable, fen=chargeable * rate_fen_per_min)


def max_call_seconds(
    available_fen: int,
    rate_fen_per_min: int,
    included_minutes_left: int = 0,
    *,
    cap_seconds: int | None = None,
) -> int:
    """Longest call the funds cover, in whole minutes × 60 (0 if under a minute).

    ``available_fen`` is the balance after reserving calls in flight (may be
    negative: then only included minutes count). A rate of 0 needs
    ``cap_seconds``; the result never exceeds ``cap_seconds`` when given.
    """
    if not isinstance(available_fen, int) or isinstance(available_fen, bool):
        raise TypeError(f"available_fen must be an int, got {type(available_fen).__name__}")
    _check_count("rate_fen_per_min", rate_fen_per_min)
    _check_count("included_minutes_left", included_minutes_left)
    if cap_seconds is not None:
        _check_count("cap_seconds", cap_seconds)
    if rate_fen_per_min == 0:
        if cap_seconds is None:
            raise ValueError("rate_fen_per_min is 0: give cap_seconds")
        return cap_seconds
    paid_minutes = max(0, available_fen) // rate_fen_per_min
    seconds = (included_minutes_left + paid_minutes) * 60
    return seconds if cap_seconds is None else min(seconds, cap_seconds)


@dataclass(frozen=True)
class PricePlan:
    """A tenant's prices; the defaults are the product's list prices."""

    rate_fen_per_min: Fen = DEFAULT_RATE_FEN_PER_MIN
    rent_fen_per_number: Fen = DEFAULT_RENT_FEN
    included_minutes: int = 0  # per month

    def __post_init__(self) -> None:
        _check_count("rate_fen_per_min", self.rate_fen_per_min)
        _check_count("rent_fen_per_number", self.rent_fen_per_number)
        _check_count("included_minutes", self.included_minutes)

    def rate(self, billable_ms: int, included_minutes_left: int = 0) -> Charge:
        """:func:`rate_call` at this plan's rate."""
        return rate_call(billable_ms, self.rate_fen_per_min, included_minutes_left)
