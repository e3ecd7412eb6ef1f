"""Finance: usage per day or month, and monthly statements, as JSON or CSV.

Periods are calendar days and months of the tenant's time zone. Money is
integer fen.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from aiohttp import web

from voicebridge.api.cdrs import tenant_with_any, wants_bom, wants_csv
from voicebridge.api.keys import SERVICES
from voicebridge.api.openapi import BEARER, errors
from voicebridge.api.problems import json_response
from voicebridge.billing.statements import DAY, MONTH, parse_month, statement, usage
from voicebridge.cdr.csvout import BOM, encode_lines
from voicebridge.errors import FieldError, invalid

routes = web.RouteTableDef()
USAGE_PARAMS = ("from", "to", "granularity", "format", "bom")
MAX_DAYS = 366
MAX_MONTHS = 120
MIN_YEAR, MAX_YEAR = 1970, 2999


def _csv(body: bytes, filename: str, bom: bool) -> web.Response:
    return web.Response(
        body=(BOM if bom else b"") + body,
        headers={"Content-Type": "text/csv; charset=utf-8",
                 "Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _check_format(query: Any, known: tuple[str, ...], errs: list[FieldError]) -> None:
    for name in query:
        if name not in known:
            errs.append(FieldError(name, f"is not a known parameter; known: {', '.join(known)}", "unknown"))
    if query.get("format") not in (None, "json", "csv"):
        errs.append(FieldError("format", "must be json or csv", "enum"))
    if query.get("bom") not in (None, "0", "1", "true", "false"):
        errs.append(FieldError("bom", "must be 1 or 0", "enum"))


def _date(name: str, raw: str | None, errs: list[FieldError]) -> date | None:
    if raw is None or not raw.strip():
        errs.append(FieldError(name, "is required: a date (YYYY-MM-DD) or a month (YYYY-MM)", "required"))
        return None
    try:
        day = parse_month(raw) if len(raw) == 7 else date.fromisoformat(raw)
    except ValueError:
        errs.append(FieldError(name, "must be a date (YYYY-MM-DD) or a month (YYYY-MM)", "format"))
        return None
    if not MIN_YEAR <= day.year <= MAX_YEAR:  # beyond, time-zone and period arithmetic overflow
        errs.append(FieldError(name, f"must be in the years {MIN_YEAR} to {MAX_YEAR}", "range"))
        return None
    return day


@routes.get("/v1/usage")
async def get_usage(request: web.Request) -> web.Response:
    who = tenant_with_any(request, "finance", "admin")
    assert who.tenant is not None
    q = request.query
    errs: list[FieldError] = []
    _check_format(q, USAGE_PARAMS, errs)
    start = _date("from", q.get("from"), errs)
    end = _date("to", q.get("to"), errs)
    granularity = q.get("granularity", DAY)
    if granularity not in (DAY, MONTH):
        errs.append(FieldError("granularity", "must be day or month", "enum"))
    if start and end:
        if end <= start:
            errs.append(FieldError("to", "must be after from (to is exclusive)", "range"))
        elif granularity == DAY and end - start > timedelta(days=MAX_DAYS):
            errs.append(FieldError("to", f"day granularity covers at most {MAX_DAYS} days; use month", "range"))
        elif granularity == MONTH and (end.year - start.year) * 12 + end.month - start.month > MAX_MONTHS:
            errs.append(FieldError("to", f"month granularity covers at most {MAX_MONTHS} months", "range"))
    if errs:
        raise invalid(errs)
    assert start is not None and end is not None
    rows = await usage(request.app[SERVICES].store, who.tenant, start, end, granularity)
    total = {k: sum(r[k] for r in rows) for k in ("calls", "answered", "billable_minutes", "billable_ms", "charge_fen")}
    if wants_csv(request):
        cols = ("period", "calls", "answered", "billable_minutes", "charge_fen")
        lines = [list(cols)] + [[r[c] for c in cols] for r in rows] + [["total"] + [total[c] for c in cols[1:]]]
        return _csv(encode_lines(lines), f"usage-{start}-{end}.csv", wants_bom(request))
    return json_response({"tenant_id": who.tenant_id, "timezone": who.tenant["timezone"], "granularity": granularity,
                          "from": start.isoformat(), "to": end.isoformat(), "periods": rows, "total": total})


@routes.get("/v1/statements/{month}")
async def get_statement(request: web.Request) -> web.Response:
    who = tenant_with_any(request, "finance")
    assert who.tenant is not None
    errs: list[FieldError] = []
    _check_format(request.query, ("format", "bom"), errs)
    try:
        first = parse_month(request.match_info["month"])
        if not MIN_YEAR <= first.year <= MAX_YEAR:
            errs.append(FieldError("month", f"must be in the years {MIN_YEAR} to {MAX_YEAR}", "range"))
    except ValueError as exc:
        errs.append(FieldError("month", str(exc), "format"))
    if errs:
        raise invalid(errs)
    st = await statement(request.app[SERVICES].store, who.tenant, first)
    if wants_csv(request):
        return _csv(encode_lines(st.csv_lines()), f"statement-{st.month}.csv", wants_bom(request))
    return json_response(st.as_dict())


_FMT = [
    {"name": "format", "in": "query", "schema": {"type": "string", "enum": ["json", "csv"]},
     "description": "csv: the same figures as CSV (also Accept: text/csv)"},
    {"name": "bom", "in": "query", "schema": {"type": "string", "enum": ["0", "1"]},
     "description": "1: a UTF-8 byte order mark first, for spreadsheets"},
]
_CSV = {"text/csv": {"schema": {"type": "string"}}}

PATHS: dict[str, Any] = {
    "/v1/usage": {"get": {
        "summary": "Finance: calls, answered calls, billable minutes and call charges per day or month",
        "security": BEARER,
        "parameters": [
            {"name": "from", "in": "query", "required": True, "schema": {"type": "string"},
             "description": "first day (YYYY-MM-DD or YYYY-MM) in the tenant's time zone, inclusive"},
            {"name": "to", "in": "query", "required": True, "schema": {"type": "string"},
             "description": "end day, exclusive"},
            {"name": "granularity", "in": "query", "schema": {"type": "string", "enum": ["day", "month"],
                                                              "default": "day"}},
            *_FMT,
        ],
        "responses": {"200": {"description": "usage by period, with totals", "content": {
            "application/json": {"schema": {"type": "object", "properties": {
                "periods": {"type": "array", "items": {"type": "object", "properties": {
                    "period": {"type": "string"}, "calls": {"type": "integer"}, "answered": {"type": "integer"},
                    "billable_minutes": {"type": "integer"}, "charge_fen": {"type": "integer"}}}},
                "total": {"type": "object"}}}}, **_CSV}},
            **errors(401, 403, 422)},
    }},
    "/v1/statements/{month}": {"get": {
        "summary": "Finance: a monthly statement: opening balance, top-ups, call charges, rent per number, "
                   "adjustments, closing balance",
        "security": BEARER,
        "parameters": [{"name": "month", "in": "path", "required": True,
                        "schema": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"}}, *_FMT],
        "responses": {"200": {"description": "the statement", "content": {
            "application/json": {"schema": {"type": "object", "properties": {
                "month": {"type": "string"}, "opening_balance_fen": {"type": "integer"},
                "topups_fen": {"type": "integer"}, "call_charges_fen": {"type": "integer"},
                "rent_fen": {"type": "integer"}, "adjustments_fen": {"type": "integer"},
                "closing_balance_fen": {"type": "integer"},
                "rent": {"type": "array", "items": {"type": "object"}}}}}, **_CSV}},
            **errors(401, 403, 422)},
    }},
}
