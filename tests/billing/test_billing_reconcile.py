"""A load of real calls through the SIP simulator, rent from the real job, then
``voicebridge reconcile`` proves the money adds up (and catches a bad entry)."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from voicebridge.api.keys import SERVICES
from voicebridge.store import ledger
from voicebridge.store.tenants import add_pool_numbers, issue_numbers
from voicebridge.tenancy import new_tenant


def _cli(argv: list[str]) -> int:
    from voicebridge.cli import build_parser

    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


async def test_load_then_reconcile(service: Any, sandbox: Any, capsys: pytest.CaptureFixture[str]) -> None:
    services = service.server.app[SERVICES]
    store = services.store
    # a paying tenant whose number was issued three months ago: the rent job owes 3 or 4 periods
    payer = await new_tenant(store, services.secret, "Payer Co", level="V3")
    async with store.transaction() as tx:
        await ledger.add_entry(tx, payer.tenant["id"], ledger.TOPUP, 5000, "pay-1")
        number = {"e164": "+861062345678"}
        await add_pool_numbers(tx, [(number["e164"], "Beijing")])
        assert await issue_numbers(tx, payer.tenant["id"], [number["e164"]], "call_notify") == 1
        issued = datetime.now(timezone.utc) - timedelta(days=95)
        await tx.execute("UPDATE numbers SET issued_at = ? WHERE e164 = ?",
                         (issued.isoformat(timespec="milliseconds"), number["e164"]))
    # the load: two reminders, 18 calls, answered / busy / no answer / declined / unreachable
    ids = []
    for batch in range(2):
        recipients = [{"user_id": f"u{batch}{d}", "phone": f"13{batch + 7}0013800{d}"} for d in range(10) if d != 8]  # 8 replays: slow
        resp = await service.post("/v1/reminders", json={
            "group_id": "g", "message_id": f"m{batch}", "sender": {"user_id": "s", "name": "张三"},
            "text": "对账测试", "recipients": recipients}, headers={"Authorization": f"Bearer {sandbox.api_key}"})
        assert resp.status == 202, await resp.text()
        ids.append((await resp.json())["id"])
    began = time.monotonic()
    deadline = began + 40
    while time.monotonic() < deadline:
        rows = await store.fetchall(f"SELECT status FROM reminders WHERE id IN ({', '.join('?' for _ in ids)})", ids)
        if all(r["status"] != "active" for r in rows):
            break
        await asyncio.sleep(0.2)
    else:
        raise AssertionError("the load did not finish")
    assert services.billing_jobs is not None
    await services.billing_jobs.run_rent()  # the scheduler ran it at start-up already: nothing twice
    await services.billing_jobs.run_arrears()
    charged = await store.fetchall("SELECT tenant_id FROM ledger WHERE kind = 'rent'")
    assert {c["tenant_id"] for c in charged} == {payer.tenant["id"]} and len(charged) in (3, 4)

    cdrs = await store.fetchall("SELECT status, charge_fen FROM cdrs WHERE tenant_id = ?", (sandbox.tenant["id"],))
    assert len(cdrs) == 18
    assert sum(c["status"] == "answered" for c in cdrs) >= 10
    spent = sum(c["charge_fen"] for c in cdrs)
    assert spent > 0
    assert await ledger.balance(store, sandbox.tenant["id"]) == 10_000 - spent
    payer_balance = await ledger.balance(store, payer.tenant["id"])
    assert payer_balance == 5000 - 3000 * len(charged) < 0
    payer_row = await store.fetchone("SELECT arrears_state, arrears_column FROM tenants WHERE id = ?",
                                     (payer.tenant["id"],))
    assert payer_row["arrears_column"] == "subscription"  # rent tipped it: V3 has 7 grace days
    assert payer_row["arrears_state"] == "grace"

    data_dir = str(services.settings.data_dir)
    assert await asyncio.to_thread(_cli, ["reconcile", "--data-dir", data_dir]) == 0
    out = capsys.readouterr().out
    assert f"tenant {sandbox.tenant['id']}: OK" in out and f"tenant {payer.tenant['id']}: OK" in out
    assert f"balance {10_000 - spent} fen = top-ups 10000 - call charges {spent} - rent 0 + adjustments 0" in out
    assert f"rent {3000 * len(charged)}" in out
    assert "0 with discrepancies" in out

    # a call charge that differs from its CDR's rating is caught
    async with store.transaction() as tx:
        row = await tx.fetchone("SELECT id, reference FROM ledger WHERE kind = 'call_charge' LIMIT 1")
        await tx.execute("UPDATE ledger SET amount_fen = amount_fen - 1 WHERE id = ?", (row["id"],))
    assert await asyncio.to_thread(_cli, ["reconcile", "--data-dir", data_dir]) == 1
    out = capsys.readouterr().out
    assert f"call_charge {row['reference']}: charged" in out
