"""Numbers over HTTP: a tenant admin's number list (the product's 号码管理) with
pause, resume and release; the operator's pool."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from voicebridge.api.auth import principal, tenant_principal
from voicebridge.api.keys import SERVICES
from voicebridge.api.openapi import BEARER, body, errors
from voicebridge.api.problems import json_response, not_found, read_json
from voicebridge.errors import FieldError, invalid
from voicebridge.numbers.e164 import InvalidPhone, national, parse_phone
from voicebridge.onboarding import pool
from voicebridge.onboarding.steps import APP_NAMES, NUMBER_TYPES
from voicebridge.store.sqlite import Row
from voicebridge.store.tenants import add_pool_numbers, audit

routes = web.RouteTableDef()
FORMATS = ("e164", "national")
TENANT_STATUSES = ("in_use", "paused", "released")
MAX_POOL_LOAD = 10_000


def number_view(row: Row, fmt: str = "e164") -> dict[str, Any]:
    """One row of the number list; ``number`` in the asked format, ``e164`` always."""
    return {
        "number": national(row["e164"]) if fmt == "national" else row["e164"],
        "e164": row["e164"],
        "city": row["city"],
        "number_type": row["number_type"],
        "app_name": row["app_name"],
        "service_type": row["service_type"],
        "status": row["status"],
        "ordered_at": row["ordered_at"],
        "issued_at": row["issued_at"],
        "released_at": row["released_at"],
    }


def _choice(request: web.Request, name: str, choices: tuple[str, ...], default: str | None = None) -> str | None:
    value = request.query.get(name, default)
    if value is not None and value not in choices:
        raise invalid([FieldError(name, f"must be one of {', '.join(choices)}", "enum")])
    return value


@routes.get("/v1/numbers")
async def list_numbers(request: web.Request) -> web.Response:
    who = tenant_principal(request, "admin")
    fmt = _choice(request, "format", FORMATS, "e164") or "e164"
    rows = await pool.list_numbers(request.app[SERVICES].store, who.tenant_id,
                                   status=_choice(request, "status", TENANT_STATUSES),
                                   app_name=_choice(request, "app_name", APP_NAMES))
    return json_response({"numbers": [number_view(r, fmt) for r in rows]})


async def _change(request: web.Request, action: str) -> web.Response:
    who = tenant_principal(request, "admin")
    tenant = who.tenant or {}
    try:
        e164 = parse_phone(request.match_info["number"], tenant.get("region") or "CN", allow_any_type=True)
    except InvalidPhone:
        raise not_found("number") from None
    row = await pool.change_status(request.app[SERVICES].store, who.tenant_id, e164, action, who.key_id)
    return json_response(number_view(row))


@routes.post("/v1/numbers/{number}/pause")
async def pause(request: web.Request) -> web.Response:
    return await _change(request, "pause")


@routes.post("/v1/numbers/{number}/resume")
async def resume(request: web.Request) -> web.Response:
    return await _change(request, "resume")


@routes.post("/v1/numbers/{number}/release")
async def release(request: web.Request) -> web.Response:
    return await _change(request, "release")


@routes.post("/v1/pool/numbers")
async def load_pool(request: web.Request) -> web.Response:
    who = principal(request, "operator")
    store = request.app[SERVICES].store
    data = await read_json(request, 1024 * 1024)
    items = data.get("numbers") if isinstance(data, dict) else None
    if not isinstance(items, list) or not items or len(items) > MAX_POOL_LOAD:
        raise invalid([FieldError("numbers", f"is required: a list of 1 to {MAX_POOL_LOAD} {{number, city}}", "required")])
    number_type = data.get("number_type", "fixed_line")
    errs: list[FieldError] = []
    if number_type not in NUMBER_TYPES:
        errs.append(FieldError("number_type", f"must be one of {', '.join(NUMBER_TYPES)}", "enum"))
    parsed: list[tuple[str, str]] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("number"), str):
            errs.append(FieldError(f"numbers/{i}", "must be an object with number and city", "type"))
            continue
        city = item.get("city", "")
        if not isinstance(city, str) or len(city) > 64:
            errs.append(FieldError(f"numbers/{i}/city", "must be a string of at most 64 characters", "type"))
            continue
        try:
            parsed.append((parse_phone(item["number"], "CN", allow_any_type=True), city.strip()))
        except InvalidPhone as exc:
            errs.append(FieldError(f"numbers/{i}/number", str(exc), exc.reason))
    if errs:
        raise invalid(errs)
    async with store.transaction() as tx:
        added = await add_pool_numbers(tx, parsed, number_type)
        await audit(tx, who.key_id, None, "pool.load", {"count": added, "offered": len(parsed)})
    return json_response({"added": added, "already_known": len(parsed) - added}, 201)


@routes.get("/v1/pool/numbers")
async def list_pool(request: web.Request) -> web.Response:
    principal(request, "operator")
    rows = await pool.pool_numbers(request.app[SERVICES].store, request.query.get("city") or None)
    by_city: dict[str, int] = {}
    for r in rows:
        by_city[r["city"]] = by_city.get(r["city"], 0) + 1
    return json_response({"count": len(rows), "by_city": by_city,
                          "numbers": [{"e164": r["e164"], "city": r["city"], "number_type": r["number_type"]}
                                      for r in rows]})


NUMBER_PARAM = [{"name": "number", "in": "path", "required": True, "schema": {"type": "string"},
                 "description": "the number, E.164 (+861058881234) or national"}]
NUMBER_VIEW = {"type": "object", "properties": {
    "number": {"type": "string", "description": "E.164, or national with format=national"},
    "e164": {"type": "string"}, "city": {"type": "string"}, "number_type": {"type": "string"},
    "app_name": {"type": "string", "enum": list(APP_NAMES)},
    "service_type": {"type": "string", "enum": list(pool.SERVICE_TYPES.values())},
    "status": {"type": "string", "enum": list(TENANT_STATUSES)},
    "ordered_at": {"type": ["string", "null"], "format": "date-time"},
    "issued_at": {"type": ["string", "null"], "format": "date-time", "description": "rent starts this day"},
    "released_at": {"type": ["string", "null"], "format": "date-time"}}}


def _action(summary: str) -> dict[str, Any]:
    return {"post": {"summary": summary, "security": BEARER, "parameters": NUMBER_PARAM,
                     "responses": {"200": {"description": "the number", **body(NUMBER_VIEW)},
                                   **errors(401, 403, 404, 409)}}}


PATHS: dict[str, Any] = {
    "/v1/numbers": {"get": {
        "summary": "Tenant admin: the tenant's numbers (number, city, app name, service type, status, "
                   "order time, issue time)", "security": BEARER,
        "parameters": [
            {"name": "format", "in": "query", "schema": {"type": "string", "enum": list(FORMATS), "default": "e164"}},
            {"name": "status", "in": "query", "schema": {"type": "string", "enum": list(TENANT_STATUSES)}},
            {"name": "app_name", "in": "query", "schema": {"type": "string", "enum": list(APP_NAMES)}}],
        "responses": {"200": {"description": "numbers", **body({"type": "object", "properties": {
            "numbers": {"type": "array", "items": NUMBER_VIEW}}})}, **errors(401, 403, 422)},
    }},
    "/v1/numbers/{number}/pause": _action("Tenant admin: pause an in-use number (no calls from it)"),
    "/v1/numbers/{number}/resume": _action("Tenant admin: put a paused number back in use"),
    "/v1/numbers/{number}/release": _action(
        "Tenant admin: release a number for good (rent stops from the next period; with no call_notify "
        "number in use, reminders are refused with 409)"),
    "/v1/pool/numbers": {
        "post": {"summary": "Operator: load carrier numbers into the pool", "security": BEARER,
                 "requestBody": {"required": True, **body({"type": "object", "required": ["numbers"], "properties": {
                     "number_type": {"type": "string", "enum": list(NUMBER_TYPES), "default": "fixed_line"},
                     "numbers": {"type": "array", "items": {"type": "object", "required": ["number"], "properties": {
                         "number": {"type": "string"}, "city": {"type": "string"}}}}}})},
                 "responses": {"201": {"description": "loaded"}, **errors(400, 401, 403, 413, 415, 422)}},
        "get": {"summary": "Operator: the numbers still in the pool, with counts by city", "security": BEARER,
                "parameters": [{"name": "city", "in": "query", "schema": {"type": "string"}}],
                "responses": {"200": {"description": "pool"}, **errors(401, 403)}},
    },
}
