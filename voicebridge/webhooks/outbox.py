"""Writing webhook events into the outbox, inside the caller's transaction.

An event is stored once per destination (each subscribed webhook, and the
reminder's ``callback_url``) with one event id shared by all of them, in the same
transaction as the change it reports: a crash can lose neither the change nor
its notification, and a redelivery carries the same id for the receiver to
dedupe.
"""

from __future__ import annotations

import json
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any, Callable

from voicebridge.domain import iso, utcnow
from voicebridge.store.sqlite import Row, Tx

EVENTS = (
    "call.calling", "call.ringing", "call.answered", "call.dtmf", "call.completed", "call.blocked",
    "call.deferred", "reminder.completed", "tenant.arrears",
)  # fmt: skip
MAX_AGE = timedelta(hours=24)


async def tenant_secret(tx: Tx, tenant_id: str, rotate: bool = False) -> str:
    """The tenant's webhook signing secret, made on first use."""
    row = await tx.fetchone("SELECT webhook_secret FROM tenants WHERE id = ?", (tenant_id,))
    if row and row["webhook_secret"] and not rotate:
        return str(row["webhook_secret"])
    secret = "whsec_" + secrets.token_urlsafe(32)
    await tx.execute("UPDATE tenants SET webhook_secret = ? WHERE id = ?", (secret, tenant_id))
    return secret


async def enqueue(
    tx: Tx, tenant_id: str, event: str, data: dict[str, Any], *, callback_url: str | None = None,
    now: datetime | None = None,
) -> int:
    """Store ``event`` for every destination that wants it; returns how many."""
    if event not in EVENTS:
        raise ValueError(f"unknown webhook event {event!r}")
    hooks = await tx.fetchall(
        "SELECT id, url, events FROM webhooks WHERE tenant_id = ? AND disabled_at IS NULL", (tenant_id,)
    )
    targets: list[tuple[str | None, str]] = [
        (h["id"], h["url"]) for h in hooks if "*" in h["events"].split() or event in h["events"].split()
    ]
    if callback_url and callback_url not in {url for _, url in targets}:
        targets.append((None, callback_url))
    if not targets:
        return 0
    at = now or utcnow()
    event_id = "evt_" + uuid.uuid4().hex
    payload = json.dumps({"id": event_id, "type": event, "created_at": iso(at), "data": data},
                         ensure_ascii=False, separators=(",", ":"))
    for webhook_id, url in targets:
        await tx.execute(
            "INSERT OR IGNORE INTO outbox(event_id, tenant_id, webhook_id, url, event, payload, next_attempt_at, "
            "created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (event_id, tenant_id, webhook_id, url, event, payload, iso(at), iso(at), iso(at + MAX_AGE)),
        )
    return len(targets)


class WebhookHook:
    """The dispatcher's hook: every call event becomes an outbox row."""

    def __init__(self, now: Callable[[], datetime] = utcnow) -> None:
        self.now = now
        self.wake: Callable[[], None] | None = None

    async def call_event(self, tx: Tx, job: Row, event: str, data: dict[str, Any]) -> None:
        # the dispatcher's job rows carry the reminder's callback_url: no query per event
        body: dict[str, Any] = {"reminder_id": job["reminder_id"]}
        if event.startswith("call."):
            body.update(call_id=job["id"], user_id=job["user_id"], phone=job["phone"])
        body.update(data)
        if event == "reminder.completed":
            counts = await tx.fetchall(
                "SELECT status, COUNT(*) AS n FROM calls WHERE reminder_id = ? GROUP BY status", (job["reminder_id"],)
            )
            body["summary"] = {r["status"]: r["n"] for r in counts}
        if await enqueue(tx, job["tenant_id"], event, body, callback_url=job["callback_url"],
                         now=self.now()) and self.wake is not None:
            self.wake()
