"""The platform operator's API: tenants, top-ups, the number pool."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from voicebridge.api.openapi import BEARER, ID_PARAM, body, errors, ref

from voicebridge.api.auth import principal
from voicebridge.api.keys import SERVICES
from voicebridge.api.problems import json_response, not_found, read_json
from voicebridge.errors import FieldError, Problem, invalid
from voicebridge.billing.accounts import settle
from voicebridge.domain import utcnow
from voicebridge.store import ledger
from voicebridge.store.tenants import audit, get_tenant
from voicebridge.tenancy import new_tenant

routes = web.RouteTableDef()
LEVELS = ("V0", "V1", "V2", "V3", "V4", "V5")


def tenant_view(row: dict, balance: int) -> dict:
    return {
        "id": row["id"], "name": row["name"], "level": row["level"], "timezone": row["timezone"],
        "sandbox": bool(row["sandbox"]), "arrears_state": row["arrears_state"],
        "region": row.get("region", "CN"), "allow_fixed_line": bool(row.get("allow_fixed_line", 0)),
        "rate_fen_per_min": row["rate_fen_per_min"], "rent_fen_per_number": row["rent_fen_per_number"],
        "balance_fen": balance, "created_at": row["created_at"],
    }


@routes.post("/v1/tenants")
async def create(request: web.Request) -> web.Response:
    who = principal(request, "operator")
    services = request.app[SERVICES]
    body = await read_json(request, 16 * 1024)
    errors = []
    if not isinstance(body, dict):
        raise invalid([FieldError("", "the body must be a JSON object", "type")])
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 128:
        errors.append(FieldError("name", "is required: 1 to 128 characters", "required"))
    sandbox = body.get("sandbox", False)
    if not isinstance(sandbox, bool):
        errors.append(FieldError("sandbox", "must be true or false", "type"))
    level = body.get("level", "V1")
    if level not in LEVELS:
        errors.append(FieldError("level", f"must be one of {', '.join(LEVELS)}", "enum"))
    for key in body:
        if key not in ("name", "sandbox", "level"):
            errors.append(FieldError(key, "is not a known field", "unknown"))
    if errors:
        raise invalid(errors)
    made = await new_tenant(services.store, services.secret, name, sandbox=sandbox, actor=who.key_id, level=level)
    balance = await ledger.balance(services.store, made.tenant["id"])
    return json_response({**tenant_view(made.tenant, balance), "api_key": made.api_key, "number": made.number}, 201)


@routes.get("/v1/tenants/{id}")
async def show(request: web.Request) -> web.Response:
    principal(request, "operator")
    store = request.app[SERVICES].store
    tenant = await get_tenant(store, request.match_info["id"])
    if tenant is None:
        raise not_found("tenant")
    return json_response(tenant_view(tenant, await ledger.balance(store, tenant["id"])))


@routes.post("/v1/tenants/{id}/topups")
async def topup(request: web.Request) -> web.Response:
    who = principal(request, "operator")
    store = request.app[SERVICES].store
    tenant = await get_tenant(store, request.match_info["id"])
    if tenant is None:
        raise not_found("tenant")
    body = await read_json(request, 16 * 1024)
    if not isinstance(body, dict):
        raise invalid([FieldError("", "the body must be a JSON object", "type")])
    amount = body.get("amount_fen")
    reference = body.get("reference")
    errors = []
    if not isinstance(amount, int) or isinstance(amount, bool) or not 0 < amount <= 100_000_000_00:
        errors.append(FieldError("amount_fen", "must be a positive whole number of fen (1 CNY = 100 fen)", "range"))
    if not isinstance(reference, str) or not 1 <= len(reference) <= 128:
        errors.append(FieldError("reference", "is required: the payment's reference, 1 to 128 characters", "required"))
    if errors:
        raise invalid(errors)
    async with store.transaction() as tx:
        added = await ledger.add_entry(tx, tenant["id"], ledger.TOPUP, amount, reference, reason=str(body.get("reason", "")))
        if added:
            await audit(tx, who.key_id, tenant["id"], "ledger.topup", {"amount_fen": amount, "reference": reference})
        bal = await ledger.balance(tx, tenant["id"])
        # back to zero or above: active at once, audited and announced (tenant.arrears webhook)
        services = request.app[SERVICES]
        await settle(tx, tenant["id"], utcnow(), actor=who.key_id, listeners=[services.arrears_changed])
    return json_response({"tenant_id": tenant["id"], "added": added, "balance_fen": bal}, 201 if added else 200)


# POST /v1/pool/numbers and GET /v1/numbers live in api/numbers.py.


@routes.get("/v1/balance")
async def balance(request: web.Request) -> web.Response:
    who = principal(request, "finance")
    if who.tenant is None:
        raise Problem(403, "Forbidden", "this endpoint needs a tenant key")
    store = request.app[SERVICES].store
    return json_response({"tenant_id": who.tenant_id, "balance_fen": await ledger.balance(store, who.tenant_id),
                          "arrears_state": who.tenant["arrears_state"]})


PATHS: dict[str, Any] = {
    "/v1/tenants": {"post": {
        "summary": "Operator: create a tenant and its first API key (shown once)", "security": BEARER,
        "requestBody": {"required": True, **body({"type": "object", "required": ["name"], "properties": {
            "name": {"type": "string"}, "sandbox": {"type": "boolean"},
            "level": {"type": "string", "enum": ["V0", "V1", "V2", "V3", "V4", "V5"]}}})},
        "responses": {"201": {"description": "created", **body(ref("Tenant"))}, **errors(400, 401, 403, 413, 415, 422)},
    }},
    "/v1/tenants/{id}": {"get": {
        "summary": "Operator: one tenant with its balance", "security": BEARER, "parameters": ID_PARAM,
        "responses": {"200": {"description": "the tenant", **body(ref("Tenant"))}, **errors(401, 403, 404)},
    }},
    "/v1/tenants/{id}/topups": {"post": {
        "summary": "Operator: add prepaid balance (idempotent by reference)", "security": BEARER,
        "parameters": ID_PARAM,
        "requestBody": {"required": True, **body({"type": "object", "required": ["amount_fen", "reference"],
            "properties": {"amount_fen": {"type": "integer", "minimum": 1}, "reference": {"type": "string"},
                           "reason": {"type": "string"}}})},
        "responses": {"201": {"description": "added"}, "200": {"description": "already added"},
                      **errors(400, 401, 403, 404, 413, 415, 422)},
    }},
    "/v1/balance": {"get": {
        "summary": "Finance: the prepaid balance in fen", "security": BEARER,
        "responses": {"200": {"description": "balance"}, **errors(401, 403)},
    }},
}
