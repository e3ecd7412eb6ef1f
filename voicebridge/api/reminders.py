"""The chat client's API: post a reminder, read its calls, cancel it."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from voicebridge.api.openapi import BEARER, ID_PARAM, body, errors, ref

from voicebridge.api.auth import tenant_principal
from voicebridge.api.keys import SERVICES
from voicebridge.api.problems import json_response, not_found, query_int, read_json
from voicebridge.domain import CallStatus, iso, utcnow
from voicebridge.errors import FieldError, Problem, invalid
from voicebridge.reminders.intake import accept
from voicebridge.store import calls as callstore
from voicebridge.store.sqlite import Row
from voicebridge.webhooks.outbox import enqueue

routes = web.RouteTableDef()
MAX_KEY_CHARS = 255


def call_view(row: Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "user_id": row["user_id"],
        "name": row["name"],
        "phone": row["phone"],
        "status": row["status"],
        "attempts": row["attempts"],
        "next_attempt_at": row["next_attempt_at"] if row["status"] in ("queued", "deferred") else None,
        "started_at": row["started_at"],
        "alerting_at": row["alerting_at"],
        "answered_at": row["answered_at"],
        "ended_at": row["ended_at"],
        "talk_seconds": round(row["talk_ms"] / 1000, 3),
        "replays": row["replays"],
        "digits": row["digits"],
        "cause": row["cause"],
        "sip_code": row["sip_code"],
        "charge_fen": row["charge_fen"],
    }


def reminder_view(reminder: Row, calls: list[Row]) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for c in calls:
        counts[c["status"]] = counts.get(c["status"], 0) + 1
    return {
        "id": reminder["id"],
        "group_id": reminder["group_id"],
        "message_id": reminder["message_id"],
        "sender": {"user_id": reminder["sender_user_id"], "name": reminder["sender_name"]},
        "text": reminder["text"],
        "language": reminder["language"],
        "caller": reminder["caller"],
        "status": reminder["status"],
        "created_at": reminder["created_at"],
        "completed_at": reminder["completed_at"],
        "summary": counts,
        "calls": [call_view(c) for c in calls],
    }


@routes.post("/v1/reminders")
async def post_reminder(request: web.Request) -> web.Response:
    who = tenant_principal(request, "reminders")
    services = request.app[SERVICES]
    if not services.accepting:
        raise Problem(503, "Shutting down", "the service is not taking reminders now",
                      type="https://voicebridge.dev/problems/unavailable")
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 1 <= len(key) <= MAX_KEY_CHARS:
        raise Problem(400, "Bad Idempotency-Key", "", [FieldError("Idempotency-Key", f"must be 1 to {MAX_KEY_CHARS} characters")])
    body = await read_json(request, services.settings.server.max_body_bytes)
    status, response, reminder = await accept(
        services.store, who.tenant or {}, body, services.intake_limits, key,
        admit=lambda n: services.limiter.check_recipients(who.key_id, n),
    )
    if reminder is not None:
        services.reminder_accepted(reminder)
    return json_response(response, status, headers={"Location": f"/v1/reminders/{response['id']}"})


@routes.get("/v1/reminders")
async def list_reminders(request: web.Request) -> web.Response:
    """The tenant's reminders, newest first; ``before`` pages on, ``group_id`` / ``message_id`` filter."""
    who = tenant_principal(request, "reminders")
    q = request.query
    errs: list[FieldError] = []
    limit = query_int(q, "limit", 50, 1, 200, errs)
    if errs:
        raise invalid(errs)
    sql = "SELECT * FROM reminders WHERE tenant_id = ?"
    params: list[Any] = [who.tenant_id]
    for column in ("group_id", "message_id", "status"):
        if q.get(column):
            sql += f" AND {column} = ?"
            params.append(q[column])
    if q.get("before"):
        sql += " AND (created_at, rowid) < (SELECT created_at, rowid FROM reminders WHERE id = ? AND tenant_id = ?)"
        params += [q["before"], who.tenant_id]
    store = request.app[SERVICES].store
    rows = await store.fetchall(sql + " ORDER BY created_at DESC, rowid DESC LIMIT ?", (*params, limit))
    out = []
    for r in rows:
        counts = await store.fetchall(
            "SELECT status, COUNT(*) AS n FROM calls WHERE reminder_id = ? GROUP BY status", (r["id"],))
        out.append({k: r[k] for k in ("id", "group_id", "message_id", "text", "language", "caller", "status",
                                      "created_at", "completed_at")}
                   | {"sender": {"user_id": r["sender_user_id"], "name": r["sender_name"]},
                      "summary": {c["status"]: c["n"] for c in counts}})
    return json_response({"reminders": out, "next_before": out[-1]["id"] if len(out) == limit else None})


async def _own_reminder(request: web.Request, scope: str) -> Row:
    who = tenant_principal(request, scope)
    reminder = await callstore.get_reminder(request.app[SERVICES].store, request.match_info["id"], who.tenant_id)
    if reminder is None:
        raise not_found("reminder")
    return reminder


@routes.get("/v1/reminders/{id}")
async def get_reminder(request: web.Request) -> web.Response:
    reminder = await _own_reminder(request, "reminders")
    calls = await callstore.reminder_calls(request.app[SERVICES].store, reminder["id"])
    return json_response(reminder_view(reminder, calls))


@routes.post("/v1/reminders/{id}/cancel")
async def cancel_reminder(request: web.Request) -> web.Response:
    reminder = await _own_reminder(request, "reminders")
    store = request.app[SERVICES].store
    async with store.transaction() as tx:
        cancelled = await tx.execute(
            "UPDATE calls SET status = ?, cause = 'cancelled', updated_at = ? "
            "WHERE reminder_id = ? AND status IN ('queued', 'deferred')",
            (CallStatus.CANCELLED.value, iso(utcnow()), reminder["id"]),
        )
        if reminder["status"] == "active":
            await tx.execute("UPDATE reminders SET status = 'cancelled' WHERE id = ?", (reminder["id"],))
        if await callstore.complete_reminder_if_done(tx, reminder["id"]):
            counts = await tx.fetchall(
                "SELECT status, COUNT(*) AS n FROM calls WHERE reminder_id = ? GROUP BY status", (reminder["id"],))
            await enqueue(tx, reminder["tenant_id"], "reminder.completed",
                          {"reminder_id": reminder["id"], "summary": {r["status"]: r["n"] for r in counts}},
                          callback_url=reminder["callback_url"])
    reminder = await callstore.get_reminder(store, reminder["id"]) or reminder
    calls = await callstore.reminder_calls(store, reminder["id"])
    return json_response({"cancelled_calls": cancelled, **reminder_view(reminder, calls)})


PATHS: dict[str, Any] = {
    "/v1/reminders": {"get": {
        "summary": "The tenant's reminders, newest first", "security": BEARER,
        "parameters": [{"name": n, "in": "query", "schema": {"type": "string"}}
                       for n in ("group_id", "message_id", "status", "before")]
        + [{"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}}],
        "responses": {"200": {"description": "reminders with per-status counts"}, **errors(401, 403, 422)},
    }, "post": {
        "summary": "Phone the unread members of a chat message",
        "security": BEARER,
        "parameters": [{"name": "Idempotency-Key", "in": "header", "required": False,
                        "schema": {"type": "string", "minLength": 1, "maxLength": 255},
                        "description": "same key and body: the first response again; other body: 409"}],
        "requestBody": {"required": True, **body(ref("ReminderRequest"))},
        "responses": {"202": {"description": "accepted: one call per recipient", **body(ref("Accepted"))},
                      **errors(400, 401, 403, 409, 413, 415, 422, 503)},
    }},
    "/v1/reminders/{id}": {"get": {
        "summary": "A reminder and each recipient's call status", "security": BEARER, "parameters": ID_PARAM,
        "responses": {"200": {"description": "the reminder", **body(ref("Reminder"))}, **errors(401, 403, 404)},
    }},
    "/v1/reminders/{id}/cancel": {"post": {
        "summary": "Cancel the calls not yet dialled; calls in progress finish", "security": BEARER,
        "parameters": ID_PARAM,
        "responses": {"200": {"description": "the reminder after cancelling", **body(ref("Reminder"))},
                      **errors(401, 403, 404)},
    }},
}
