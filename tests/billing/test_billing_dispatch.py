"""Rating and authorisation through the real dispatcher path: a real SQLite file,
a scripted carrier, the CDR + ledger charge + status transaction, the arrears hook."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timezone
from typing import Any

from voicebridge.billing.accounts import ArrearsHook
from voicebridge.billing.statements import reconcile_tenant
from voicebridge.domain import Cause, Outcome
from voicebridge.reminders.dispatcher import DispatchSettings, Dispatcher
from voicebridge.reminders.intake import IntakeLimits, accept
from voicebridge.reminders.policy import PolicySettings
from voicebridge.store import ledger
from voicebridge.store.tenants import get_tenant

POLICY = PolicySettings(retries=0, quiet_start="00:00", quiet_end="00:00", max_calls_24h=100, max_calls_30d=100)


def reminder(phones: list[str]) -> dict[str, Any]:
    return {"group_id": "g", "message_id": f"m{time.monotonic_ns()}", "sender": {"user_id": "s", "name": "张三"},
            "text": "测试", "recipients": [{"user_id": f"u{i}", "phone": p} for i, p in enumerate(phones)]}


async def run_calls(store: Any, tenant_id: str, phones: list[str], carrier: Any, tts: Any, *,
                    max_duration: float = 600.0, hooks: list[Any] = (), until_launched: int | None = None,
                    release: Any = None) -> list[dict[str, Any]]:
    tenant = await get_tenant(store, tenant_id)
    status, body, _ = await accept(store, tenant, reminder(phones), IntakeLimits())
    assert status == 202, body
    dispatcher = Dispatcher(store, carrier, tts, DispatchSettings(calls_per_second=1000.0, poll_interval=0.01,
                                                                  max_duration=max_duration),
                            hooks=list(hooks), policy=POLICY)
    await dispatcher.start()
    try:
        deadline = time.monotonic() + 10
        if until_launched is not None:
            while time.monotonic() < deadline:
                rows = await store.fetchall("SELECT status FROM calls WHERE reminder_id = ?", (body["id"],))
                if sum(r["status"] != "queued" for r in rows) == len(phones) and \
                        len(carrier.requests) >= until_launched:
                    break
                await asyncio.sleep(0.01)
            if release is not None:
                await release()
        while time.monotonic() < deadline:
            row = await store.fetchone("SELECT status FROM reminders WHERE id = ?", (body["id"],))
            if row["status"] != "active":
                break
            await asyncio.sleep(0.01)
        else:
            raise AssertionError("reminder did not finish")
    finally:
        await dispatcher.stop(1.0)
    return await store.fetchall(
        "SELECT c.phone, c.status, c.cause, d.billable_ms, d.billable_minutes, d.charge_fen, d.call_id, d.attempt "
        "FROM calls c LEFT JOIN cdrs d ON d.call_id = c.id WHERE c.reminder_id = ? ORDER BY c.seq", (body["id"],))


async def test_rating_edge_cases_through_the_dispatcher(store: Any, make_tenant: Any, fake_carrier: Any,
                                                        fake_tts: Any, Script: Any) -> None:
    cases = {  # talk ms → started minutes
        "+8613900000001": 0, "+8613900000002": 1_000, "+8613900000003": 59_999, "+8613900000004": 60_000,
        "+8613900000005": 60_001, "+8613900000006": 2 * 3600_000, "+8613900000007": 3 * 3600_000 + 1,
    }
    fake_carrier.scripts = {p: Script(billable_ms=ms) for p, ms in cases.items()}
    fake_carrier.scripts["+8613900000008"] = Script(outcome=Outcome.BUSY)
    fake_carrier.scripts["+8613900000009"] = Script(outcome=Outcome.NO_ANSWER)
    tid = await make_tenant(balance=1_000_000, numbers=[datetime(2026, 1, 1, tzinfo=timezone.utc)])
    rows = await run_calls(store, tid, list(fake_carrier.scripts), fake_carrier, fake_tts, max_duration=4 * 3600)
    got = {r["phone"]: (r["billable_ms"], r["billable_minutes"], r["charge_fen"]) for r in rows}
    assert got == {
        "+8613900000001": (0, 0, 0),
        "+8613900000002": (1_000, 1, 18),
        "+8613900000003": (59_999, 1, 18),
        "+8613900000004": (60_000, 1, 18),
        "+8613900000005": (60_001, 2, 36),
        "+8613900000006": (7_200_000, 120, 2160),
        "+8613900000007": (10_800_001, 181, 3258),
        "+8613900000008": (0, 0, 0),
        "+8613900000009": (0, 0, 0),
    }
    total = sum(v[2] for v in got.values())
    assert await ledger.balance(store, tid) == 1_000_000 - total
    # exactly one ledger charge per CDR that costs something, none for free ones
    charges = await store.fetchall("SELECT reference, amount_fen FROM ledger WHERE kind = 'call_charge'")
    assert sorted(-c["amount_fen"] for c in charges) == sorted(v[2] for v in got.values() if v[2])
    report = await reconcile_tenant(store, await get_tenant(store, tid))
    assert report.ok, report.problems


async def test_concurrent_calls_reserve_a_minute_each(store: Any, make_tenant: Any, fake_carrier: Any,
                                                      fake_tts: Any, Script: Any) -> None:
    """40 fen at 18 fen/min: the first call may last 2 minutes, the second (one
    minute reserved for the first) 1 minute, the rest are blocked: the balance
    never goes below zero, however long they talk."""
    phones = [f"+861390000010{i}" for i in range(5)]
    fake_carrier.scripts = {p: Script(billable_ms=10 * 60_000) for p in phones}  # all would talk 10 min
    fake_carrier.gate = asyncio.Event()
    tid = await make_tenant(balance=40, numbers=[datetime(2026, 1, 1, tzinfo=timezone.utc)])

    async def release() -> None:
        assert fake_carrier.gate is not None
        fake_carrier.gate.set()

    rows = await run_calls(store, tid, phones, fake_carrier, fake_tts, until_launched=2, release=release)
    durations = sorted((r.max_duration, r.max_duration_cause) for r in fake_carrier.requests)
    assert durations == [(59.0, Cause.BALANCE_EXHAUSTED), (119.0, Cause.BALANCE_EXHAUSTED)]
    by_status: dict[str, int] = {}
    for r in rows:
        by_status[r["status"]] = by_status.get(r["status"], 0) + 1
    assert by_status == {"completed": 2, "blocked": 3}
    assert {r["cause"] for r in rows if r["status"] == "blocked"} == {Cause.BALANCE_EXHAUSTED}
    assert {r["cause"] for r in rows if r["status"] == "completed"} == {Cause.BALANCE_EXHAUSTED}
    charged = sorted(r["charge_fen"] for r in rows if r["charge_fen"])
    assert charged == [18, 36]  # 59 s → 1 min, 119 s → 2 min
    balance = await ledger.balance(store, tid)
    assert balance == 40 - sum(charged)


async def test_arrears_hook_runs_in_the_charge_transaction(store: Any, make_tenant: Any, fake_carrier: Any,
                                                           fake_tts: Any, clock: Any, Script: Any) -> None:
    """A debit outside the dispatcher (an adjustment) lands while a call is in
    flight; the call's charge tips the balance below zero, and the hook moves a
    V1 tenant straight to retention (0 grace days, on-demand) with an audit row."""
    phone = "+8613900000201"
    fake_carrier.scripts = {phone: Script(billable_ms=30_000)}
    fake_carrier.gate = asyncio.Event()
    tid = await make_tenant(level="V1", balance=36, numbers=[datetime(2026, 1, 1, tzinfo=timezone.utc)])

    async def debit_then_release() -> None:
        async with store.transaction() as tx:
            await ledger.add_entry(tx, tid, ledger.ADJUSTMENT, -30, "adj:1", reason="correction")
        assert fake_carrier.gate is not None
        fake_carrier.gate.set()

    seen: list[Any] = []

    async def listener(tx: Any, transition: Any) -> None:
        seen.append(transition)

    clock.set(datetime(2026, 3, 1, 2, 5, tzinfo=timezone.utc))
    rows = await run_calls(store, tid, [phone], fake_carrier, fake_tts, hooks=[ArrearsHook(clock, [listener])],
                           until_launched=1, release=debit_then_release)
    assert rows[0]["charge_fen"] == 18
    tenant = await get_tenant(store, tid)
    assert await ledger.balance(store, tid) == -12
    assert tenant["arrears_state"] == "retention"
    assert tenant["negative_since"] == "2026-03-01T02:05:00.000+00:00"
    assert tenant["arrears_column"] == "on_demand"
    audits = await store.fetchall("SELECT action, detail FROM audit WHERE tenant_id = ? AND action = 'tenant.arrears'",
                                  (tid,))
    assert len(audits) == 1 and '"to": "retention"' in audits[0]["detail"]
    assert [(t.old.value, t.new.value) for t in seen] == [("active", "retention")]
