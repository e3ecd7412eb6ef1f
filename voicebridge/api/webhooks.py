"""Tenant admins' webhook API: subscriptions, the signing secret, deliveries."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from voicebridge.api.auth import tenant_principal
from voicebridge.api.keys import SERVICES
from voicebridge.api.openapi import BEARER, ID_PARAM, body, errors
from voicebridge.api.problems import json_response, not_found, query_int, read_json
from voicebridge.domain import iso, utcnow
from voicebridge.errors import FieldError, invalid
from voicebridge.store.tenants import audit, new_id
from voicebridge.webhooks.outbox import EVENTS, tenant_secret

routes = web.RouteTableDef()
MAX_WEBHOOKS = 10


def _check_url(url: Any, errs: list[FieldError]) -> str | None:
    if not isinstance(url, str) or len(url) > 2048:
        errs.append(FieldError("url", "is required: an http(s) URL of at most 2048 characters", "required"))
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        errs.append(FieldError("url", "must be an http:// or https:// URL with a host", "format"))
        return None
    if parts.username or parts.password:
        errs.append(FieldError("url", "must not carry credentials", "format"))
        return None
    return url


def hook_view(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "url": row["url"], "events": row["events"].split(), "created_at": row["created_at"]}


@routes.post("/v1/webhooks")
async def create(request: web.Request) -> web.Response:
    who = tenant_principal(request, "admin")
    store = request.app[SERVICES].store
    data = await read_json(request, 16 * 1024)
    if not isinstance(data, dict):
        raise invalid([FieldError("", "the body must be a JSON object", "type")])
    errs: list[FieldError] = []
    url = _check_url(data.get("url"), errs)
    events = data.get("events", ["*"])
    if not isinstance(events, list) or not events or not all(isinstance(e, str) for e in events):
        errs.append(FieldError("events", f"must be a list of event names or [\"*\"]: {', '.join(EVENTS)}", "type"))
    else:
        for i, e in enumerate(events):
            if e != "*" and e not in EVENTS:
                errs.append(FieldError(f"events/{i}", f"unknown event {e!r}", "enum"))
    for key in data:
        if key not in ("url", "events"):
            errs.append(FieldError(key, "is not a known field", "unknown"))
    if errs:
        raise invalid(errs)
    async with store.transaction() as tx:
        count = await tx.fetchone(
            "SELECT COUNT(*) AS n FROM webhooks WHERE tenant_id = ? AND disabled_at IS NULL", (who.tenant_id,))
        if count and count["n"] >= MAX_WEBHOOKS:
            raise invalid([FieldError("url", f"a tenant may have at most {MAX_WEBHOOKS} webhooks", "limit")])
        hook_id = new_id("wh")
        row = {"id": hook_id, "tenant_id": who.tenant_id, "url": url, "events": " ".join(events),
               "created_at": iso(utcnow())}
        await tx.execute("INSERT INTO webhooks(id, tenant_id, url, events, created_at) VALUES (?, ?, ?, ?, ?)",
                         tuple(row.values()))
        secret = await tenant_secret(tx, who.tenant_id)
        await audit(tx, who.key_id, who.tenant_id, "webhook.create", {"id": hook_id, "url": url, "events": events})
    return json_response({**hook_view(row), "signing_secret": secret}, 201)


@routes.get("/v1/webhooks")
async def list_hooks(request: web.Request) -> web.Response:
    who = tenant_principal(request, "admin")
    rows = await request.app[SERVICES].store.fetchall(
        "SELECT * FROM webhooks WHERE tenant_id = ? AND disabled_at IS NULL ORDER BY created_at", (who.tenant_id,))
    return json_response({"webhooks": [hook_view(r) for r in rows]})


@routes.delete("/v1/webhooks/{id}")
async def delete(request: web.Request) -> web.Response:
    who = tenant_principal(request, "admin")
    store = request.app[SERVICES].store
    async with store.transaction() as tx:
        changed = await tx.execute(
            "UPDATE webhooks SET disabled_at = ? WHERE id = ? AND tenant_id = ? AND disabled_at IS NULL",
            (iso(utcnow()), request.match_info["id"], who.tenant_id))
        if not changed:
            raise not_found("webhook")
        await audit(tx, who.key_id, who.tenant_id, "webhook.delete", {"id": request.match_info["id"]})
    return web.Response(status=204)


@routes.post("/v1/webhooks/secret")
async def rotate_secret(request: web.Request) -> web.Response:
    who = tenant_principal(request, "admin")
    services = request.app[SERVICES]
    async with services.store.transaction() as tx:
        secret = await tenant_secret(tx, who.tenant_id, rotate=True)
        await audit(tx, who.key_id, who.tenant_id, "webhook.secret_rotate", {})
    if services.webhooks is not None:
        services.webhooks.forget_secret(who.tenant_id)
    return json_response({"signing_secret": secret}, 201)


def delivery_view(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in ("id", "event_id", "event", "url", "state", "attempts", "next_attempt_at",
                                "last_error", "created_at", "delivered_at")}


@routes.get("/v1/webhooks/deliveries")
async def deliveries(request: web.Request) -> web.Response:
    who = tenant_principal(request, "admin")
    state = request.query.get("state")
    errs = []
    if state is not None and state not in ("pending", "delivered", "dead"):
        errs.append(FieldError("state", "must be pending, delivered or dead", "enum"))
    limit = query_int(request.query, "limit", 50, 1, 500, errs)
    if errs:
        raise invalid(errs)
    sql = "SELECT * FROM outbox WHERE tenant_id = ?"
    params: list[Any] = [who.tenant_id]
    if state:
        sql += " AND state = ?"
        params.append(state)
    rows = await request.app[SERVICES].store.fetchall(sql + " ORDER BY id DESC LIMIT ?", (*params, limit))
    return json_response({"deliveries": [delivery_view(r) for r in rows]})


@routes.post("/v1/webhooks/deliveries/{id}/redeliver")
async def redeliver(request: web.Request) -> web.Response:
    who = tenant_principal(request, "admin")
    services = request.app[SERVICES]
    from datetime import timedelta

    now = utcnow()
    try:
        delivery_id = int(request.match_info["id"])
        if not 0 < delivery_id < 2**63:  # beyond SQLite's INTEGER: no such row
            raise ValueError
    except ValueError:
        raise not_found("delivery") from None
    async with services.store.transaction() as tx:
        changed = await tx.execute(
            "UPDATE outbox SET state = 'pending', next_attempt_at = ?, expires_at = ? WHERE id = ? AND tenant_id = ?",
            (iso(now), iso(now + timedelta(hours=24)), delivery_id, who.tenant_id))
        if not changed:
            raise not_found("delivery")
        await audit(tx, who.key_id, who.tenant_id, "webhook.redeliver", {"delivery": delivery_id})
        row = await tx.fetchone("SELECT * FROM outbox WHERE id = ?", (delivery_id,))
    if services.webhooks is not None:
        services.webhooks.wake()
    return json_response(delivery_view(row or {}), 202)


_HOOK = {"type": "object", "properties": {"id": {"type": "string"}, "url": {"type": "string"},
                                          "events": {"type": "array", "items": {"type": "string"}}}}
PATHS: dict[str, Any] = {
    "/v1/webhooks": {
        "post": {"summary": "Subscribe a URL to events; returns the signing secret", "security": BEARER,
                 "requestBody": {"required": True, **body({"type": "object", "required": ["url"], "properties": {
                     "url": {"type": "string", "format": "uri"},
                     "events": {"type": "array", "items": {"type": "string", "enum": ["*", *EVENTS]}}}})},
                 "responses": {"201": {"description": "created", **body(_HOOK)}, **errors(400, 401, 403, 413, 415, 422)}},
        "get": {"summary": "The tenant's webhooks", "security": BEARER,
                "responses": {"200": {"description": "webhooks"}, **errors(401, 403)}},
    },
    "/v1/webhooks/{id}": {"delete": {"summary": "Stop a webhook", "security": BEARER, "parameters": ID_PARAM,
                                     "responses": {"204": {"description": "stopped"}, **errors(401, 403, 404)}}},
    "/v1/webhooks/secret": {"post": {"summary": "Rotate the signing secret", "security": BEARER,
                                     "responses": {"201": {"description": "the new secret"}, **errors(401, 403)}}},
    "/v1/webhooks/deliveries": {"get": {
        "summary": "Deliveries, newest first (state=dead shows what gave up after 24 h)", "security": BEARER,
        "parameters": [{"name": "state", "in": "query", "schema": {"type": "string",
                                                                   "enum": ["pending", "delivered", "dead"]}},
                       {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500}}],
        "responses": {"200": {"description": "deliveries"}, **errors(401, 403, 422)}}},
    "/v1/webhooks/deliveries/{id}/redeliver": {"post": {
        "summary": "Send a delivery again (same event id)", "security": BEARER, "parameters": ID_PARAM,
        "responses": {"202": {"description": "queued"}, **errors(401, 403, 404)}}},
}
