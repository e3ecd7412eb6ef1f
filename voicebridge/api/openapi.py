"""The OpenAPI 3.1 document served at /v1/openapi.json.

Kept beside the handlers and checked by a test that every route the app serves
is described here and every described path is served.
"""

from __future__ import annotations

from typing import Any

from voicebridge import __version__

STATUSES = [
    "queued", "deferred", "calling", "ringing", "answered", "completed", "no_answer", "busy", "rejected",
    "invalid_number", "unreachable", "failed", "cancelled", "blocked", "duplicate",
]  # fmt: skip


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


_PROBLEM = {"content": {"application/problem+json": {"schema": _ref("Problem")}}}


def _errors(*codes: int) -> dict[str, Any]:
    text = {400: "Malformed request", 401: "Missing or unknown API key", 403: "The key lacks the scope",
            404: "Not found (or another tenant's)", 409: "Conflict", 413: "Body too large",
            415: "Not JSON", 422: "Invalid fields, listed in errors", 503: "Shutting down"}
    return {str(c): {"description": text[c], **_PROBLEM} for c in codes}


_ID = [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}]

SCHEMAS: dict[str, Any] = {
    "Problem": {
        "type": "object",
        "description": "RFC 9457 problem details",
        "required": ["type", "title", "status"],
        "properties": {
            "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
            "detail": {"type": "string"},
            "errors": {"type": "array", "items": {"type": "object", "required": ["field", "message"], "properties": {
                "field": {"type": "string"}, "message": {"type": "string"}, "code": {"type": "string"}}}},
        },
    },
    "ReminderRequest": {
        "type": "object",
        "additionalProperties": False,
        "required": ["group_id", "message_id", "sender", "text", "recipients"],
        "properties": {
            "group_id": {"type": "string", "minLength": 1, "maxLength": 128},
            "message_id": {"type": "string", "minLength": 1, "maxLength": 128},
            "sender": {"type": "object", "additionalProperties": False, "required": ["user_id", "name"], "properties": {
                "user_id": {"type": "string", "minLength": 1, "maxLength": 128},
                "name": {"type": "string", "minLength": 1, "maxLength": 64}}},
            "text": {"type": "string", "minLength": 1, "maxLength": 500},
            "language": {"type": "string", "enum": ["zh-CN", "en"], "default": "zh-CN"},
            "callback_url": {"type": "string", "format": "uri", "maxLength": 2048},
            "recipients": {"type": "array", "minItems": 1, "maxItems": 200, "items": {
                "type": "object", "additionalProperties": False, "required": ["user_id", "phone"], "properties": {
                    "user_id": {"type": "string", "minLength": 1, "maxLength": 128},
                    "name": {"type": "string", "maxLength": 64},
                    "phone": {"type": "string", "description": "a mobile number; E.164 or national (CN by default)",
                              "maxLength": 32}}}},
        },
    },
    "Call": {
        "type": "object",
        "properties": {
            "id": {"type": "string"}, "user_id": {"type": "string"}, "name": {"type": ["string", "null"]},
            "phone": {"type": "string", "description": "E.164"},
            "status": {"type": "string", "enum": STATUSES}, "attempts": {"type": "integer"},
            "next_attempt_at": {"type": ["string", "null"], "format": "date-time"},
            "started_at": {"type": ["string", "null"], "format": "date-time"},
            "alerting_at": {"type": ["string", "null"], "format": "date-time"},
            "answered_at": {"type": ["string", "null"], "format": "date-time"},
            "ended_at": {"type": ["string", "null"], "format": "date-time"},
            "talk_seconds": {"type": "number"}, "replays": {"type": "integer"}, "digits": {"type": "string"},
            "cause": {"type": ["string", "null"]}, "sip_code": {"type": ["integer", "null"]},
            "charge_fen": {"type": "integer"},
        },
    },
    "Reminder": {
        "type": "object",
        "properties": {
            "id": {"type": "string"}, "group_id": {"type": "string"}, "message_id": {"type": "string"},
            "status": {"type": "string", "enum": ["active", "completed", "cancelled"]},
            "caller": {"type": "string", "description": "the tenant number callees see"},
            "summary": {"type": "object", "additionalProperties": {"type": "integer"}},
            "calls": {"type": "array", "items": _ref("Call")},
        },
    },
    "Accepted": {
        "type": "object",
        "required": ["id", "calls"],
        "properties": {"id": {"type": "string"}, "status": {"type": "string"}, "caller": {"type": "string"},
                       "calls": {"type": "array", "items": {"type": "object"}}},
    },
    "Tenant": {
        "type": "object",
        "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "level": {"type": "string"},
                       "sandbox": {"type": "boolean"}, "balance_fen": {"type": "integer"},
                       "arrears_state": {"type": "string"}},
    },
}


def document() -> dict[str, Any]:
    bearer = [{"apiKey": []}]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "voicebridge",
            "version": __version__,
            "description": "Phones the members of a group chat who have not read an important message. "
            "Money is integer fen (1 CNY = 100 fen). Times are UTC ISO 8601 with offset.",
        },
        "servers": [{"url": "/"}],
        "components": {
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}},
            "schemas": SCHEMAS,
        },
        "paths": {
            "/healthz": {"get": {"summary": "Liveness", "security": [], "responses": {"200": {"description": "alive"}}}},
            "/readyz": {"get": {"summary": "Readiness: store writable, SIP transport bound", "security": [],
                                "responses": {"200": {"description": "ready"}, "503": {"description": "not ready"}}}},
            "/v1/openapi.json": {"get": {"summary": "This document", "security": [],
                                         "responses": {"200": {"description": "OpenAPI 3.1"}}}},
            "/v1/reminders": {"post": {
                "summary": "Phone the unread members of a chat message",
                "security": bearer,
                "parameters": [{"name": "Idempotency-Key", "in": "header", "required": False,
                                "schema": {"type": "string", "minLength": 1, "maxLength": 255},
                                "description": "same key and body: the first response again; other body: 409"}],
                "requestBody": {"required": True, **_json(_ref("ReminderRequest"))},
                "responses": {"202": {"description": "accepted: one call per recipient", **_json(_ref("Accepted"))},
                              **_errors(400, 401, 403, 409, 413, 415, 422, 503)},
            }},
            "/v1/reminders/{id}": {"get": {
                "summary": "A reminder and each recipient's call status", "security": bearer, "parameters": _ID,
                "responses": {"200": {"description": "the reminder", **_json(_ref("Reminder"))}, **_errors(401, 403, 404)},
            }},
            "/v1/reminders/{id}/cancel": {"post": {
                "summary": "Cancel the calls not yet dialled; calls in progress finish", "security": bearer,
                "parameters": _ID,
                "responses": {"200": {"description": "the reminder after cancelling", **_json(_ref("Reminder"))},
                              **_errors(401, 403, 404)},
            }},
            "/v1/tenants": {"post": {
                "summary": "Operator: create a tenant and its first API key (shown once)", "security": bearer,
                "requestBody": {"required": True, **_json({"type": "object", "required": ["name"], "properties": {
                    "name": {"type": "string"}, "sandbox": {"type": "boolean"},
                    "level": {"type": "string", "enum": ["V0", "V1", "V2", "V3", "V4", "V5"]}}})},
                "responses": {"201": {"description": "created", **_json(_ref("Tenant"))}, **_errors(400, 401, 403, 422)},
            }},
            "/v1/tenants/{id}": {"get": {
                "summary": "Operator: one tenant with its balance", "security": bearer, "parameters": _ID,
                "responses": {"200": {"description": "the tenant", **_json(_ref("Tenant"))}, **_errors(401, 403, 404)},
            }},
            "/v1/tenants/{id}/topups": {"post": {
                "summary": "Operator: add prepaid balance (idempotent by reference)", "security": bearer,
                "parameters": _ID,
                "requestBody": {"required": True, **_json({"type": "object", "required": ["amount_fen", "reference"],
                    "properties": {"amount_fen": {"type": "integer", "minimum": 1}, "reference": {"type": "string"},
                                   "reason": {"type": "string"}}})},
                "responses": {"201": {"description": "added"}, "200": {"description": "already added"},
                              **_errors(400, 401, 403, 404, 422)},
            }},
            "/v1/pool/numbers": {"post": {
                "summary": "Operator: load carrier numbers into the pool", "security": bearer,
                "requestBody": {"required": True, **_json({"type": "object", "required": ["numbers"], "properties": {
                    "numbers": {"type": "array", "items": {"type": "object", "required": ["number"], "properties": {
                        "number": {"type": "string"}, "city": {"type": "string"}}}}}})},
                "responses": {"201": {"description": "loaded"}, **_errors(400, 401, 403, 422)},
            }},
            "/v1/numbers": {"get": {
                "summary": "Tenant admin: the tenant's numbers", "security": bearer,
                "responses": {"200": {"description": "numbers"}, **_errors(401, 403)},
            }},
            "/v1/balance": {"get": {
                "summary": "Finance: the prepaid balance in fen", "security": bearer,
                "responses": {"200": {"description": "balance"}, **_errors(401, 403)},
            }},
        },
    }
