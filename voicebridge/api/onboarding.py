"""Onboarding over HTTP: a tenant admin's three steps and documents; the operator's
review queue, decisions and tenant settings."""

from __future__ import annotations

import json

from typing import Any
from urllib.parse import quote, unquote

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from voicebridge.api.auth import principal, tenant_principal
from voicebridge.api.keys import SERVICES
from voicebridge.api.openapi import BEARER, ID_PARAM, body, errors
from voicebridge.api.operator import tenant_view
from voicebridge.api.problems import json_response, not_found, read_json
from voicebridge.errors import FieldError, Problem, invalid
from voicebridge.onboarding import documents as docs
from voicebridge.onboarding import service
from voicebridge.onboarding.steps import FIELDS, STATES, STEPS
from voicebridge.store import ledger
from voicebridge.store.tenants import get_tenant

routes = web.RouteTableDef()
MAX_STEP_BYTES = 64 * 1024
CHUNK = 64 * 1024
MULTIPART_OVERHEAD = 64 * 1024


# -- tenant admin: the three steps ------------------------------------------------


@routes.get("/v1/onboarding")
async def list_steps(request: web.Request) -> web.Response:
    who = tenant_principal(request, "admin")
    steps = await service.tenant_steps(request.app[SERVICES].store, who.tenant_id)
    return json_response({"steps": steps, "next": next((s["step"] for s in steps if s["state"] != "approved"), None)})


@routes.get("/v1/onboarding/history")
async def own_history(request: web.Request) -> web.Response:
    who = tenant_principal(request, "admin")
    step = request.query.get("step") or None
    return json_response({"history": await service.history(request.app[SERVICES].store, who.tenant_id, step)})


@routes.get("/v1/onboarding/queue")
async def review_queue(request: web.Request) -> web.Response:
    principal(request, "operator")
    state = request.query.get("state", "submitted")
    if state not in STATES[1:]:
        raise invalid([FieldError("state", f"must be one of {', '.join(STATES[1:])}", "enum")])
    items = await service.queue(request.app[SERVICES].store, request.query.get("step") or None, state)
    return json_response({"items": items})


@routes.get("/v1/onboarding/{step}")
async def get_step(request: web.Request) -> web.Response:
    who = tenant_principal(request, "admin")
    step = service.check_step(request.match_info["step"])
    steps = await service.tenant_steps(request.app[SERVICES].store, who.tenant_id)
    return json_response(next(s for s in steps if s["step"] == step))


@routes.put("/v1/onboarding/{step}")
async def put_step(request: web.Request) -> web.Response:
    who = tenant_principal(request, "admin")
    step = service.check_step(request.match_info["step"])
    data = await read_json(request, MAX_STEP_BYTES)
    services = request.app[SERVICES]
    return json_response(await service.save_draft(services.store, who.tenant or {}, step, data, who.key_id))


@routes.post("/v1/onboarding/{step}/submit")
async def submit_step(request: web.Request) -> web.Response:
    who = tenant_principal(request, "admin")
    step = service.check_step(request.match_info["step"])
    return json_response(await service.submit(request.app[SERVICES].store, who.tenant or {}, step, who.key_id))


# -- operator: review and tenant settings --------------------------------------------


async def _tenant_or_404(request: web.Request) -> dict[str, Any]:
    tenant = await get_tenant(request.app[SERVICES].store, request.match_info["id"])
    if tenant is None:
        raise not_found("tenant")
    return tenant


@routes.get("/v1/tenants/{id}/onboarding")
async def tenant_onboarding(request: web.Request) -> web.Response:
    principal(request, "operator")
    tenant = await _tenant_or_404(request)
    store = request.app[SERVICES].store
    return json_response({"tenant_id": tenant["id"], "steps": await service.tenant_steps(store, tenant["id"]),
                          "history": await service.history(store, tenant["id"])})


async def _decide(request: web.Request, approve: bool) -> web.Response:
    who = principal(request, "operator")
    tenant = await _tenant_or_404(request)
    step = service.check_step(request.match_info["step"])
    reason = None
    if request.can_read_body:
        data = await read_json(request, 16 * 1024)
        if not isinstance(data, dict):
            raise invalid([FieldError("", "the body must be a JSON object", "type")])
        reason = data.get("reason")
        if reason is not None and not isinstance(reason, str):
            raise invalid([FieldError("reason", "must be a string", "type")])
        unknown = [FieldError(k, "is not a known field", "unknown") for k in data if k != "reason"]
        if unknown:
            raise invalid(unknown)
    out = await service.review(request.app[SERVICES].store, tenant["id"], step, who.key_id,
                               approve=approve, reason=reason)
    return json_response(out)


@routes.post("/v1/tenants/{id}/onboarding/{step}/approve")
async def approve_step(request: web.Request) -> web.Response:
    return await _decide(request, True)


@routes.post("/v1/tenants/{id}/onboarding/{step}/reject")
async def reject_step(request: web.Request) -> web.Response:
    return await _decide(request, False)


@routes.patch("/v1/tenants/{id}")
async def update_tenant(request: web.Request) -> web.Response:
    who = principal(request, "operator")
    store = request.app[SERVICES].store
    data = await read_json(request, 16 * 1024)
    row = await service.update_tenant(store, request.match_info["id"], data, who.key_id)
    return json_response({**tenant_view(row, await ledger.balance(store, row["id"])),
                          "region": row["region"], "allow_fixed_line": bool(row["allow_fixed_line"]),
                          "policy": json.loads(row["policy"]) if row.get("policy") else {}})


@routes.get("/v1/tenants/{id}/documents")
async def tenant_documents(request: web.Request) -> web.Response:
    principal(request, "operator")
    tenant = await _tenant_or_404(request)
    rows = await docs.list_documents(request.app[SERVICES].store, tenant["id"])
    return json_response({"documents": [docs.document_view(r) for r in rows]})


@routes.get("/v1/tenants/{id}/documents/{doc}/content")
async def tenant_document_content(request: web.Request) -> web.StreamResponse:
    principal(request, "operator")
    tenant = await _tenant_or_404(request)
    return await _send_document(request, tenant["id"], request.match_info["doc"])


# -- tenant admin: documents ---------------------------------------------------------


async def _read_limited(read: Any) -> bytes:
    buf = bytearray()
    while chunk := await read(CHUNK):
        buf += chunk
        if len(buf) > docs.MAX_BYTES:
            raise docs.too_large()
    return bytes(buf)


@routes.post("/v1/documents")
async def upload(request: web.Request) -> web.Response:
    who = tenant_principal(request, "admin")
    services = request.app[SERVICES]
    if request.content_length is not None and request.content_length > docs.MAX_BYTES + MULTIPART_OVERHEAD:
        raise docs.too_large()
    kind = request.query.get("kind", "other")
    filename = request.query.get("filename", "")
    if request.content_type.startswith("multipart/"):
        content = ctype = None
        try:
            reader = await request.multipart()
            while (part := await reader.next()) is not None:
                if not isinstance(part, BodyPartReader):
                    continue
                if part.name == "file" and content is None:
                    # aiohttp's client (and some others) percent-encode non-ASCII file names
                    filename = unquote(part.filename or "") or filename
                    ctype = part.headers.get("Content-Type", "application/octet-stream")
                    content = await _read_limited(part.read_chunk)
                elif part.name == "kind":
                    kind = (await part.text())[:64]
                elif part.name == "filename":
                    filename = (await part.text())[:docs.MAX_FILENAME_CHARS + 1]
                else:
                    await part.release()
        except (ValueError, HttpProcessingError):  # no boundary, bad part headers, bad charset …
            raise Problem(400, "Malformed multipart body", "the body is not valid multipart/form-data",
                          [FieldError("", "not a valid multipart/form-data body", "syntax")]) from None
        if content is None or ctype is None:
            raise invalid([FieldError("file", "is required: a multipart part named file", "required")])
    else:
        ctype = request.headers.get("Content-Type", "")
        content = await _read_limited(request.content.read)
    row = await docs.save_document(services.store, services.settings.data_dir, who.tenant_id, content, ctype,
                                   kind=kind, filename=filename, actor=who.key_id)
    return json_response(docs.document_view(row), 201, headers={"Location": f"/v1/documents/{row['id']}"})


@routes.get("/v1/documents")
async def list_own_documents(request: web.Request) -> web.Response:
    who = tenant_principal(request, "admin")
    rows = await docs.list_documents(request.app[SERVICES].store, who.tenant_id)
    return json_response({"documents": [docs.document_view(r) for r in rows]})


@routes.get("/v1/documents/{id}")
async def document_meta(request: web.Request) -> web.Response:
    who = tenant_principal(request, "admin")
    row = await docs.get_document(request.app[SERVICES].store, who.tenant_id, request.match_info["id"])
    if row is None:
        raise not_found("document")
    return json_response(docs.document_view(row))


@routes.get("/v1/documents/{id}/content")
async def document_content(request: web.Request) -> web.StreamResponse:
    who = tenant_principal(request, "admin")
    return await _send_document(request, who.tenant_id, request.match_info["id"])


async def _send_document(request: web.Request, tenant_id: str, doc_id: str) -> web.StreamResponse:
    services = request.app[SERVICES]
    row = await docs.get_document(services.store, tenant_id, doc_id)
    if row is None:
        raise not_found("document")
    path = docs.document_path(services.settings.data_dir, row["sha256"])
    if not path.is_file():
        raise not_found("document file")
    name = row["filename"] or f"{row['id']}"
    return web.FileResponse(path, headers={
        "Content-Type": row["content_type"],
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}",
        "X-Content-Type-Options": "nosniff",
        "ETag": f'"{row["sha256"]}"',
    })


# -- OpenAPI -------------------------------------------------------------------------


def _field_schema(kind: str, f: Any) -> dict[str, Any]:
    if kind == "int":
        return {"type": "integer", "minimum": f.minimum, "maximum": f.maximum, "default": f.default}
    if kind == "documents":
        return {"type": "array", "minItems": f.minimum, "maxItems": f.maximum,
                "items": {"type": "string", "description": "a document id"}}
    if kind == "enum":
        return {"type": "string", "enum": list(f.choices)}
    desc = {"email": "an email address", "phone": "mobile or fixed line; stored E.164",
            "mobile": "a mobile number; stored E.164",
            "uscc": "18-character unified social credit code, check digit included",
            "document": "a document id from POST /v1/documents"}.get(kind, "")
    return {"type": "string", "maxLength": f.max_chars, **({"description": desc} if desc else {})}


def _step_schema(step: str) -> dict[str, Any]:
    return {
        "type": "object", "additionalProperties": False,
        "description": f"the {step} step's fields; a draft may leave some out, submitting needs all required",
        "required": [f.name for f in FIELDS[step] if f.required and f.default is None],
        "properties": {f.name: _field_schema(f.kind, f) for f in FIELDS[step]},
    }


STEP_PARAM = [{"name": "step", "in": "path", "required": True, "schema": {"type": "string", "enum": list(STEPS)}}]
STEP_VIEW = {"type": "object", "properties": {
    "step": {"type": "string", "enum": list(STEPS)}, "state": {"type": "string", "enum": list(STATES)},
    "data": {"type": "object"}, "reason": {"type": ["string", "null"]}, "revision": {"type": "integer"},
    "updated_at": {"type": ["string", "null"], "format": "date-time"},
    "submitted_at": {"type": ["string", "null"], "format": "date-time"},
    "reviewed_at": {"type": ["string", "null"], "format": "date-time"},
    "blocked_by": {"type": ["string", "null"], "description": "the earlier step still to be approved"},
    "numbers": {"type": "array", "description": "on approving a number order: the numbers issued"}}}
DOC_VIEW = {"type": "object", "properties": {
    "id": {"type": "string"}, "kind": {"type": "string", "enum": list(docs.KINDS)}, "filename": {"type": "string"},
    "content_type": {"type": "string", "enum": list(docs.CONTENT_TYPES)}, "size": {"type": "integer"},
    "sha256": {"type": "string"}, "created_at": {"type": "string", "format": "date-time"}}}
DOC_ID = [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}]
FILE_CONTENT = {"content": {t: {"schema": {"type": "string", "format": "binary"}} for t in docs.CONTENT_TYPES}}

PATHS: dict[str, Any] = {
    "/v1/onboarding": {"get": {
        "summary": "Tenant admin: the three onboarding steps (activation, filing, number_order) and the next one due",
        "security": BEARER,
        "responses": {"200": {"description": "steps", **body({"type": "object", "properties": {
            "steps": {"type": "array", "items": STEP_VIEW}, "next": {"type": ["string", "null"]}}})},
            **errors(401, 403)},
    }},
    "/v1/onboarding/history": {"get": {
        "summary": "Tenant admin: the audit trail of onboarding (who, when, what changed)", "security": BEARER,
        "parameters": [{"name": "step", "in": "query", "schema": {"type": "string", "enum": list(STEPS)}}],
        "responses": {"200": {"description": "history, oldest first"}, **errors(401, 403, 404)},
    }},
    "/v1/onboarding/queue": {"get": {
        "summary": "Operator: steps waiting for review, oldest submission first", "security": BEARER,
        "parameters": [{"name": "step", "in": "query", "schema": {"type": "string", "enum": list(STEPS)}},
                       {"name": "state", "in": "query",
                        "schema": {"type": "string", "enum": list(STATES[1:]), "default": "submitted"}}],
        "responses": {"200": {"description": "queue items"}, **errors(401, 403, 404, 422)},
    }},
    "/v1/onboarding/{step}": {
        "get": {"summary": "Tenant admin: one step", "security": BEARER, "parameters": STEP_PARAM,
                "responses": {"200": {"description": "the step", **body(STEP_VIEW)}, **errors(401, 403, 404)}},
        "put": {"summary": "Tenant admin: save the step's draft (replaces its fields); a rejected step "
                           "is corrected this way; a further number order once the last is approved",
                "security": BEARER, "parameters": STEP_PARAM,
                "requestBody": {"required": True, "content": {"application/json": {"schema": {"oneOf": [
                    _step_schema(s) for s in STEPS]}}}},
                "responses": {"200": {"description": "the draft", **body(STEP_VIEW)},
                              **errors(400, 401, 403, 404, 409, 413, 415, 422)}},
    },
    "/v1/onboarding/{step}/submit": {"post": {
        "summary": "Tenant admin: submit the draft for review; the earlier step must be approved "
                   "(409 with missing_step)", "security": BEARER, "parameters": STEP_PARAM,
        "responses": {"200": {"description": "submitted", **body(STEP_VIEW)}, **errors(401, 403, 404, 409, 422)},
    }},
    "/v1/tenants/{id}/onboarding": {"get": {
        "summary": "Operator: a tenant's steps and onboarding history", "security": BEARER, "parameters": ID_PARAM,
        "responses": {"200": {"description": "steps and history"}, **errors(401, 403, 404)},
    }},
    "/v1/tenants/{id}/onboarding/{step}/approve": {"post": {
        "summary": "Operator: approve a submitted step; a number order issues its numbers from the pool "
                   "(409 if the pool lacks them) and stamps issued_at (rent starts that day)",
        "security": BEARER, "parameters": ID_PARAM + STEP_PARAM,
        "requestBody": {"required": False, **body({"type": "object", "properties": {"reason": {"type": "string"}}})},
        "responses": {"200": {"description": "approved", **body(STEP_VIEW)},
                      **errors(400, 401, 403, 404, 409, 413, 415, 422)},
    }},
    "/v1/tenants/{id}/onboarding/{step}/reject": {"post": {
        "summary": "Operator: reject a submitted step with the reason the tenant sees", "security": BEARER,
        "parameters": ID_PARAM + STEP_PARAM,
        "requestBody": {"required": True, **body({"type": "object", "required": ["reason"], "properties": {
            "reason": {"type": "string", "maxLength": service.MAX_REASON_CHARS}}})},
        "responses": {"200": {"description": "rejected", **body(STEP_VIEW)},
                      **errors(400, 401, 403, 404, 409, 413, 415, 422)},
    }},
    "/v1/tenants/{id}": {"patch": {
        "summary": "Operator: set a tenant's customer level, time zone, default region for phone numbers, "
                   "fixed-line recipients or name", "security": BEARER, "parameters": ID_PARAM,
        "requestBody": {"required": True, **body({"type": "object", "minProperties": 1, "additionalProperties": False,
            "properties": {"level": {"type": "string", "enum": list(service.LEVELS)},
                           "timezone": {"type": "string", "description": "IANA name, e.g. Asia/Shanghai"},
                           "region": {"type": "string", "description": "ISO 3166 code, e.g. CN"},
                           "allow_fixed_line": {"type": "boolean"}, "name": {"type": "string"},
                           "policy": {"type": "object", "additionalProperties": False,
                                      "description": "overrides of the calling policy; {} = the service's settings",
                                      "properties": {"retries": {"type": "integer", "minimum": 0},
                                                     "retry_delays": {"type": "array", "items": {"type": "number"}},
                                                     "quiet_start": {"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$"},
                                                     "quiet_end": {"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$"},
                                                     "max_calls_24h": {"type": "integer", "minimum": 1},
                                                     "max_calls_30d": {"type": "integer", "minimum": 1}}}}})},
        "responses": {"200": {"description": "the tenant"}, **errors(400, 401, 403, 404, 413, 415, 422)},
    }},
    "/v1/tenants/{id}/documents": {"get": {
        "summary": "Operator: a tenant's documents, for reviewing its filing", "security": BEARER,
        "parameters": ID_PARAM,
        "responses": {"200": {"description": "documents"}, **errors(401, 403, 404)},
    }},
    "/v1/tenants/{id}/documents/{doc}/content": {"get": {
        "summary": "Operator: download one of a tenant's documents", "security": BEARER,
        "parameters": ID_PARAM + [{"name": "doc", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": {"description": "the file", **FILE_CONTENT}, **errors(401, 403, 404)},
    }},
    "/v1/documents": {
        "post": {"summary": f"Tenant admin: upload a document (PDF, PNG or JPEG, at most {docs.MAX_BYTES} bytes) "
                            "as the raw body with its Content-Type, or multipart/form-data with a part named file",
                 "security": BEARER,
                 "parameters": [{"name": "kind", "in": "query", "schema": {"type": "string", "enum": list(docs.KINDS)}},
                                {"name": "filename", "in": "query", "schema": {"type": "string"}}],
                 "requestBody": {"required": True, "content": {
                     **FILE_CONTENT["content"],
                     "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
                         "file": {"type": "string", "format": "binary"},
                         "kind": {"type": "string", "enum": list(docs.KINDS)}}}}}},
                 "responses": {"201": {"description": "stored", **body(DOC_VIEW)},
                               **errors(400, 401, 403, 413, 415, 422)}},
        "get": {"summary": "Tenant admin: the tenant's documents", "security": BEARER,
                "responses": {"200": {"description": "documents", **body({"type": "object", "properties": {
                    "documents": {"type": "array", "items": DOC_VIEW}}})}, **errors(401, 403)}},
    },
    "/v1/documents/{id}": {"get": {
        "summary": "Tenant admin: one document's details (another tenant's id is 404)", "security": BEARER,
        "parameters": DOC_ID,
        "responses": {"200": {"description": "the document", **body(DOC_VIEW)}, **errors(401, 403, 404)},
    }},
    "/v1/documents/{id}/content": {"get": {
        "summary": "Tenant admin: download the document (another tenant's id is 404)", "security": BEARER,
        "parameters": DOC_ID,
        "responses": {"200": {"description": "the file", **FILE_CONTENT}, **errors(401, 403, 404)},
    }},
}
