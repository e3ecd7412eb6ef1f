"""Liveness, readiness and the OpenAPI document."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from voicebridge.api.openapi import BEARER, ID_PARAM, body, errors, ref

from voicebridge.api.keys import SERVICES
from voicebridge.api.openapi import document  # noqa: F401 - served below
from voicebridge.api.problems import json_response

routes = web.RouteTableDef()


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    checks = {
        "store_writable": services.store is not None and await services.store.writable(),
        "sip_transport_bound": services.carrier is not None and bool(getattr(services.carrier, "bound", False)),
        "accepting_reminders": services.accepting,
    }
    ok = all(checks.values())
    return json_response({"status": "ready" if ok else "not_ready", "checks": checks}, 200 if ok else 503)


@routes.get("/v1/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    return json_response(document())


PATHS: dict[str, Any] = {
    "/healthz": {"get": {"summary": "Liveness", "security": [], "responses": {"200": {"description": "alive"}}}},
    "/readyz": {"get": {"summary": "Readiness: store writable, SIP transport bound", "security": [],
                        "responses": {"200": {"description": "ready"}, "503": {"description": "not ready"}}}},
    "/v1/openapi.json": {"get": {"summary": "This document", "security": [],
                                 "responses": {"200": {"description": "OpenAPI 3.1"}}}},
}
