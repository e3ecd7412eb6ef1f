"""Service metrics: counters fed by the dispatcher's events, gauges read at scrape.

Rendered in the Prometheus text exposition format (version 0.0.4) by hand: a
dozen lines, no global registry to leak between test apps.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Iterable

from voicebridge.store.sqlite import Row, Tx


class CallMetrics:
    """A dispatcher hook counting attempts and their outcomes."""

    def __init__(self) -> None:
        self.calls: Counter[tuple[str, str]] = Counter()  # (status, cause) of every attempt or hold
        self.dial_attempts = 0

    async def call_event(self, tx: Tx, job: Row, event: str, data: dict[str, Any]) -> None:
        if event == "call.calling":
            self.dial_attempts += 1
        elif event == "call.completed":
            cdr = data.get("cdr") or {}
            self.calls[(str(cdr.get("status", "")), str(cdr.get("cause", "")))] += 1
        elif event in ("call.blocked",):
            self.calls[("blocked", str(data.get("cause", "")))] += 1


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape(str(v))}"' for k, v in labels.items()) + "}"


class Exposition:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def family(self, name: str, kind: str, help_text: str,
               samples: Iterable[tuple[dict[str, str], int | float]]) -> None:
        self.lines.append(f"# HELP {name} {help_text}")
        self.lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            self.lines.append(f"{name}{_labels(labels)} {value}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"
