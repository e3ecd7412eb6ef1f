"""Usage, statements and the CLI exports: every total equals the ledger and the CDRs."""

from __future__ import annotations

import asyncio
import csv
import sys
import io
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from voicebridge.store import ledger


def _cli(argv: list[str]) -> int:
    from voicebridge.cli import UsageError, build_parser

    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UsageError:
        return 2


async def main(argv: list[str]) -> int:
    """The CLI's command in a worker thread (it runs its own event loop), logging untouched."""
    return await asyncio.to_thread(_cli, argv)


async def seed(services: Any, tid: str, cdrs: Any) -> None:
    """CDRs across a month end (in Shanghai time), a top-up, an adjustment."""
    await cdrs(services.store, tid, 200, start=datetime(2026, 3, 28, 0, 0, tzinfo=timezone.utc),
               step=timedelta(minutes=41))
    async with services.store.transaction() as tx:
        await ledger.add_entry(tx, tid, ledger.TOPUP, 50_000, "pay-2026-03", at="2026-03-15T02:00:00.000+00:00")
        await ledger.add_entry(tx, tid, ledger.ADJUSTMENT, -120, "adj-1", reason="goodwill reversal",
                               at="2026-04-02T02:00:00.000+00:00")


async def test_usage_by_day_and_month_adds_up_to_the_cdrs(service: Any, services: Any, sandbox: Any, cdrs: Any,
                                                          auth: Any) -> None:
    tid = sandbox.tenant["id"]
    await seed(services, tid, cdrs)
    totals = await services.store.fetchone(
        "SELECT COUNT(*) AS n, SUM(status = 'answered') AS a, SUM(billable_minutes) AS m, SUM(charge_fen) AS f "
        "FROM cdrs WHERE tenant_id = ?", (tid,))
    for granularity, start, end, periods in (("day", "2026-03-28", "2026-04-04", 7), ("month", "2026-03", "2026-05", 2)):
        resp = await service.get("/v1/usage", params={"from": start, "to": end, "granularity": granularity},
                                 headers=auth(sandbox.api_key))
        assert resp.status == 200, await resp.text()
        data = await resp.json()
        assert len(data["periods"]) == periods
        assert data["total"]["calls"] == totals["n"]
        assert data["total"]["answered"] == totals["a"]
        assert data["total"]["billable_minutes"] == totals["m"]
        assert data["total"]["charge_fen"] == totals["f"]
    # a day is a Shanghai day: 2026-04-01 starts at 2026-03-31T16:00Z
    resp = await service.get("/v1/usage", params={"from": "2026-04-01", "to": "2026-04-02", "format": "csv"},
                             headers=auth(sandbox.api_key))
    lines = list(csv.reader(io.StringIO((await resp.read()).decode())))
    row = await services.store.fetchone(
        "SELECT COUNT(*) AS n FROM cdrs WHERE tenant_id = ? AND start_at >= '2026-03-31T16:00' "
        "AND start_at < '2026-04-01T16:00'", (tid,))
    assert lines[0] == ["period", "calls", "answered", "billable_minutes", "charge_fen"]
    assert lines[1][:2] == ["2026-04-01", str(row["n"])]
    resp = await service.get("/v1/usage", params={"from": "2026-04-02", "to": "2026-04-01", "granularity": "week"},
                             headers=auth(sandbox.api_key))
    assert resp.status == 422
    assert {e["field"] for e in (await resp.json())["errors"]} == {"to", "granularity"}


async def test_statements_chain_and_match_the_ledger(service: Any, services: Any, sandbox: Any, cdrs: Any,
                                                     auth: Any) -> None:
    tid = sandbox.tenant["id"]
    await seed(services, tid, cdrs)
    march = await (await service.get("/v1/statements/2026-03", headers=auth(sandbox.api_key))).json()
    april = await (await service.get("/v1/statements/2026-04", headers=auth(sandbox.api_key))).json()
    assert march["period_start"] == "2026-02-28T16:00:00.000+00:00"
    assert march["topups_fen"] == 50_000
    assert april["adjustments_fen"] == -120 and april["adjustments"][0]["reason"] == "goodwill reversal"
    assert april["opening_balance_fen"] == march["closing_balance_fen"]
    for st in (march, april):
        assert st["opening_balance_fen"] + st["topups_fen"] - st["call_charges_fen"] - st["rent_fen"] \
            + st["adjustments_fen"] == st["closing_balance_fen"]
    cdr_total = (await services.store.fetchone("SELECT SUM(charge_fen) AS f FROM cdrs WHERE tenant_id = ?",
                                               (tid,)))["f"]
    assert march["call_charges_fen"] + april["call_charges_fen"] == cdr_total
    # the sandbox's trial balance predates March only if made before; it was made "now" (later), so:
    now_month = datetime.now(timezone.utc).strftime("%Y-%m")
    current = await (await service.get(f"/v1/statements/{now_month}", headers=auth(sandbox.api_key))).json()
    assert current["closing_balance_fen"] == await ledger.balance(services.store, tid)
    resp = await service.get("/v1/statements/2026-03", params={"format": "csv", "bom": "1"},
                             headers=auth(sandbox.api_key))
    raw = await resp.read()
    assert raw.startswith(b"\xef\xbb\xbfsection,item")
    lines = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert lines[-1][0] == "closing_balance" and int(lines[-1][-1]) == march["closing_balance_fen"]
    for bad in ("2026-13", "march", "2026-3"):
        resp = await service.get(f"/v1/statements/{bad}", headers=auth(sandbox.api_key))
        assert resp.status == 422 and (await resp.json())["errors"][0]["field"] == "month"


async def test_cli_export_statement_and_reconcile(service: Any, services: Any, sandbox: Any, cdrs: Any, auth: Any,
                                                  tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tid = sandbox.tenant["id"]
    await seed(services, tid, cdrs)
    data_dir = str(services.settings.data_dir)
    out = tmp_path / "cdrs.csv"
    assert await main(["cdr", "export", "--data-dir", data_dir, "--tenant", tid, "--from", "2026-03-01",
                 "--to", "2026-05-01", "-o", str(out), "--bom"]) == 0
    err = capsys.readouterr().err
    assert "200/200 CDRs (100%)" in err
    resp = await service.get("/v1/cdrs", params={"from": "2026-03-01", "to": "2026-05-01", "format": "csv",
                                                 "bom": "1"}, headers=auth(sandbox.api_key))
    assert out.read_bytes() == await resp.read()

    assert await main(["statement", "--data-dir", data_dir, "--tenant", tid, "--month", "2026-04", "--csv"]) == 0
    lines = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert lines[0] == ["section", "item", "reference", "at", "amount_fen"]
    assert await main(["statement", "--data-dir", data_dir, "--tenant", tid, "--month", "2026-04"]) == 0
    assert "closing balance" in capsys.readouterr().out

    # the real command line, as an operator runs it
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "voicebridge", "reconcile", "--data-dir", data_dir, "--tenant", tid,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    stdout, stderr = await proc.communicate()
    assert proc.returncode == 0, stderr.decode()
    text = stdout.decode()
    assert f"tenant {tid}: OK" in text and "2026-03: opening" in text
    # a charge that no CDR explains is a discrepancy: exit 1, and it says why
    async with services.store.transaction() as tx:
        await ledger.add_entry(tx, tid, ledger.CALL_CHARGE, -18, "cdr:call_nope:1")
    assert await main(["reconcile", "--data-dir", data_dir]) == 1
    text = capsys.readouterr().out
    assert "call_charge cdr:call_nope:1: no such CDR" in text and "DISCREPANCY" in text
    assert await main(["statement", "--data-dir", data_dir, "--tenant", "tn_nobody", "--month", "2026-04"]) == 2
