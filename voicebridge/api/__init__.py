"""HTTP handlers, grouped by the user they serve.

Each module has ``routes`` (its handlers) and ``PATHS`` (their OpenAPI
description); a test checks the two agree.
"""

from __future__ import annotations

from aiohttp import web

from voicebridge.api import health, operator, reminders
from voicebridge.api import metrics, numbers, onboarding, webhooks
from voicebridge.api import cdrs, finance, keys_api
from voicebridge.api import console

API_MODULES = (health, metrics, reminders, operator, onboarding, numbers, webhooks, cdrs, finance, keys_api,
               console)


def build_routes() -> list[web.AbstractRouteDef]:
    out: list[web.AbstractRouteDef] = []
    for module in API_MODULES:
        out.extend(module.routes)
    return out
