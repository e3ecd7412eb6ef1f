"""Per-key rate limits: requests per second, and recipients per minute on intake.

Answered with 429 and ``Retry-After`` (whole seconds, rounded up). Buckets live
in memory, per process: a restart forgets them, which errs on the caller's side.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable

from voicebridge.errors import Problem
from voicebridge.reminders.limits import TokenBucket


@dataclass(frozen=True)
class LimitSettings:
    requests_per_second: float = 50.0
    request_burst: float = 100.0
    recipients_per_minute: float = 6000.0
    max_buckets: int = 10_000


class RateLimiter:
    def __init__(self, settings: LimitSettings, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.clock = clock
        self._requests: dict[str, TokenBucket] = {}
        self._recipients: dict[str, TokenBucket] = {}

    def _bucket(self, table: dict[str, TokenBucket], key: str, rate: float, burst: float) -> TokenBucket:
        bucket = table.get(key)
        if bucket is None:
            if len(table) >= self.settings.max_buckets:
                table.clear()  # bounded memory; forgetting errs on the caller's side
            bucket = table[key] = TokenBucket(rate, burst, now=self.clock())
        return bucket

    def check_request(self, key_id: str) -> None:
        s = self.settings
        wait = self._bucket(self._requests, key_id, s.requests_per_second, s.request_burst).take(self.clock())
        if wait > 0:
            raise _too_many(wait, f"more than {s.requests_per_second:g} requests per second on this key")

    def check_recipients(self, key_id: str, count: int) -> None:
        s = self.settings
        bucket = self._bucket(self._recipients, key_id, s.recipients_per_minute / 60.0, s.recipients_per_minute)
        wait = bucket.take(self.clock(), count)
        if wait == float("inf"):
            raise Problem(429, "Too many recipients", f"this key may call at most {s.recipients_per_minute:g} "
                          "recipients per minute", type="https://voicebridge.dev/problems/rate-limited")
        if wait > 0:
            raise _too_many(wait, f"more than {s.recipients_per_minute:g} recipients per minute on this key")


def _too_many(wait: float, detail: str) -> Problem:
    retry = max(1, math.ceil(wait))
    return Problem(429, "Too many requests", detail, type="https://voicebridge.dev/problems/rate-limited",
                   extra={"retry_after": retry})
