"""GET /metrics in the Prometheus text format."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from voicebridge.api.keys import SERVICES
from voicebridge.metrics import Exposition

routes = web.RouteTableDef()


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    store = services.store
    out = Exposition()
    m = services.metrics
    out.family("voicebridge_call_attempts_total", "counter", "Call attempts by outcome and hang-up cause",
               [({"status": s, "cause": c}, n) for (s, c), n in sorted(m.calls.items())])
    out.family("voicebridge_dial_attempts_total", "counter", "Calls dialled (rate() gives calls per second)",
               [({}, m.dial_attempts)])
    out.family("voicebridge_active_calls", "gauge", "Calls in progress",
               [({}, services.dispatcher.active_calls if services.dispatcher else 0)])
    queued = await store.fetchall(
        "SELECT status, COUNT(*) AS n FROM calls WHERE status IN ('queued', 'deferred') GROUP BY status")
    out.family("voicebridge_dial_queue_depth", "gauge", "Call jobs waiting to be dialled",
               [({"status": r["status"]}, r["n"]) for r in queued])
    tts = services.tts.stats if services.tts else None
    out.family("voicebridge_tts_renders_total", "counter", "Prompts rendered by the engine",
               [({}, tts.renders if tts else 0)])
    out.family("voicebridge_tts_cache_hits_total", "counter", "Prompts served from the cache",
               [({}, tts.cache_hits if tts else 0)])
    backlog = await services.webhooks.backlog() if services.webhooks else 0
    out.family("voicebridge_webhook_backlog", "gauge", "Webhook deliveries pending", [({}, backlog)])
    dead = await store.fetchone("SELECT COUNT(*) AS n FROM outbox WHERE state = 'dead'")
    out.family("voicebridge_webhook_dead", "gauge", "Webhook deliveries that gave up", [({}, dead["n"] if dead else 0)])
    balances = await store.fetchall("SELECT id AS tenant, balance_fen AS b FROM tenants ORDER BY id")
    out.family("voicebridge_ledger_balance_fen", "gauge", "Prepaid balance per tenant, in fen",
               [({"tenant": r["tenant"]}, r["b"]) for r in balances])
    return web.Response(text=out.text(), content_type="text/plain", charset="utf-8",
                        headers={"X-Content-Type-Options": "nosniff"})


PATHS: dict[str, Any] = {
    "/metrics": {"get": {"summary": "Prometheus metrics", "security": [],
                         "responses": {"200": {"description": "text exposition format 0.0.4",
                                               "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
}
