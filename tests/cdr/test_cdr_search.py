"""GET /v1/cdrs on the real service: filters, tenant isolation, keyset paging
under concurrent inserts, problems naming the field, CSV streaming."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest

from voicebridge.store.tenants import create_key
from voicebridge.tenancy import new_tenant

RANGE = {"from": "2026-03-01T00:00:00+00:00", "to": "2026-04-01T00:00:00+00:00"}


async def get_all(service: Any, key: str, auth: Any, **params: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    cursor = None
    while True:
        q = {**RANGE, **params, **({"cursor": cursor} if cursor else {})}
        resp = await service.get("/v1/cdrs", params=q, headers=auth(key))
        assert resp.status == 200, await resp.text()
        data = await resp.json()
        out += data["cdrs"]
        cursor = data["next_cursor"]
        if cursor is None:
            return out


async def test_pages_newest_first_and_only_own_cdrs(service: Any, services: Any, sandbox: Any, cdrs: Any,
                                                    auth: Any) -> None:
    tid = sandbox.tenant["id"]
    await cdrs(services.store, tid, 130)
    other = await new_tenant(services.store, services.secret, "Other Co", sandbox=True)
    await cdrs(services.store, other.tenant["id"], 40)
    rows = await get_all(service, sandbox.api_key, auth, limit="25")
    assert len(rows) == 130
    keys = [(r["start_at"], r["id"]) for r in rows]
    assert keys == sorted(keys, reverse=True)
    assert {r["session_id"].split("-")[1] for r in rows} == {tid[-6:]}
    first = rows[0]
    for col in ("app_name", "caller", "callee", "session_id", "start_at", "answer_at", "end_at", "duration_ms",
                "cause", "status", "sip_code", "billable_ms", "charge_fen", "reminder_id"):
        assert col in first
    assert "tenant_id" not in first


@pytest.mark.parametrize("params, expect", [
    ({"callee": "+8613800000003"}, lambda r: r["callee"] == "+8613800000003"),
    ({"callee": "13800000003"}, lambda r: r["callee"] == "+8613800000003"),  # national form
    ({"callee": "+861380000001*"}, lambda r: r["callee"].startswith("+861380000001")),
    ({"callee": "1380000001*"}, lambda r: r["callee"].startswith("+861380000001")),
    ({"caller": "+861058880001"}, lambda r: True),
    ({"status": "busy"}, lambda r: r["status"] == "busy"),
    ({"status": "busy,rejected"}, lambda r: r["status"] in ("busy", "rejected")),
    ({"app_name": "call_notify"}, lambda r: True),
    ({"app_name": "welink"}, lambda r: False),
    ({"reminder_id": "rm_2"}, lambda r: r["reminder_id"] == "rm_2"),
    ({"from": "2026-03-01T08:00:00+08:00", "to": "2026-03-01T03:00:00Z"}, lambda r: r["start_at"] < "2026-03-01T03"),
    ({"from": "2026-03-02", "to": "2026-03-03"}, lambda r: "2026-03-01T16:00" <= r["start_at"] < "2026-03-02T16:00"),
])
async def test_filters(service: Any, services: Any, sandbox: Any, cdrs: Any, auth: Any, params: dict,
                       expect: Any) -> None:
    tid = sandbox.tenant["id"]
    await cdrs(services.store, tid, 60)
    await cdrs(services.store, tid, 15, reminder_id="rm_2", start=cdr_start(2))
    everything = await get_all(service, sandbox.api_key, auth, limit="1000")
    got = await get_all(service, sandbox.api_key, auth, limit="7", **params)
    want = [r for r in everything if expect(r)
            and params.get("from", RANGE["from"]) and in_range(r, params)]
    assert [r["id"] for r in got] == [r["id"] for r in want]


def cdr_start(day: int) -> Any:
    from datetime import datetime, timezone

    return datetime(2026, 3, day, 5, 0, tzinfo=timezone.utc)


def in_range(row: dict[str, Any], params: dict[str, str]) -> bool:
    from datetime import datetime

    from voicebridge.cdr.query import parse_instant
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("Asia/Shanghai")
    lo = parse_instant(params.get("from", RANGE["from"]), tz)
    hi = parse_instant(params.get("to", RANGE["to"]), tz)
    return lo <= datetime.fromisoformat(row["start_at"]) < hi


async def test_session_id_finds_one(service: Any, services: Any, sandbox: Any, cdrs: Any, auth: Any) -> None:
    tid = sandbox.tenant["id"]
    await cdrs(services.store, tid, 30)
    got = await get_all(service, sandbox.api_key, auth, session_id=f"sess-{tid[-6:]}-17")
    assert [r["session_id"] for r in got] == [f"sess-{tid[-6:]}-17"]


async def test_keyset_paging_is_stable_under_concurrent_inserts(service: Any, services: Any, sandbox: Any,
                                                                cdrs: Any, auth: Any) -> None:
    tid = sandbox.tenant["id"]
    await cdrs(services.store, tid, 100)
    before = {r["id"] for r in await get_all(service, sandbox.api_key, auth, limit="1000")}
    seen: list[int] = []
    cursor = None
    page = 0
    while True:
        q = {**RANGE, "limit": "10", **({"cursor": cursor} if cursor else {})}
        data = await (await service.get("/v1/cdrs", params=q, headers=auth(sandbox.api_key))).json()
        seen += [r["id"] for r in data["cdrs"]]
        page += 1
        # between pages, calls end and their CDRs arrive: newer ones and ones in the middle
        await cdrs(services.store, tid, 3, start=cdr_start(1) + timedelta(days=20, minutes=page))
        await cdrs(services.store, tid, 2, start=cdr_start(1) + timedelta(minutes=3 + 7 * page))
        cursor = data["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)), "a row came twice"
    assert before <= set(seen), "a row that existed before paging was skipped"


@pytest.mark.parametrize("params, field", [
    ({"from": None}, "from"),
    ({"to": None}, "to"),
    ({"from": "yesterday"}, "from"),
    ({"from": "2026-03-01T00:00:00"}, "from"),  # no offset
    ({"to": "2026-02-01T00:00:00Z"}, "to"),  # before from
    ({"status": "exploded"}, "status"),
    ({"callee": "abc"}, "callee"),
    ({"caller": "+86*1"}, "caller"),
    ({"limit": "0"}, "limit"),
    ({"limit": "5000"}, "limit"),
    ({"cursor": "not-a-cursor"}, "cursor"),
    ({"format": "xml"}, "format"),
    ({"colour": "red"}, "colour"),
])
async def test_bad_filters_are_problems_naming_the_field(service: Any, sandbox: Any, auth: Any, params: dict,
                                                         field: str) -> None:
    q = {k: v for k, v in {**RANGE, **params}.items() if v is not None}
    resp = await service.get("/v1/cdrs", params=q, headers=auth(sandbox.api_key))
    assert resp.status == 422
    assert resp.content_type == "application/problem+json"
    assert field in [e["field"] for e in (await resp.json())["errors"]]


async def test_scopes(service: Any, services: Any, sandbox: Any, auth: Any) -> None:
    async with services.store.transaction() as tx:
        reminders_only = await create_key(tx, sandbox.tenant["id"], ("reminders",), services.secret)
        finance_only = await create_key(tx, sandbox.tenant["id"], ("finance",), services.secret)
    resp = await service.get("/v1/cdrs", params=RANGE, headers=auth(reminders_only))
    assert resp.status == 403 and resp.content_type == "application/problem+json"
    resp = await service.get("/v1/cdrs", params=RANGE, headers=auth(finance_only))
    assert resp.status == 200
    resp = await service.get("/v1/cdrs", params=RANGE)
    assert resp.status == 401


async def test_csv_streams_every_row_oldest_first(service: Any, services: Any, sandbox: Any, cdrs: Any,
                                                  auth: Any) -> None:
    tid = sandbox.tenant["id"]
    await cdrs(services.store, tid, 4500, step=timedelta(seconds=30))  # > 2 export batches
    resp = await service.get("/v1/cdrs", params={**RANGE, "format": "csv", "limit": "5"},
                             headers=auth(sandbox.api_key))
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/csv")
    raw = await resp.read()
    assert not raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8"))))
    assert len(rows) == 4500  # the page limit does not apply to exports
    assert list(rows[0]) == ["app_name", "caller", "callee", "session_id", "start_time", "answer_time", "end_time",
                             "duration_s", "hangup_reason", "status", "sip_code", "billable_s", "billable_minutes",
                             "charge_fen", "reminder_id", "cdr_id"]
    starts = [r["start_time"] for r in rows]
    assert starts == sorted(starts)
    total = await services.store.fetchone("SELECT SUM(charge_fen) AS f, SUM(billable_ms) AS ms FROM cdrs "
                                          "WHERE tenant_id = ?", (tid,))
    assert sum(int(r["charge_fen"]) for r in rows) == total["f"]
    assert sum(int(r["billable_s"].replace(".", "")) for r in rows) == total["ms"]  # exact: ms as s.mmm
    # Accept: text/csv and the spreadsheet BOM
    resp = await service.get("/v1/cdrs", params={**RANGE, "bom": "1", "status": "busy"},
                             headers=auth(sandbox.api_key, Accept="text/csv"))
    raw = await resp.read()
    assert raw.startswith(b"\xef\xbb\xbfapp_name,caller")
    assert {r["status"] for r in csv.DictReader(io.StringIO(raw.decode("utf-8-sig")))} == {"busy"}


async def test_ties_on_start_time_page_and_export_by_id(service: Any, services: Any, sandbox: Any, cdrs: Any,
                                                        auth: Any) -> None:
    """Thousands of CDRs with the same start time (a batch dialled in one
    millisecond): pages and export batches break the tie by id, none lost."""
    tid = sandbox.tenant["id"]
    ids = await cdrs(services.store, tid, 2300, step=timedelta(0))
    got = await get_all(service, sandbox.api_key, auth, limit="1000")
    assert [r["id"] for r in got] == sorted(ids, reverse=True)
    resp = await service.get("/v1/cdrs", params={**RANGE, "format": "csv"}, headers=auth(sandbox.api_key))
    rows = list(csv.DictReader(io.StringIO((await resp.read()).decode())))
    assert [int(r["cdr_id"]) for r in rows] == sorted(ids)
