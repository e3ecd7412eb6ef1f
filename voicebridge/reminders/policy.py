"""Calling policy, pure: retries with back-off, quiet hours, callee protection.

Time is an argument everywhere, so a test can walk a call through the night.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from voicebridge.domain import Cause, Outcome

RETRYABLE = frozenset({Outcome.BUSY, Outcome.NO_ANSWER, Outcome.FAILED})
# a failure we caused or that no retry can mend is never retried
NOT_RETRYABLE_CAUSES = frozenset({Cause.SERVICE_RESTART, Cause.SHUTDOWN, Cause.AUTH_FAILED, Cause.BAD_SDP})


@dataclass(frozen=True)
class PolicySettings:
    retries: int = 2  # retries after the first attempt
    retry_delays: tuple[float, ...] = (300.0, 900.0)  # seconds before retry 1, 2, … (the last repeats)
    quiet_start: str = "22:00"  # in the tenant's time zone; equal start and end = no quiet hours
    quiet_end: str = "08:00"
    max_calls_24h: int = 3  # per callee and tenant, attempts dialled
    max_calls_30d: int = 10

    def __post_init__(self) -> None:
        if self.retries < 0:
            raise ValueError("retries must be 0 or more")
        if self.retries and not self.retry_delays:
            raise ValueError("retry_delays must list at least one delay")
        if any(d < 0 for d in self.retry_delays):
            raise ValueError("retry_delays must not be negative")
        parse_hhmm(self.quiet_start)
        parse_hhmm(self.quiet_end)
        if self.max_calls_24h < 1 or self.max_calls_30d < 1:
            raise ValueError("max_calls_24h and max_calls_30d must be at least 1")


def parse_hhmm(text: str) -> time:
    try:
        hh, mm = text.split(":")
        return time(int(hh), int(mm))
    except (ValueError, TypeError):
        raise ValueError(f"expected HH:MM, got {text!r}") from None


def retry_delay(outcome: Outcome, cause: str, attempt: int, settings: PolicySettings) -> float | None:
    """Seconds until the next attempt, or None if this attempt was the last.
    ``attempt`` counts from 1 (the first dial)."""
    if outcome not in RETRYABLE or cause in NOT_RETRYABLE_CAUSES or cause.startswith("local_error"):
        return None
    if attempt > settings.retries:
        return None
    delays = settings.retry_delays
    return delays[min(attempt - 1, len(delays) - 1)]


def quiet_until(now: datetime, tz: str, start: str, end: str) -> datetime | None:
    """If ``now`` falls in the quiet window [start, end) in time zone ``tz``,
    the UTC time the window ends; else None. The window may span midnight."""
    s, e = parse_hhmm(start), parse_hhmm(end)
    if s == e:
        return None
    zone = ZoneInfo(tz)
    local = now.astimezone(zone)
    t = local.time().replace(tzinfo=None)
    inside = (s <= t < e) if s < e else (t >= s or t < e)
    if not inside:
        return None
    end_day = local.date()
    if s > e and t >= s:  # before midnight: the window ends tomorrow
        end_day = end_day + timedelta(days=1)
    local_end = datetime.combine(end_day, e, tzinfo=zone)
    return local_end.astimezone(timezone.utc)
