"""The dispatcher: persisted call jobs → carrier → CDR → charge → status.

It takes due jobs from the store, paces them under the channel limit and the
calls-per-second limit, authorises each against the prepaid balance, dials
through the :class:`~voicebridge.domain.Carrier`, and for every attempt writes
one CDR, its ledger charge and the call's new status in one transaction.

Crash safety: a job is marked ``calling`` (attempt counted) in the store before
it is dialled, so after a crash :meth:`Dispatcher.recover` finds it and closes it
as ``failed`` / ``service_restart`` with its CDR. The CDR's (call, attempt) and
the ledger's (kind, reference) are unique, so nothing is written twice.
"""

from __future__ import annotations

import asyncio
import logging
import json
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Callable, Protocol, Sequence

from voicebridge.billing.rating import max_call_seconds, rate_call
from voicebridge.domain import (
    CallEvent,
    CallOutcome,
    CallRequest,
    CallStatus,
    Carrier,
    Cause,
    EventKind,
    HangupBy,
    Outcome,
    PromptRenderer,
    iso,
    parse_iso,
    utcnow,
)
from voicebridge.reminders.limits import TokenBucket
from voicebridge.reminders.policy import PolicySettings, quiet_until, retry_delay
from voicebridge.store import calls as callstore
from voicebridge.store import ledger
from voicebridge.store.sqlite import Row, SqliteStore, Tx
from voicebridge.store.tenants import get_tenant

log = logging.getLogger(__name__)


class CallHook(Protocol):
    """Work that must commit in the same transaction as a call's change: the
    webhook outbox, arrears checks. Hooks do no I/O besides ``tx``.

    ``event`` is one of ``call.calling``, ``call.ringing``, ``call.answered``,
    ``call.dtmf``, ``call.completed`` (an attempt ended; ``data`` holds its CDR),
    ``call.blocked``, ``call.deferred`` and ``reminder.completed``.
    """

    async def call_event(self, tx: Tx, job: Row, event: str, data: dict[str, Any]) -> None: ...


@dataclass(frozen=True)
class DispatchSettings:
    channels: int = 30
    calls_per_second: float = 10.0
    ring_timeout: float = 30.0
    max_replays: int = 2
    replay_wait: float = 4.0
    max_duration: float = 600.0
    poll_interval: float = 0.5


class Dispatcher:
    """Runs call jobs. ``start()`` recovers and begins; ``stop(drain)`` ends."""

    def __init__(
        self,
        store: SqliteStore,
        carrier: Carrier,
        tts: PromptRenderer,
        settings: DispatchSettings,
        clock: Callable[[], float] = time.monotonic,
        hooks: Sequence[CallHook] = (),
        policy: PolicySettings | None = None,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.carrier = carrier
        self.tts = tts
        self.settings = settings
        self._clock = clock
        self.hooks = list(hooks)
        self.policy = policy or PolicySettings()
        self.now = now
        self._bucket = TokenBucket(settings.calls_per_second, now=clock())
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._active: dict[str, asyncio.Task[None]] = {}
        self._reserved: dict[str, int] = {}  # tenant → fen held for calls in flight
        self._accepting = True
        self.dialled = 0

    # -- lifecycle ------------------------------------------------------------

    @property
    def active_calls(self) -> int:
        return len(self._active)

    async def start(self) -> None:
        await self.recover()
        self._task = asyncio.create_task(self._run(), name="dispatcher")

    def wake(self) -> None:
        self._wake.set()

    async def stop(self, drain_seconds: float) -> dict[str, int]:
        """Stop taking jobs; let calls in flight finish for up to ``drain_seconds``,
        then hang up the rest; every CDR is written before this returns."""
        self._accepting = False
        self._wake.set()
        if self._task is not None:
            # let the loop finish the job it is launching (so none is left marked
            # "calling" without a call), then stop it
            done, _ = await asyncio.wait([self._task], timeout=5.0)
            if not done:
                self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        live = list(self._active.values())
        finished = aborted = 0
        if live:
            log.info("draining %d calls for up to %.1f s", len(live), drain_seconds)
            done, pending = await asyncio.wait(live, timeout=drain_seconds)
            finished = len(done)
            for call_id in list(self._active):
                self.carrier.abort(call_id, Cause.SHUTDOWN)
            aborted = len(pending)
            if pending:
                await asyncio.wait(pending, timeout=10.0)
        log.info("dispatcher stopped: %d finished while draining, %d hung up", finished, aborted)
        return {"finished": finished, "hung_up": aborted}

    # -- recovery -----------------------------------------------------------

    async def recover(self) -> int:
        """Close the calls a previous process left in flight, each with its CDR."""
        rows = await callstore.in_flight(self.store)
        for row in rows:
            now = self.now()
            started = parse_iso(row["started_at"]) or now
            outcome = CallOutcome(
                call_id=row["id"],
                status=Outcome.FAILED,
                cause=Cause.SERVICE_RESTART,
                started_at=started,
                ended_at=max(now, started),
                alerting_at=parse_iso(row["alerting_at"]),
                answered_at=None,  # how long it talked is unknown: billed as 0
                hangup_by=HangupBy.NETWORK,
                digits=row["digits"] or "",
                replays=row["replays"] or 0,
                session_id="",
            )
            await self._finish(row, outcome)
        if rows:
            log.warning("recovered %d calls left in flight as failed/%s", len(rows), Cause.SERVICE_RESTART)
        return len(rows)

    # -- the loop -------------------------------------------------------------

    async def _run(self) -> None:
        while self._accepting:
            try:
                free = self.settings.channels - len(self._active)
                jobs = await callstore.due_calls(self.store, iso(self.now()) or "", free) if free > 0 else []
                for job in jobs:
                    wait = self._bucket.take(self._clock())
                    while wait > 0:
                        await asyncio.sleep(wait)
                        wait = self._bucket.take(self._clock())
                    if not self._accepting:
                        return
                    await self._launch(job)
                if jobs and len(jobs) == free:
                    continue  # more may be due
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the loop must outlive one bad job
                log.exception("dispatcher pass failed")
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.settings.poll_interval)
            except asyncio.TimeoutError:
                pass

    def tenant_policy(self, tenant: Row) -> PolicySettings:
        """The service's policy with the tenant's own overrides."""
        if not tenant.get("policy"):
            return self.policy
        overrides = json.loads(tenant["policy"])
        if "retry_delays" in overrides:
            overrides["retry_delays"] = tuple(overrides["retry_delays"])
        return replace(self.policy, **overrides)

    async def _hold(self, job: Row, status: CallStatus, cause: str, until: datetime | None = None) -> None:
        """End (blocked) or postpone (deferred) a job without dialling it: no CDR, no cost."""
        async with self.store.transaction() as tx:
            moved = await callstore.set_status(
                tx, job["id"], status, only_from=("queued", "deferred"), cause=cause,
                next_attempt_at=iso(until) if until else job["next_attempt_at"],
            )
            if moved:
                await self._emit(tx, job, f"call.{status.value}", {"cause": cause, "until": iso(until)})
            if status.terminal and await callstore.complete_reminder_if_done(tx, job["reminder_id"]):
                await self._emit(tx, job, "reminder.completed", {})

    async def _launch(self, job: Row) -> None:
        tenant = await get_tenant(self.store, job["tenant_id"])
        assert tenant is not None
        policy = self.tenant_policy(tenant)
        now = self.now()
        if not job.get("urgent"):
            until = quiet_until(now, tenant["timezone"], policy.quiet_start, policy.quiet_end)
            if until is not None:
                await self._hold(job, CallStatus.DEFERRED, "quiet_hours", until)
                return
        day, month = await callstore.recent_attempts(
            self.store, job["tenant_id"], job["phone"], iso(now - timedelta(hours=24)) or "",
            iso(now - timedelta(days=30)) or "")
        for count, limit, rule in ((day, policy.max_calls_24h, "callee_limit_24h"),
                                   (month, policy.max_calls_30d, "callee_limit_30d")):
            if count >= limit:
                await self._hold(job, CallStatus.BLOCKED, rule)
                return
        rate = int(tenant["rate_fen_per_min"])
        balance = await ledger.balance(self.store, job["tenant_id"])
        others = self._reserved.get(job["tenant_id"], 0)
        ceiling = int(self.settings.max_duration)
        covered = max_call_seconds(balance - others, rate, cap_seconds=ceiling)
        if covered <= 0:
            await self._hold(job, CallStatus.BLOCKED, Cause.BALANCE_EXHAUSTED)
            return
        started = self.now()
        async with self.store.transaction() as tx:
            moved = await callstore.set_status(
                tx,
                job["id"],
                CallStatus.CALLING,
                only_from=("queued", "deferred"),
                attempts=job["attempts"] + 1,
                started_at=iso(started),
                alerting_at=None,
                answered_at=None,
                ended_at=None,
            )
            if moved:
                await self._emit(tx, job, "call.calling", {"attempt": job["attempts"] + 1, "at": iso(started)})
        if not moved:  # cancelled meanwhile
            return
        job = dict(job, attempts=job["attempts"] + 1, started_at=iso(started))
        self._reserved[job["tenant_id"]] = others + rate
        if covered < self.settings.max_duration:
            # hang up a moment before the last paid minute ends, so timer lateness
            # never tips the call into a minute the balance does not cover
            max_duration, cause = max(1.0, covered - 1.0), Cause.BALANCE_EXHAUSTED
        else:
            max_duration, cause = self.settings.max_duration, Cause.MAX_DURATION
        self.dialled += 1
        task = asyncio.create_task(self._call(job, rate, max_duration, cause), name=f"call-{job['id']}")
        self._active[job["id"]] = task

    async def _call(self, job: Row, rate: int, max_duration: float, cause: str) -> None:
        try:
            try:
                prompt = await self.tts.render(job["prompt_text"], job["language"])
                request = CallRequest(
                    call_id=job["id"],
                    caller=job["caller"],
                    callee=job["phone"],
                    prompt=prompt.frames(),
                    ring_timeout=self.settings.ring_timeout,
                    max_duration=max_duration,
                    max_replays=self.settings.max_replays,
                    replay_wait=self.settings.replay_wait,
                    max_duration_cause=cause,
                )
                outcome = await self.carrier.dial(request, lambda ev: self._on_event(job, ev))
            except Exception as exc:  # noqa: BLE001 - every attempt gets a CDR
                log.exception("call %s failed locally", job["id"])
                now = self.now()
                outcome = CallOutcome(
                    call_id=job["id"],
                    status=Outcome.FAILED,
                    cause=f"local_error:{type(exc).__name__}",
                    started_at=parse_iso(job["started_at"]) or now,
                    ended_at=now,
                    hangup_by=HangupBy.CALLER,
                )
            await self._finish(job, outcome)
        finally:
            self._active.pop(job["id"], None)
            held = self._reserved.get(job["tenant_id"], 0) - rate
            if held > 0:
                self._reserved[job["tenant_id"]] = held
            else:
                self._reserved.pop(job["tenant_id"], None)
            self._wake.set()

    async def _emit(self, tx: Tx, job: Row, event: str, data: dict[str, Any]) -> None:
        for hook in self.hooks:
            await hook.call_event(tx, job, event, data)

    async def _on_event(self, job: Row, event: CallEvent) -> None:
        """A carrier event: the call's row and its webhook events, in one transaction."""
        at = iso(event.at)
        async with self.store.transaction() as tx:
            if event.kind is EventKind.RINGING:
                if await callstore.set_status(tx, job["id"], CallStatus.RINGING, only_from=callstore.LIVE_DIALLING,
                                              alerting_at=at):
                    await self._emit(tx, job, "call.ringing", {"at": at})
            elif event.kind is EventKind.ANSWERED:
                if await callstore.set_status(tx, job["id"], CallStatus.ANSWERED, only_from=callstore.LIVE_DIALLING,
                                              answered_at=at):
                    await self._emit(tx, job, "call.answered", {"at": at})
            elif event.kind is EventKind.DTMF:
                await tx.execute("UPDATE calls SET digits = digits || ? WHERE id = ?", (event.digit or "", job["id"]))
                await self._emit(tx, job, "call.dtmf", {"at": at, "digit": event.digit})
            elif event.kind is EventKind.REPLAYED:
                await tx.execute("UPDATE calls SET replays = ? WHERE id = ?", (event.replays or 0, job["id"]))
            else:
                return

    async def _finish(self, job: Row, outcome: CallOutcome) -> None:
        """One transaction: the CDR, its charge, the call's next status (terminal,
        or queued again for a retry)."""
        tenant = await get_tenant(self.store, job["tenant_id"])
        assert tenant is not None
        rate = int(tenant["rate_fen_per_min"])
        charge = rate_call(outcome.billable_ms if outcome.status is Outcome.ANSWERED else 0, rate)
        attempt = int(job["attempts"])
        now = self.now()
        cdr = {
            "call_id": job["id"],
            "attempt": attempt,
            "tenant_id": job["tenant_id"],
            "reminder_id": job["reminder_id"],
            "recipient_user_id": job["user_id"],
            "app_name": "call_notify",
            "session_id": outcome.session_id,
            "caller": job["caller"],
            "callee": job["phone"],
            "start_at": iso(outcome.started_at),
            "alerting_at": iso(outcome.alerting_at),
            "answer_at": iso(outcome.answered_at),
            "end_at": iso(outcome.ended_at),
            "duration_ms": outcome.duration_ms,
            "billable_ms": outcome.billable_ms,
            "status": outcome.status.value,
            "cause": outcome.cause,
            "sip_code": outcome.sip_code,
            "q850": outcome.q850,
            "hangup_by": outcome.hangup_by.value,
            "digits": outcome.digits,
            "replays": outcome.replays,
            "billable_minutes": charge.minutes,
            "rate_fen_per_min": rate,
            "charge_fen": charge.fen,
            "created_at": iso(now),
        }
        status = outcome.status.call_status
        delay = retry_delay(outcome.status, outcome.cause, attempt, self.tenant_policy(tenant))
        retry_at = iso(now + timedelta(seconds=delay)) if delay is not None else None
        async with self.store.transaction() as tx:
            cdr_id = await callstore.insert_cdr(tx, cdr)
            if cdr_id and charge.fen:
                await ledger.add_entry(
                    tx, job["tenant_id"], ledger.CALL_CHARGE, -charge.fen, f"cdr:{job['id']}:{attempt}",
                    reason=f"{charge.minutes} min × {rate} fen",
                )
            await callstore.set_status(
                tx,
                job["id"],
                CallStatus.QUEUED if retry_at else status,
                next_attempt_at=retry_at,
                cause=outcome.cause,
                sip_code=outcome.sip_code,
                replays=outcome.replays,
                digits=outcome.digits,
                talk_ms=outcome.billable_ms,
                charge_fen=(job.get("charge_fen") or 0) + (charge.fen if cdr_id else 0),
                alerting_at=iso(outcome.alerting_at),
                answered_at=iso(outcome.answered_at),
                ended_at=iso(outcome.ended_at),
            )
            if cdr_id:
                await self._emit(tx, job, "call.completed", {
                    "status": status.value, "retry_at": retry_at, "cdr": cdr})
            if await callstore.complete_reminder_if_done(tx, job["reminder_id"]):
                await self._emit(tx, job, "reminder.completed", {})
        log.info(
            "call %s attempt %d: %s/%s sip=%s billable=%dms charge=%d fen",
            job["id"], attempt, outcome.status.value, outcome.cause, outcome.sip_code, outcome.billable_ms, charge.fen,
        )
