"""Builds the aiohttp Application and starts and stops every part in order.

Each resource is one ``cleanup_ctx`` generator: the store, the TTS service, the
built-in SIP simulator (when enabled), the SIP carrier, the dispatcher. They open
in that order and close in reverse, so on shutdown the dispatcher drains its
calls (writing every CDR) before the carrier and the store close.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import secrets
from pathlib import Path
from typing import Any, AsyncIterator

from aiohttp import web

from voicebridge.api import build_routes
from voicebridge.api.auth import auth_middleware
from voicebridge.api.keys import SERVICES
from voicebridge.api.problems import problem_middleware
from voicebridge.api.ratelimit import RateLimiter
from voicebridge.config import Settings
from voicebridge.metrics import CallMetrics
from voicebridge.dialer.sip_carrier import SipCarrier
from voicebridge.reminders.dispatcher import Dispatcher
from voicebridge.reminders.intake import IntakeLimits
from voicebridge.store.sqlite import Row, SqliteStore
from voicebridge.tts.service import TtsService
from voicebridge.webhooks.delivery import WebhookSender
from voicebridge.webhooks.outbox import WebhookHook
from voicebridge.billing.accounts import ArrearsHook, Transition
from voicebridge.jobs import BillingJobs
from voicebridge.store.sqlite import Tx
from voicebridge.webhooks.outbox import enqueue as enqueue_webhook

log = logging.getLogger(__name__)


def load_secret(data_dir: Path) -> bytes:
    """The server secret that API key hashes are keyed with; made once, kept 0600."""
    path = data_dir / "server.secret"
    data_dir.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return bytes.fromhex(path.read_text().strip())


class Services:
    """Everything a handler may reach, built from one Settings object."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.secret = load_secret(settings.data_dir)
        self.intake_limits = IntakeLimits(
            max_recipients=settings.reminders.max_recipients,
            max_text_chars=settings.reminders.max_text_chars,
            app_name=settings.reminders.app_name,
        )
        self.store: SqliteStore = None  # type: ignore[assignment]
        self.tts: TtsService = None  # type: ignore[assignment]
        self.carrier: SipCarrier = None  # type: ignore[assignment]
        self.simulator: Any = None
        self.dispatcher: Dispatcher = None  # type: ignore[assignment]
        self.webhooks: WebhookSender | None = None
        self.webhook_hook = WebhookHook()
        self.metrics = CallMetrics()
        self.limiter = RateLimiter(settings.limits)
        self.arrears_hook = ArrearsHook(listeners=[self.arrears_changed])
        self.billing_jobs: BillingJobs | None = None
        self.accepting = False
        self._warm: set[asyncio.Task[Any]] = set()

    def reminder_accepted(self, reminder: Row) -> None:
        """Render the prompt now, while the first phones ring, and wake the dispatcher."""
        task = asyncio.create_task(self.tts.render(reminder["prompt_text"], reminder["language"]))
        self._warm.add(task)
        task.add_done_callback(self._warm_done)
        self.dispatcher.wake()

    async def arrears_changed(self, tx: Tx, transition: Transition) -> None:
        """A tenant's arrears transition is also a tenant notification (webhook)."""
        await enqueue_webhook(tx, transition.tenant_id, "tenant.arrears", transition.as_dict())

    def _warm_done(self, task: asyncio.Task[Any]) -> None:
        self._warm.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("prompt pre-render failed: %s", task.exception())


async def _store_ctx(app: web.Application) -> AsyncIterator[None]:
    services = app[SERVICES]
    async with SqliteStore.open(services.settings.db_path) as store:
        services.store = store
        log.info("store %s at schema %d", store.path, await store.schema_version())
        yield


async def _tts_ctx(app: web.Application) -> AsyncIterator[None]:
    services = app[SERVICES]
    tts = TtsService(services.settings.tts, services.settings.data_dir)
    await tts.start()
    services.tts = tts
    try:
        yield
    finally:
        await tts.close()


async def _simulator_ctx(app: web.Application) -> AsyncIterator[None]:
    services = app[SERVICES]
    sim_settings = services.settings.simulator
    if not sim_settings.enabled:
        yield
        return
    from simulators.sip_uas import SipSimulator

    simulator = SipSimulator(
        host=sim_settings.host, port=sim_settings.port, rules=list(sim_settings.rules) or None,
        ring_delay=sim_settings.ring_seconds,
    )
    await simulator.start()
    services.simulator = simulator
    log.info("built-in SIP simulator on %s:%d", sim_settings.host, simulator.port)
    try:
        yield
    finally:
        await simulator.stop()


async def _carrier_ctx(app: web.Application) -> AsyncIterator[None]:
    services = app[SERVICES]
    sip = services.settings.sip
    if services.simulator is not None:
        sip = dataclasses.replace(sip, trunk_host=services.settings.simulator.host, trunk_port=services.simulator.port)
    carrier = SipCarrier(sip)
    await carrier.start()
    services.carrier = carrier
    try:
        yield
    finally:
        await carrier.close()


async def _dispatcher_ctx(app: web.Application) -> AsyncIterator[None]:
    services = app[SERVICES]
    dispatcher = Dispatcher(
        services.store, services.carrier, services.tts, services.settings.dialer, policy=services.settings.policy,
        hooks=[services.webhook_hook, services.arrears_hook, services.metrics],
    )
    services.dispatcher = dispatcher
    await dispatcher.start()
    services.accepting = True
    try:
        yield
    finally:
        services.accepting = False
        await dispatcher.stop(services.settings.server.drain_seconds)


async def _webhooks_ctx(app: web.Application) -> AsyncIterator[None]:
    services = app[SERVICES]
    if not services.settings.webhooks.enabled:
        yield
        return
    sender = WebhookSender(services.store, services.settings.webhooks)
    await sender.start()
    services.webhooks = sender
    services.webhook_hook.wake = sender.wake
    try:
        yield
    finally:
        await sender.close()


async def _billing_jobs_ctx(app: web.Application) -> AsyncIterator[None]:
    services = app[SERVICES]
    jobs = BillingJobs(services.store, services.settings.billing, listeners=[services.arrears_changed],
                       data_dir=services.settings.data_dir)
    services.billing_jobs = jobs
    jobs.start()
    try:
        yield
    finally:
        await jobs.stop()


def build_app(settings: Settings) -> web.Application:
    app = web.Application(
        middlewares=[problem_middleware, auth_middleware],
        client_max_size=settings.server.max_body_bytes,
    )
    app[SERVICES] = Services(settings)
    app.add_routes(build_routes())
    app.cleanup_ctx.extend([_store_ctx, _webhooks_ctx, _tts_ctx, _simulator_ctx, _carrier_ctx, _dispatcher_ctx,
                            _billing_jobs_ctx])
    return app
