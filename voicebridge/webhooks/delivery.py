"""Delivering the outbox: signed POSTs, retried with back-off and jitter.

A background task takes due rows, posts each with a time-out and without
following redirects, and marks it delivered on any 2xx. A failure is retried
with exponential back-off (full jitter) until the row's ``expires_at`` (24 h
after it was written); then it is ``dead`` and shown to the admin, who can
redeliver it. The sender runs beside the dialler and never blocks it: a slow
receiver costs only this task's time.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

import aiohttp

from voicebridge.domain import iso, parse_iso, utcnow
from voicebridge.store.sqlite import Row, SqliteStore
from voicebridge.webhooks.outbox import tenant_secret
from voicebridge.webhooks.signing import EVENT_HEADER, EVENT_ID_HEADER, HEADER, sign

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WebhookSettings:
    enabled: bool = True
    timeout: float = 10.0  # seconds per attempt
    base_delay: float = 5.0  # first retry after about this long
    max_delay: float = 3600.0
    concurrency: int = 8
    poll_interval: float = 1.0
    batch: int = 50


def backoff(attempts: int, settings: WebhookSettings, rng: random.Random) -> float:
    """Full jitter: uniform in [base/2, min(max, base × 2^(attempts-1))]."""
    ceiling = min(settings.max_delay, settings.base_delay * (2 ** max(0, attempts - 1)))
    return rng.uniform(min(settings.base_delay / 2, ceiling), ceiling)


class WebhookSender:
    def __init__(
        self, store: SqliteStore, settings: WebhookSettings, now: Callable[[], datetime] = utcnow,
        rng: random.Random | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.now = now
        self._rng = rng or random.Random()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None
        self._secrets: dict[str, str] = {}
        self.delivered = 0
        self.failed = 0

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.settings.timeout))
        self._task = asyncio.create_task(self._run(), name="webhook-sender")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def backlog(self) -> int:
        row = await self.store.fetchone("SELECT COUNT(*) AS n FROM outbox WHERE state = 'pending'")
        return int(row["n"]) if row else 0

    async def _run(self) -> None:
        while True:
            try:
                sent = await self.deliver_due()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - keep delivering after a bad pass
                log.exception("webhook pass failed")
                sent = 0
            if sent:
                continue
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), self.settings.poll_interval)
            except asyncio.TimeoutError:
                pass

    async def deliver_due(self) -> int:
        """One pass: deliver what is due now. Returns how many were tried."""
        rows = await self.store.fetchall(
            "SELECT * FROM outbox WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?",
            (iso(self.now()), self.settings.batch),
        )
        if not rows:
            return 0
        gate = asyncio.Semaphore(self.settings.concurrency)

        async def one(row: Row) -> None:
            async with gate:
                await self._deliver(row)

        await asyncio.gather(*(one(r) for r in rows))
        return len(rows)

    async def _secret(self, tenant_id: str) -> str:
        if tenant_id not in self._secrets:
            row = await self.store.fetchone("SELECT webhook_secret FROM tenants WHERE id = ?", (tenant_id,))
            if row and row["webhook_secret"]:
                self._secrets[tenant_id] = row["webhook_secret"]
            else:  # an event queued before the tenant made a webhook (a callback_url): make its secret
                async with self.store.transaction() as tx:
                    self._secrets[tenant_id] = await tenant_secret(tx, tenant_id)
        return self._secrets[tenant_id]

    def forget_secret(self, tenant_id: str) -> None:
        self._secrets.pop(tenant_id, None)

    async def _deliver(self, row: Row) -> None:
        assert self._session is not None
        body = row["payload"].encode()
        secret = await self._secret(row["tenant_id"])
        headers = {
            "Content-Type": "application/json",
            HEADER: sign(secret, int(time.time()), body),
            EVENT_ID_HEADER: row["event_id"],
            EVENT_HEADER: row["event"],
            "User-Agent": "voicebridge-webhooks/1",
        }
        error: str | None = None
        try:
            async with self._session.post(row["url"], data=body, headers=headers, allow_redirects=False) as resp:
                await resp.read()
                if not 200 <= resp.status < 300:
                    error = f"HTTP {resp.status}"
        except asyncio.TimeoutError:
            error = f"timed out after {self.settings.timeout:g} s"
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            error = f"{type(exc).__name__}: {exc}"
        now = self.now()
        attempts = int(row["attempts"]) + 1
        async with self.store.transaction() as tx:
            if error is None:
                await tx.execute(
                    "UPDATE outbox SET state = 'delivered', attempts = ?, delivered_at = ?, last_error = NULL WHERE id = ?",
                    (attempts, iso(now), row["id"]),
                )
                self.delivered += 1
                return
            self.failed += 1
            retry_at = now + timedelta(seconds=backoff(attempts, self.settings, self._rng))
            expires = parse_iso(row["expires_at"]) or now
            state = "dead" if retry_at > expires else "pending"
            await tx.execute(
                "UPDATE outbox SET state = ?, attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?",
                (state, attempts, iso(retry_at), error[:500], row["id"]),
            )
        log.info("webhook %s to %s failed (%s): %s", row["event_id"], row["url"], error,
                 "dead" if state == "dead" else f"retry at {iso(retry_at)}")
