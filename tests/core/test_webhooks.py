"""Signed status webhooks through the outbox, to a real receiver on loopback."""

from __future__ import annotations

import asyncio
import json
import random
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from voicebridge.api.keys import SERVICES
from voicebridge.webhooks.delivery import WebhookSender, WebhookSettings, backoff
from voicebridge.webhooks.signing import sign, verify


def test_signature_round_trip() -> None:
    body = b'{"id":"evt_1"}'
    header = sign("whsec_x", 1_700_000_000, body)
    assert header.startswith("t=1700000000,v1=")
    assert verify("whsec_x", header, body, now=1_700_000_100)
    assert not verify("whsec_y", header, body, now=1_700_000_100)  # wrong secret
    assert not verify("whsec_x", header, body + b" ", now=1_700_000_100)  # body changed
    assert not verify("whsec_x", header, body, now=1_700_001_000)  # too old: a replay
    assert not verify("whsec_x", "garbage", body, now=1_700_000_000)


def test_backoff_grows_with_jitter_and_caps() -> None:
    s = WebhookSettings(base_delay=5.0, max_delay=60.0)
    rng = random.Random(1)
    firsts = [backoff(1, s, rng) for _ in range(50)]
    assert all(2.5 <= d <= 5.0 for d in firsts) and len(set(firsts)) > 1
    assert all(d <= 60.0 for d in (backoff(20, s, rng) for _ in range(50)))


class Receiver:
    def __init__(self, fail_first: int = 0, status: int = 500) -> None:
        self.got: list[tuple[dict[str, str], bytes]] = []
        self.fail_first = fail_first
        self.status = status

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.got.append((dict(request.headers), body))
        if len(self.got) <= self.fail_first:
            return web.Response(status=self.status)
        return web.Response(status=204)

    def events(self) -> list[str]:
        return [json.loads(b)["type"] for _, b in self.got]


async def moved(request: web.Request) -> web.Response:
    raise web.HTTPFound("/hook")


async def receiver_server(rx: Receiver) -> TestServer:
    app = web.Application()
    app.router.add_post("/hook", rx.handle)
    app.router.add_post("/moved", moved)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return server


async def until(cond: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def test_call_events_are_signed_and_delivered(service: Any, sandbox: Any) -> None:
    rx = Receiver()
    server = await receiver_server(rx)
    try:
        h = {"Authorization": f"Bearer {sandbox.api_key}"}
        resp = await service.post("/v1/webhooks", json={"url": str(server.make_url("/hook")), "events": ["*"]}, headers=h)
        assert resp.status == 201
        secret = (await resp.json())["signing_secret"]
        resp = await service.post("/v1/reminders", headers=h, json={
            "group_id": "g", "message_id": "m", "sender": {"user_id": "s", "name": "S"}, "text": "测试",
            "recipients": [{"user_id": "u", "phone": "13800138008"}]})
        assert resp.status == 202
        await until(lambda: "reminder.completed" in rx.events(), 40)
        events = rx.events()
        assert events[:3] == ["call.calling", "call.ringing", "call.answered"]
        assert "call.dtmf" in events and events.index("call.completed") < events.index("reminder.completed")
        now = int(time.time())
        for headers, body in rx.got:
            assert verify(secret, headers["X-Voicebridge-Signature"], body, now)
            assert headers["X-Voicebridge-Event-Id"] == json.loads(body)["id"]
        completed = next(json.loads(b) for _, b in rx.got if json.loads(b)["type"] == "call.completed")
        assert completed["data"]["cdr"]["charge_fen"] == 18 and completed["data"]["status"] == "completed"
    finally:
        await server.close()


async def test_retry_then_dead_then_redeliver(service: Any, sandbox: Any) -> None:
    rx = Receiver(fail_first=10**6, status=503)
    server = await receiver_server(rx)
    services = service.server.app[SERVICES]
    try:
        h = {"Authorization": f"Bearer {sandbox.api_key}"}
        await service.post("/v1/webhooks", json={"url": str(server.make_url("/hook")), "events": ["call.blocked"]},
                           headers=h)
        from voicebridge.webhooks.outbox import enqueue

        async with services.store.transaction() as tx:
            await enqueue(tx, sandbox.tenant["id"], "call.blocked", {"call_id": "c1"})
        clock = [datetime.now(timezone.utc)]
        sender = WebhookSender(services.store, WebhookSettings(base_delay=1.0, max_delay=3600.0),
                               now=lambda: clock[0], rng=random.Random(7))
        await sender.start()
        try:
            await until(lambda: len(rx.got) >= 1)
            for _ in range(40):  # walk the clock through a day of back-off
                clock[0] += timedelta(hours=1)
                await sender.deliver_due()
            resp = await service.get("/v1/webhooks/deliveries?state=dead", headers=h)
            dead = (await resp.json())["deliveries"]
            assert len(dead) == 1 and dead[0]["last_error"] == "HTTP 503" and dead[0]["attempts"] > 3
            first_ids = {hd["X-Voicebridge-Event-Id"] for hd, _ in rx.got}
            assert len(first_ids) == 1  # every retry carries the same event id
            rx.fail_first = 0
            resp = await service.post(f"/v1/webhooks/deliveries/{dead[0]['id']}/redeliver", headers=h)
            assert resp.status == 202
            await sender.deliver_due()
            resp = await service.get("/v1/webhooks/deliveries?state=delivered", headers=h)
            assert [d["event_id"] for d in (await resp.json())["deliveries"]] == [dead[0]["event_id"]]
        finally:
            await sender.close()
    finally:
        await server.close()


async def test_redirects_are_not_followed(service: Any, sandbox: Any) -> None:
    rx = Receiver()
    server = await receiver_server(rx)
    services = service.server.app[SERVICES]
    try:
        h = {"Authorization": f"Bearer {sandbox.api_key}"}
        await service.post("/v1/webhooks", json={"url": str(server.make_url("/moved"))}, headers=h)
        from voicebridge.webhooks.outbox import enqueue

        async with services.store.transaction() as tx:
            await enqueue(tx, sandbox.tenant["id"], "call.blocked", {"call_id": "c1"})
        sender = WebhookSender(services.store, WebhookSettings())
        await sender.start()
        try:
            await sender.deliver_due()
        finally:
            await sender.close()
        assert rx.got == []  # the 302 was a failure, not a trip to another URL
        row = await services.store.fetchone("SELECT state, last_error FROM outbox WHERE url LIKE '%/moved'")
        assert row == {"state": "pending", "last_error": "HTTP 302"}
    finally:
        await server.close()


async def test_webhook_input_is_checked(service: Any, sandbox: Any) -> None:
    h = {"Authorization": f"Bearer {sandbox.api_key}"}
    for bad, field in (({"url": "ftp://x"}, "url"), ({"url": "http://h/x", "events": ["call.nope"]}, "events/0"),
                       ({"url": "http://u:p@h/x"}, "url")):
        resp = await service.post("/v1/webhooks", json=bad, headers=h)
        assert resp.status == 422
        assert field in [e["field"] for e in (await resp.json())["errors"]]


async def test_reminder_callback_url_gets_its_events(service: Any, sandbox: Any) -> None:
    rx = Receiver()
    server = await receiver_server(rx)
    try:
        resp = await service.post("/v1/reminders", headers={"Authorization": f"Bearer {sandbox.api_key}"}, json={
            "group_id": "g", "message_id": "m", "sender": {"user_id": "s", "name": "S"}, "text": "测试",
            "callback_url": str(server.make_url("/hook")), "recipients": [{"user_id": "u", "phone": "13800138005"}]})
        assert resp.status == 202
        await until(lambda: "reminder.completed" in rx.events())
        assert rx.events() == ["call.calling", "call.completed", "reminder.completed"]  # busy: no ringing
    finally:
        await server.close()
