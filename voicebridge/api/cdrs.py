"""Tenant admins and finance search their call detail records (CDRs).

``GET /v1/cdrs`` pages newest first with an opaque keyset cursor; the same
filters with ``Accept: text/csv`` (or ``format=csv``) stream every matching CDR
as CSV, oldest first, in constant memory.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from voicebridge.api.keys import PRINCIPAL, SERVICES, Principal
from voicebridge.api.openapi import BEARER, errors
from voicebridge.api.problems import json_response
from voicebridge.cdr import csvout
from voicebridge.cdr.query import CDR_STATUSES, MAX_LIMIT, export_rows, page, parse_query, view
from voicebridge.errors import Problem

log = logging.getLogger(__name__)
routes = web.RouteTableDef()
CSV_TYPE = "text/csv"


def tenant_with_any(request: web.Request, *scopes: str) -> Principal:
    """A tenant key holding one of ``scopes``; 403 otherwise (operator keys have no tenant)."""
    who: Principal = request[PRINCIPAL]
    if who.tenant is None:
        raise Problem(403, "Forbidden", "this endpoint needs a tenant key",
                      type="https://voicebridge.dev/problems/forbidden")
    if not any(s in who.scopes for s in scopes):
        raise Problem(403, "Forbidden", f"this key needs one of the scopes {', '.join(map(repr, scopes))}",
                      type="https://voicebridge.dev/problems/forbidden")
    return who


def wants_csv(request: web.Request) -> bool:
    fmt = request.query.get("format")
    if fmt is not None:
        return fmt == "csv"
    accept = request.headers.get("Accept", "")
    return any(part.split(";")[0].strip().lower() == CSV_TYPE for part in accept.split(","))


def wants_bom(request: web.Request) -> bool:
    return request.query.get("bom") in ("1", "true")


async def csv_stream(request: web.Request, filename: str) -> web.StreamResponse:
    resp = web.StreamResponse(headers={
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store",
    })
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    return resp


@routes.get("/v1/cdrs")
async def list_cdrs(request: web.Request) -> web.StreamResponse:
    who = tenant_with_any(request, "admin", "finance")
    assert who.tenant is not None
    store = request.app[SERVICES].store
    query = parse_query(request.query, who.tenant, getall=request.query.getall)
    if not wants_csv(request):
        rows, cursor = await page(store, query)
        return json_response({"cdrs": [view(r) for r in rows], "next_cursor": cursor, "limit": query.limit,
                              "from": query.start, "to": query.end})
    name = f"cdrs-{query.start[:10]}-{query.end[:10]}.csv"
    resp = await csv_stream(request, name)
    written = 0
    try:
        await resp.write(csvout.header(wants_bom(request)))
        async for rows in export_rows(store, query, csvout.SQL_COLUMNS):
            await resp.write(csvout.encode_rows(rows))
            written += len(rows)
        await resp.write_eof()
    except ConnectionResetError:  # the client went away: nothing to answer
        log.info("CDR export for %s stopped by the client after %d rows", who.tenant_id, written)
    return resp


_NUMBER_DOC = "E.164 or national; exact, or a prefix ending in * (e.g. +86138*)"
PARAMS: list[dict[str, Any]] = [
    {"name": "from", "in": "query", "required": True, "schema": {"type": "string"},
     "description": "start of the call-start range, inclusive: ISO 8601 with offset, or a date in the tenant's zone"},
    {"name": "to", "in": "query", "required": True, "schema": {"type": "string"},
     "description": "end of the range, exclusive; any width"},
    {"name": "caller", "in": "query", "schema": {"type": "string"}, "description": _NUMBER_DOC},
    {"name": "callee", "in": "query", "schema": {"type": "string"}, "description": _NUMBER_DOC},
    {"name": "session_id", "in": "query", "schema": {"type": "string"}, "description": "the SIP Call-ID"},
    {"name": "status", "in": "query", "schema": {"type": "string"},
     "description": f"comma separated, of: {', '.join(CDR_STATUSES)}"},
    {"name": "app_name", "in": "query", "schema": {"type": "string"}, "description": "e.g. call_notify"},
    {"name": "reminder_id", "in": "query", "schema": {"type": "string"}},
    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 50}},
    {"name": "cursor", "in": "query", "schema": {"type": "string"},
     "description": "next_cursor of the previous page (keyset: stable while CDRs are added)"},
    {"name": "format", "in": "query", "schema": {"type": "string", "enum": ["json", "csv"]},
     "description": "csv streams every matching CDR (same as Accept: text/csv)"},
    {"name": "bom", "in": "query", "schema": {"type": "string", "enum": ["0", "1"]},
     "description": "1: start the CSV with a UTF-8 byte order mark, for spreadsheets"},
]

CDR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"}, "call_id": {"type": "string"}, "attempt": {"type": "integer"},
        "reminder_id": {"type": "string"}, "recipient_user_id": {"type": "string"},
        "app_name": {"type": "string"}, "session_id": {"type": "string"},
        "caller": {"type": "string"}, "callee": {"type": "string"},
        "start_at": {"type": "string", "format": "date-time"},
        "alerting_at": {"type": ["string", "null"], "format": "date-time"},
        "answer_at": {"type": ["string", "null"], "format": "date-time"},
        "end_at": {"type": "string", "format": "date-time"},
        "duration_ms": {"type": "integer"}, "billable_ms": {"type": "integer"},
        "status": {"type": "string", "enum": list(CDR_STATUSES)}, "cause": {"type": "string"},
        "sip_code": {"type": ["integer", "null"]}, "q850": {"type": ["integer", "null"]},
        "hangup_by": {"type": "string"}, "digits": {"type": "string"}, "replays": {"type": "integer"},
        "billable_minutes": {"type": "integer"}, "rate_fen_per_min": {"type": "integer"},
        "charge_fen": {"type": "integer"}, "created_at": {"type": "string", "format": "date-time"},
    },
}

PATHS: dict[str, Any] = {
    "/v1/cdrs": {"get": {
        "summary": "Tenant admin / finance: search call detail records, newest first, or export them as CSV",
        "security": BEARER,
        "parameters": PARAMS,
        "responses": {
            "200": {"description": "a page of CDRs, or (text/csv) every matching CDR, oldest first",
                    "content": {
                        "application/json": {"schema": {"type": "object", "properties": {
                            "cdrs": {"type": "array", "items": CDR_SCHEMA},
                            "next_cursor": {"type": ["string", "null"]}, "limit": {"type": "integer"}}}},
                        "text/csv": {"schema": {"type": "string"},
                                     "example": ",".join(csvout.CSV_HEADER)},
                    }},
            **errors(401, 403, 422),
        },
    }},
}
