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


BEARER = [{"apiKey": []}]
ID_PARAM = [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}]


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


PROBLEM = {"content": {"application/problem+json": {"schema": ref("Problem")}}}


def errors(*codes: int) -> dict[str, Any]:
    text = {400: "Malformed request", 401: "Missing or unknown API key", 403: "The key lacks the scope",
            404: "Not found (or another tenant's)", 409: "Conflict", 413: "Body too large",
            415: "Not JSON", 422: "Invalid fields, listed in errors", 503: "Shutting down"}
    return {str(c): {"description": text[c], **PROBLEM} for c in codes}



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
            "text": {"type": "string", "minLength": 1, "maxLength": 2000,
                     "description": "the chat message; the spoken prompt keeps its first 200 characters, cut at a sentence or word boundary with …"},
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
            "calls": {"type": "array", "items": ref("Call")},
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
    from voicebridge.api import API_MODULES

    paths: dict[str, Any] = {}
    for module in API_MODULES:
        for path, ops in module.PATHS.items():
            paths.setdefault(path, {}).update(ops)
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
        "paths": paths,
    }
