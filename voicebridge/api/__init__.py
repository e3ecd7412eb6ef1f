"""HTTP handlers, grouped by the user they serve."""

from __future__ import annotations

from aiohttp import web


def build_routes() -> list[web.AbstractRouteDef]:
    from voicebridge.api import health, operator, reminders

    out: list[web.AbstractRouteDef] = []
    for module in (health, reminders, operator):
        out.extend(module.routes)
    return out
