"""Request-scoped keys shared by the API modules and app wiring."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from voicebridge.app import Services

SERVICES: web.AppKey["Services"] = web.AppKey("services")
PRINCIPAL: web.RequestKey["Principal"] = web.RequestKey("principal", "Principal")


class Principal:
    """Who is calling: a tenant key with scopes, or the operator."""

    def __init__(self, key_id: str, tenant: dict[str, Any] | None, scopes: frozenset[str]) -> None:
        self.key_id = key_id
        self.tenant = tenant
        self.scopes = scopes

    @property
    def tenant_id(self) -> str:
        assert self.tenant is not None
        return str(self.tenant["id"])

    @property
    def is_operator(self) -> bool:
        return "operator" in self.scopes
