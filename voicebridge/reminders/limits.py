"""Dial pacing: a calls-per-second token bucket. Time is an argument."""

from __future__ import annotations


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` saved up."""

    def __init__(self, rate: float, burst: float | None = None, now: float = 0.0) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, rate)
        self._tokens = self.burst
        self._at = now

    def take(self, now: float, n: float = 1.0) -> float:
        """Take ``n`` tokens, all or none. Returns 0 if taken, else the seconds to
        wait before the same request would succeed (inf if ``n`` exceeds the burst)."""
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens >= n:
            self._tokens -= n
            return 0.0
        if n > self.burst:
            return float("inf")
        return (n - self._tokens) / self.rate
