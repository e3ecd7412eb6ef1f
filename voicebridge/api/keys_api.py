"""API keys: a tenant admin makes, lists, rotates and revokes its keys; the
operator reads the audit log.

A key is shown once, when made; the store keeps an HMAC of it with the server's
secret and its first characters (the prefix) to tell keys apart in lists.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from voicebridge.api.auth import principal, tenant_principal
from voicebridge.api.keys import SERVICES
from voicebridge.api.openapi import BEARER, ID_PARAM, body, errors
from voicebridge.api.problems import json_response, not_found, query_int, read_json
from voicebridge.domain import iso, utcnow
from voicebridge.errors import FieldError, invalid
from voicebridge.store.tenants import TENANT_SCOPES, audit, make_key

routes = web.RouteTableDef()
MAX_KEYS = 50


def key_view(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "prefix": row["prefix"], "scopes": row["scopes"].split(),
            "created_at": row["created_at"], "revoked_at": row["revoked_at"]}


def _scopes(data: Any) -> tuple[str, ...]:
    if not isinstance(data, dict):
        raise invalid([FieldError("", "the body must be a JSON object", "type")])
    errs = [FieldError(k, "is not a known field", "unknown") for k in data if k != "scopes"]
    scopes = data.get("scopes")
    if not isinstance(scopes, list) or not scopes or not all(isinstance(s, str) for s in scopes):
        errs.append(FieldError("scopes", f"is required: a non-empty list of {', '.join(TENANT_SCOPES)}", "required"))
    else:
        errs += [FieldError(f"scopes/{i}", f"unknown scope {s!r}", "enum") for i, s in enumerate(scopes)
                 if s not in TENANT_SCOPES]
    if errs:
        raise invalid(errs)
    return tuple(dict.fromkeys(scopes))


@routes.post("/v1/keys")
async def post_key(request: web.Request) -> web.Response:
    who = tenant_principal(request, "admin")
    services = request.app[SERVICES]
    scopes = _scopes(await read_json(request, 4096))
    async with services.store.transaction() as tx:
        live = await tx.fetchone("SELECT COUNT(*) AS n FROM api_keys WHERE tenant_id = ? AND revoked_at IS NULL",
                                 (who.tenant_id,))
        if live and live["n"] >= MAX_KEYS:
            raise invalid([FieldError("scopes", f"a tenant may hold at most {MAX_KEYS} live keys", "limit")])
        row, secret = await make_key(tx, who.tenant_id, scopes, services.secret)
        await audit(tx, who.key_id, who.tenant_id, "key.create", {"id": row["id"], "scopes": list(scopes)})
    return json_response({**key_view(row), "api_key": secret}, 201)


@routes.get("/v1/keys")
async def list_keys(request: web.Request) -> web.Response:
    who = tenant_principal(request, "admin")
    rows = await request.app[SERVICES].store.fetchall(
        "SELECT * FROM api_keys WHERE tenant_id = ? ORDER BY created_at", (who.tenant_id,))
    prefix = request.query.get("prefix")
    return json_response({"keys": [key_view(r) for r in rows if not prefix or r["prefix"].startswith(prefix)]})


async def _own_live_key(tx: Any, key_id: str, tenant_id: str) -> dict[str, Any]:
    row = await tx.fetchone("SELECT * FROM api_keys WHERE id = ? AND tenant_id = ? AND revoked_at IS NULL",
                            (key_id, tenant_id))
    if row is None:
        raise not_found("key")
    return row


@routes.post("/v1/keys/{id}/rotate")
async def rotate_key(request: web.Request) -> web.Response:
    """A new key with the same scopes; the old one stops working at once."""
    who = tenant_principal(request, "admin")
    services = request.app[SERVICES]
    async with services.store.transaction() as tx:
        old = await _own_live_key(tx, request.match_info["id"], who.tenant_id)
        await tx.execute("UPDATE api_keys SET revoked_at = ? WHERE id = ?", (iso(utcnow()), old["id"]))
        row, secret = await make_key(tx, who.tenant_id, tuple(old["scopes"].split()), services.secret)
        await audit(tx, who.key_id, who.tenant_id, "key.rotate", {"old": old["id"], "new": row["id"]})
    return json_response({**key_view(row), "api_key": secret, "replaces": old["id"]}, 201)


@routes.delete("/v1/keys/{id}")
async def revoke_key(request: web.Request) -> web.Response:
    who = tenant_principal(request, "admin")
    async with request.app[SERVICES].store.transaction() as tx:
        old = await _own_live_key(tx, request.match_info["id"], who.tenant_id)
        await tx.execute("UPDATE api_keys SET revoked_at = ? WHERE id = ?", (iso(utcnow()), old["id"]))
        await audit(tx, who.key_id, who.tenant_id, "key.revoke", {"id": old["id"], "prefix": old["prefix"]})
    return web.Response(status=204)


@routes.get("/v1/audit")
async def audit_log(request: web.Request) -> web.Response:
    """The operator's view of every admin and operator action."""
    principal(request, "operator")
    q = request.query
    errs: list[FieldError] = []
    limit = query_int(q, "limit", 100, 1, 1000, errs)
    try:
        before = int(q["before"]) if "before" in q else None
        if before is not None and not -2**63 <= before < 2**63:  # SQLite's INTEGER range
            raise ValueError
    except ValueError:
        errs.append(FieldError("before", "must be an audit entry id", "type"))
        before = None
    if errs:
        raise invalid(errs)
    sql, params = "SELECT * FROM audit WHERE 1 = 1", []
    for column in ("tenant_id", "action", "actor"):
        if q.get(column):
            sql += f" AND {column} = ?"
            params.append(q[column])
    if before is not None:
        sql += " AND id < ?"
        params.append(before)
    rows = await request.app[SERVICES].store.fetchall(sql + " ORDER BY id DESC LIMIT ?", (*params, limit))
    import json

    entries = [{**r, "detail": json.loads(r["detail"] or "{}")} for r in rows]
    return json_response({"entries": entries, "next_before": entries[-1]["id"] if len(entries) == limit else None})


_KEY = {"type": "object", "properties": {"id": {"type": "string"}, "prefix": {"type": "string"},
                                         "scopes": {"type": "array", "items": {"type": "string"}},
                                         "api_key": {"type": "string", "description": "shown once"}}}
PATHS: dict[str, Any] = {
    "/v1/keys": {
        "post": {"summary": "Make an API key with scopes (shown once)", "security": BEARER,
                 "requestBody": {"required": True, **body({"type": "object", "required": ["scopes"], "properties": {
                     "scopes": {"type": "array", "minItems": 1,
                                "items": {"type": "string", "enum": list(TENANT_SCOPES)}}}})},
                 "responses": {"201": {"description": "made", **body(_KEY)}, **errors(400, 401, 403, 413, 415, 422)}},
        "get": {"summary": "The tenant's keys by prefix (never the key itself)", "security": BEARER,
                "parameters": [{"name": "prefix", "in": "query", "schema": {"type": "string"}}],
                "responses": {"200": {"description": "keys"}, **errors(401, 403)}},
    },
    "/v1/keys/{id}/rotate": {"post": {
        "summary": "Replace a key: same scopes, the old one revoked at once", "security": BEARER,
        "parameters": ID_PARAM, "responses": {"201": {"description": "the new key", **body(_KEY)},
                                              **errors(401, 403, 404)}}},
    "/v1/keys/{id}": {"delete": {"summary": "Revoke a key", "security": BEARER, "parameters": ID_PARAM,
                                 "responses": {"204": {"description": "revoked"}, **errors(401, 403, 404)}}},
    "/v1/audit": {"get": {
        "summary": "Operator: the audit log, newest first", "security": BEARER,
        "parameters": [{"name": n, "in": "query", "schema": {"type": "string"}}
                       for n in ("tenant_id", "action", "actor")]
        + [{"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000}},
           {"name": "before", "in": "query", "schema": {"type": "integer"}}],
        "responses": {"200": {"description": "entries"}, **errors(401, 403, 422)}}},
}
