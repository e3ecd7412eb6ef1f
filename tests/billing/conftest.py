"""Billing fixtures: a real SQLite store, tenants with numbers at chosen issue
times, a controllable clock, and a scripted carrier for the dispatcher path."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, AsyncIterator, Callable

import pytest

from voicebridge.domain import CallEvent, CallOutcome, CallRequest, EventKind, HangupBy, Outcome, iso
from voicebridge.store import ledger
from voicebridge.store.sqlite import SqliteStore
from voicebridge.store.tenants import add_pool_numbers, create_tenant


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    async with SqliteStore.open(tmp_path / "billing.sqlite3") as s:
        yield s


class Clock:
    """A settable UTC clock: ``clock()`` is now; ``clock.advance(days=1)``."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def set(self, when: datetime) -> None:
        self.now = when

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 1, 1, tzinfo=timezone.utc))


@pytest.fixture
def make_tenant(store: SqliteStore) -> Callable[..., Any]:
    """``await make_tenant(level="V1", balance=0, numbers=[issued_at, ...])`` → tenant id."""
    counter = iter(range(1, 10_000))

    async def make(level: str = "V1", balance: int = 0, numbers: list[datetime] = (),  # type: ignore[assignment]
                   timezone_name: str = "Asia/Shanghai", **fields: Any) -> str:
        n = next(counter)
        async with store.transaction() as tx:
            tenant = await create_tenant(tx, f"T{n}", level=level, timezone=timezone_name, **fields)
            if balance:
                await ledger.add_entry(tx, tenant["id"], ledger.TOPUP, balance, f"open:{tenant['id']}",
                                       at=iso(numbers[0] - timedelta(days=1)) if numbers else None)
            for i, issued in enumerate(numbers):
                e164 = f"+86105{n:03d}{i:04d}"
                await add_pool_numbers(tx, [(e164, "Beijing")])
                await tx.execute(
                    "UPDATE numbers SET tenant_id = ?, app_name = 'call_notify', status = 'in_use', "
                    "ordered_at = ?, issued_at = ? WHERE e164 = ?",
                    (tenant["id"], iso(issued), iso(issued), e164),
                )
        return str(tenant["id"])

    return make


@dataclass
class Script:
    """What the fake carrier does for one callee: talk this long after answering."""

    outcome: Outcome = Outcome.ANSWERED
    billable_ms: int = 0
    ring_ms: int = 1000


@dataclass
class FakeCarrier:
    """A carrier that ends each call as scripted, without waiting in real time.

    Calls wait on ``gate`` (when set) so a test can hold several in flight.
    """

    scripts: dict[str, Script] = field(default_factory=dict)
    requests: list[CallRequest] = field(default_factory=list)
    gate: asyncio.Event | None = None
    started: datetime = datetime(2026, 3, 1, 2, 0, tzinfo=timezone.utc)

    async def dial(self, request: CallRequest, on_event: Any) -> CallOutcome:
        self.requests.append(request)
        if self.gate is not None:
            await self.gate.wait()
        script = self.scripts.get(request.callee, Script())
        start = self.started
        alerting = start + timedelta(milliseconds=300)
        answered = start + timedelta(milliseconds=script.ring_ms) if script.outcome is Outcome.ANSWERED else None
        talk = min(script.billable_ms, int(request.max_duration * 1000))
        end = (answered + timedelta(milliseconds=talk)) if answered else start + timedelta(seconds=3)
        await on_event(CallEvent(request.call_id, EventKind.RINGING, alerting))
        if answered:
            await on_event(CallEvent(request.call_id, EventKind.ANSWERED, answered))
        cause = "prompt_finished" if answered else script.outcome.value
        if answered and script.billable_ms > talk:
            cause = request.max_duration_cause
        return CallOutcome(call_id=request.call_id, status=script.outcome, cause=cause, started_at=start,
                           ended_at=end, alerting_at=alerting, answered_at=answered,
                           sip_code=200 if answered else 486, hangup_by=HangupBy.CALLER,
                           session_id=f"sess-{request.call_id}")

    def abort(self, call_id: str, cause: str) -> None:
        if self.gate is not None:
            self.gate.set()


class FakePrompt:
    def frames(self) -> list[bytes]:
        return [b"\xff" * 160]


class FakeTts:
    async def render(self, text: str, language: str) -> FakePrompt:
        return FakePrompt()


@pytest.fixture
def fake_carrier() -> FakeCarrier:
    return FakeCarrier()


@pytest.fixture
def fake_tts() -> FakeTts:
    return FakeTts()


@pytest.fixture(name="Script")
def script_class() -> type[Script]:
    """The carrier's per-callee script type (a fixture: conftest is not importable)."""
    return Script
