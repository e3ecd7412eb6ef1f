"""Bearer API keys: tenant keys with scopes, and the operator's key."""

from __future__ import annotations

from typing import Awaitable, Callable

from aiohttp import web

from voicebridge.api.keys import PRINCIPAL, SERVICES, Principal
from voicebridge.errors import Problem
from voicebridge.store.tenants import get_tenant, key_lookup

PUBLIC = ("/healthz", "/readyz", "/metrics", "/v1/openapi.json", "/console")


def _unauthorised(detail: str) -> Problem:
    return Problem(401, "Unauthorised", detail, type="https://voicebridge.dev/problems/unauthorised",
                   extra={"hint": "send Authorization: Bearer <api key>"})


@web.middleware
async def auth_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    if request.path.startswith(PUBLIC) or request.path == "/":
        return await handler(request)
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise _unauthorised("missing API key")
    services = request.app[SERVICES]
    row = await key_lookup(services.store, secret.strip(), services.secret)
    if row is None:
        raise _unauthorised("unknown or revoked API key")
    tenant = await get_tenant(services.store, row["tenant_id"]) if row["tenant_id"] else None
    services.limiter.check_request(row["id"])
    request[PRINCIPAL] = Principal(row["id"], tenant, frozenset(row["scopes"].split()))
    return await handler(request)


def principal(request: web.Request, scope: str) -> Principal:
    """The caller, who must hold ``scope`` (the operator holds every scope)."""
    who: Principal = request[PRINCIPAL]
    if scope not in who.scopes and not who.is_operator:
        raise Problem(403, "Forbidden", f"this key lacks the {scope!r} scope",
                      type="https://voicebridge.dev/problems/forbidden")
    return who


def tenant_principal(request: web.Request, scope: str) -> Principal:
    who = principal(request, scope)
    if who.tenant is None:
        raise Problem(403, "Forbidden", "this endpoint needs a tenant key",
                      type="https://voicebridge.dev/problems/forbidden")
    return who
