"""The rent and arrears jobs on a real SQLite file under a controlled clock."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from voicebridge.billing.accounts import settle
from voicebridge.billing.arrears import ARREARS_DAYS, LEVELS, ON_DEMAND, SUBSCRIPTION
from voicebridge.billing.statements import reconcile_tenant, statement
from voicebridge.jobs import BillingJobs, JobSettings
from voicebridge.store import ledger
from voicebridge.store.tenants import get_tenant

SH = ZoneInfo("Asia/Shanghai")
UTC = timezone.utc


def local(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SH)


async def rent_refs(store: Any, tid: str) -> list[str]:
    rows = await store.fetchall("SELECT reference FROM ledger WHERE tenant_id = ? AND kind = 'rent' ORDER BY id", (tid,))
    return [r["reference"].rsplit(":", 1)[1] for r in rows]


async def test_rent_daily_across_month_ends_and_a_leap_february(store: Any, make_tenant: Any, clock: Any) -> None:
    tid = await make_tenant(balance=100_000, numbers=[local(2024, 1, 31, 15, 30)])
    jobs = BillingJobs(store, JobSettings(enabled=False), clock=clock)
    clock.set(local(2024, 1, 31, 15, 0))
    assert await jobs.run_rent() == []  # not issued yet
    day = local(2024, 1, 31, 16, 0)
    while day < local(2024, 7, 1):
        clock.set(day)
        await jobs.run_rent()
        await jobs.run_rent()  # a second run the same day charges nothing
        day += timedelta(hours=7)
    assert await rent_refs(store, tid) == ["2024-01-31", "2024-02-29", "2024-03-31", "2024-04-30", "2024-05-31",
                                           "2024-06-30"]
    assert await ledger.balance(store, tid) == 100_000 - 6 * 3000
    # each entry is dated when its period began (the first: when the number was issued)
    rows = await store.fetchall("SELECT created_at FROM ledger WHERE kind = 'rent' ORDER BY id")
    assert rows[0]["created_at"] == "2024-01-31T07:30:00.000+00:00"
    assert rows[1]["created_at"] == "2024-02-28T16:00:00.000+00:00"  # 2024-02-29 00:00 in Shanghai


async def test_rent_catches_up_after_downtime_exactly_once(store: Any, make_tenant: Any, clock: Any) -> None:
    tid = await make_tenant(balance=100_000, numbers=[local(2025, 1, 15, 9), local(2025, 3, 31, 9)])
    jobs = BillingJobs(store, JobSettings(enabled=False), clock=clock)
    clock.set(local(2025, 1, 15, 10))
    assert len(await jobs.run_rent()) == 1
    clock.set(local(2025, 7, 1, 0, 1))  # five months down
    caught = await jobs.run_rent()
    assert sorted((c.e164[-4:], c.period_start.isoformat()) for c in caught) == [
        ("0000", "2025-02-15"), ("0000", "2025-03-15"), ("0000", "2025-04-15"), ("0000", "2025-05-15"),
        ("0000", "2025-06-15"), ("0001", "2025-03-31"), ("0001", "2025-04-30"), ("0001", "2025-05-31"),
        ("0001", "2025-06-30")]
    assert await jobs.run_rent() == []
    st = await statement(store, await get_tenant(store, tid), local(2025, 4, 1).date())
    assert st.rent_fen == 6000 and [r["periods"] for r in st.rent] == [["2025-04-15"], ["2025-04-30"]]


async def test_released_numbers_stop_from_the_next_period(store: Any, make_tenant: Any, clock: Any) -> None:
    tid = await make_tenant(balance=100_000, numbers=[local(2025, 1, 10, 12), local(2025, 1, 10, 12)])
    nums = [r["e164"] for r in await store.fetchall("SELECT e164 FROM numbers WHERE tenant_id = ? ORDER BY e164", (tid,))]
    async with store.transaction() as tx:
        # one released before its third period began, one on that day after midnight
        await tx.execute("UPDATE numbers SET status = 'released', released_at = ? WHERE e164 = ?",
                         (local(2025, 3, 9, 23).astimezone(UTC).isoformat(timespec="milliseconds"), nums[0]))
        await tx.execute("UPDATE numbers SET status = 'released', released_at = ? WHERE e164 = ?",
                         (local(2025, 3, 10, 8).astimezone(UTC).isoformat(timespec="milliseconds"), nums[1]))
    clock.set(local(2025, 6, 1))
    await BillingJobs(store, JobSettings(enabled=False), clock=clock).run_rent()
    rows = await store.fetchall("SELECT reference FROM ledger WHERE kind = 'rent' ORDER BY reference")
    refs = [r["reference"].split(":", 2)[2] for r in rows]
    assert refs == [f"{nums[0]}:2025-01-10", f"{nums[0]}:2025-02-10",
                    f"{nums[1]}:2025-01-10", f"{nums[1]}:2025-02-10", f"{nums[1]}:2025-03-10"]


async def test_rent_days_follow_the_tenant_time_zone(store: Any, make_tenant: Any, clock: Any) -> None:
    # 2025-01-31 17:00 UTC is already 1 February in Shanghai: the anchor day is the 1st
    sh = await make_tenant(balance=100_000, numbers=[datetime(2025, 1, 31, 17, tzinfo=UTC)])
    utc = await make_tenant(balance=100_000, numbers=[datetime(2025, 1, 31, 17, tzinfo=UTC)], timezone_name="UTC")
    clock.set(datetime(2025, 3, 5, tzinfo=UTC))
    await BillingJobs(store, JobSettings(enabled=False), clock=clock).run_rent()
    assert await rent_refs(store, sh) == ["2025-02-01", "2025-03-01"]
    assert await rent_refs(store, utc) == ["2025-01-31", "2025-02-28"]


async def test_sandbox_tenants_pay_no_rent(store: Any, make_tenant: Any, clock: Any) -> None:
    tid = await make_tenant(balance=10_000, numbers=[local(2025, 1, 1)], sandbox=1)
    clock.set(local(2025, 6, 1))
    assert await BillingJobs(store, JobSettings(enabled=False), clock=clock).run_rent() == []
    assert await ledger.balance(store, tid) == 10_000


async def test_rent_into_arrears_then_release_then_top_up(store: Any, make_tenant: Any, clock: Any) -> None:
    """V1, subscription column (rent tipped it): 1 grace day, 7 retention days."""
    tid = await make_tenant(level="V1", balance=4000, numbers=[local(2025, 1, 10, 12)])
    jobs = BillingJobs(store, JobSettings(enabled=False), clock=clock)
    clock.set(local(2025, 1, 10, 13))
    await jobs.run_rent()
    assert (await get_tenant(store, tid))["arrears_state"] == "active"  # 4000 - 3000
    clock.set(local(2025, 2, 10, 0, 30))
    await jobs.run_rent()  # 1000 - 3000 < 0
    t = await get_tenant(store, tid)
    assert (t["arrears_state"], t["arrears_column"]) == ("grace", SUBSCRIPTION)
    since = clock()
    states = []
    for hours in (23, 24, 24 * 8 - 1, 24 * 8):
        clock.set(since + timedelta(hours=hours))
        await jobs.run_arrears()
        states.append((await get_tenant(store, tid))["arrears_state"])
    assert states == ["grace", "retention", "retention", "released"]
    numbers = await store.fetchall("SELECT status, released_at FROM numbers WHERE tenant_id = ?", (tid,))
    assert [n["status"] for n in numbers] == ["released"]
    clock.set(local(2025, 5, 1))
    await jobs.run_rent()  # no rent after release
    assert await rent_refs(store, tid) == ["2025-01-10", "2025-02-10"]
    audits = await store.fetchall("SELECT detail FROM audit WHERE tenant_id = ? AND action = 'tenant.arrears' "
                                  "ORDER BY id", (tid,))
    assert [(json.loads(a["detail"])["from"], json.loads(a["detail"])["to"]) for a in audits] == [
        ("active", "grace"), ("grace", "retention"), ("retention", "released")]
    e164 = (await store.fetchone("SELECT e164 FROM numbers WHERE tenant_id = ?", (tid,)))["e164"]
    assert json.loads(audits[-1]["detail"])["released_numbers"] == [e164]
    # a top-up back to zero or above: active at once
    async with store.transaction() as tx:
        await ledger.add_entry(tx, tid, ledger.TOPUP, 2000, "pay-1")
        moved = await settle(tx, tid, clock())
    assert moved is not None and moved.new.value == "active"
    t = await get_tenant(store, tid)
    assert (t["arrears_state"], t["negative_since"], t["arrears_column"]) == ("active", None, None)
    report = await reconcile_tenant(store, t, now=clock())
    assert report.ok, report.problems


@pytest.mark.parametrize("column", [ON_DEMAND, SUBSCRIPTION])
@pytest.mark.parametrize("level", LEVELS)
async def test_arrears_timeline_per_level(store: Any, make_tenant: Any, clock: Any, level: str, column: str) -> None:
    grace, retention = ARREARS_DAYS[column][level]
    tid = await make_tenant(level=level, balance=100)
    kind = ledger.RENT if column == SUBSCRIPTION else ledger.CALL_CHARGE
    t0 = datetime(2026, 2, 27, 20, 0, tzinfo=UTC)  # runs over a month end
    clock.set(t0)
    async with store.transaction() as tx:
        await ledger.add_entry(tx, tid, kind, -150, f"debit:{tid}")
        await settle(tx, tid, clock(), cause_kind=kind)
    jobs = BillingJobs(store, JobSettings(enabled=False), clock=clock)
    second = timedelta(seconds=1)
    expected = [
        (t0, "grace" if grace else "retention"),
        (t0 + timedelta(days=grace) - second, "grace" if grace else "retention"),
        (t0 + timedelta(days=grace), "retention"),
        (t0 + timedelta(days=grace + retention) - second, "retention"),
        (t0 + timedelta(days=grace + retention), "released"),
        (t0 + timedelta(days=400), "released"),
    ]
    got = []
    for when, _ in expected:
        clock.set(when)
        await jobs.run_arrears()
        row = await get_tenant(store, tid)
        assert row["arrears_column"] == column
        got.append((when, row["arrears_state"]))
    assert got == expected


async def test_intake_refuses_retention_and_operator_topup_restores(service: Any, sandbox: Any) -> None:
    from voicebridge.api.keys import SERVICES
    from voicebridge.tenancy import operator_key

    services = service.server.app[SERVICES]
    store = services.store
    tid = sandbox.tenant["id"]
    async with store.transaction() as tx:
        await ledger.add_entry(tx, tid, ledger.ADJUSTMENT, -10_500, "adj:arrears", reason="test debit")
        await settle(tx, tid, datetime.now(UTC))  # V1 on demand: no grace
    body = {"group_id": "g", "message_id": "m", "sender": {"user_id": "s", "name": "张三"}, "text": "x",
            "recipients": [{"user_id": "u", "phone": "13800138000"}]}
    resp = await service.post("/v1/reminders", json=body, headers={"Authorization": f"Bearer {sandbox.api_key}"})
    assert resp.status == 409 and resp.content_type == "application/problem+json"
    assert (await resp.json())["arrears_state"] == "retention"
    op = await operator_key(store, services.secret)
    resp = await service.post(f"/v1/tenants/{tid}/topups", json={"amount_fen": 600, "reference": "pay-9"},
                              headers={"Authorization": f"Bearer {op}"})
    assert resp.status == 201, await resp.text()
    assert (await get_tenant(store, tid))["arrears_state"] == "active"
    resp = await service.post("/v1/reminders", json=body, headers={"Authorization": f"Bearer {sandbox.api_key}"})
    assert resp.status == 202


async def test_the_scheduler_runs_the_jobs(store: Any, make_tenant: Any) -> None:
    import asyncio

    tid = await make_tenant(balance=5000, numbers=[datetime.now(UTC) - timedelta(days=40)])
    jobs = BillingJobs(store, JobSettings(rent_interval=0.2, arrears_interval=0.2, first_run_delay=0.05))
    jobs.start()
    try:
        for _ in range(100):
            if jobs.runs["rent"] >= 2 and jobs.runs["arrears"] >= 1:
                break
            await asyncio.sleep(0.05)
    finally:
        await jobs.stop()
    assert jobs.runs["rent"] >= 2 and jobs.runs["arrears"] >= 1
    assert len(await rent_refs(store, tid)) == 2  # issue date + one anniversary, once each
