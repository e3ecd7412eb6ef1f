"""kill -9 the service with 200 calls in progress and more queued; restart.

Every recipient ends in a terminal state, there is exactly one CDR per attempt
and one ledger entry per charged CDR, the balance reconciles, and every webhook
event is delivered at least once, redeliveries carrying the same event id.
The webhook receiver runs in this test process, so it outlives the kill.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

sys.path.insert(0, str(Path(__file__).parent))
from test_restart_recovery import free_port, http, prepare, start  # noqa: E402

IN_FLIGHT = 200


class Receiver(threading.Thread):
    """An aiohttp webhook receiver on its own loop and thread."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.port = free_port()
        self.events: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.ready = threading.Event()
        self.loop = asyncio.new_event_loop()

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        assert request.headers["X-Voicebridge-Event-Id"] == body["id"]
        self.events[body["id"]].append(body)
        return web.Response(status=204)

    def run(self) -> None:
        asyncio.set_event_loop(self.loop)
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        runner = web.AppRunner(app, access_log=None)
        self.loop.run_until_complete(runner.setup())
        self.loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", self.port).start())
        self.ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(runner.cleanup())
        self.loop.close()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.join(timeout=10)


@pytest.mark.timeout(240)
def test_kill_9_with_200_calls_in_progress(tmp_path: Path) -> None:
    data_dir, config, key = prepare(
        tmp_path,
        f"[dialer]\nchannels = {IN_FLIGHT}\ncalls_per_second = 400.0\nring_timeout = 60.0\npoll_interval = 0.05\n"
        "replay_wait = 0.5\n[webhooks]\nbase_delay = 0.2\npoll_interval = 0.2\n[limits]\nrequests_per_second = 1000.0\n"
        "request_burst = 1000.0\n",
    )
    receiver = Receiver()
    receiver.start()
    assert receiver.ready.wait(10)
    port = free_port()
    proc = start(data_dir, port, config)
    base = f"http://127.0.0.1:{port}"
    try:
        status, _ = http("POST", f"{base}/v1/webhooks", key, {"url": f"http://127.0.0.1:{receiver.port}/hook"})
        assert status == 201
        # 200 phones that ring and never answer fill every channel; 40 more wait behind them:
        # after the restart 20 of those answer and are charged, 20 are busy
        rids = []
        for batch in range(6):
            recipients = [{"user_id": f"r{batch}-{i}", "phone": f"139{batch:02d}{i:05d}6"} for i in range(40)]
            if batch == 5:
                recipients = [{"user_id": f"q-{i}", "phone": f"13700{i:05d}{0 if i % 2 else 5}"} for i in range(40)]
            status, accepted = http("POST", f"{base}/v1/reminders", key, {
                "group_id": "g", "message_id": f"m{batch}", "sender": {"user_id": "s", "name": "S"},
                "text": "测试", "recipients": recipients})
            assert status == 202, accepted
            rids.append(accepted["id"])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            ringing = sum(
                c["status"] == "ringing"
                for rid in rids[:5] for c in http("GET", f"{base}/v1/reminders/{rid}", key)[1]["calls"])
            if ringing == IN_FLIGHT:
                break
            time.sleep(0.2)
        else:
            raise AssertionError(f"only {ringing} calls ringing")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()

    config.write_text(config.read_text().replace("ring_timeout = 60.0", "ring_timeout = 1.0"))
    port = free_port()
    proc = start(data_dir, port, config)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        views: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            views = [http("GET", f"{base}/v1/reminders/{rid}", key)[1] for rid in rids]
            if all(v["status"] != "active" for v in views):
                break
            time.sleep(0.5)
        calls = [c for v in views for c in v["calls"]]
        assert len(calls) == 240
        assert all(c["status"] in ("failed", "completed", "busy", "no_answer") for c in calls), \
            {c["status"] for c in calls}
        restarted = [c for c in calls if c["cause"] == "service_restart"]
        assert len(restarted) == IN_FLIGHT
        assert sum(c["status"] == "completed" for c in calls) == 20
        # every webhook delivered at least once
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            status, pending = http("GET", f"{base}/v1/webhooks/deliveries?state=pending&limit=10", key)
            if not pending["deliveries"]:
                break
            time.sleep(0.3)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
        receiver.stop()

    db = sqlite3.connect(data_dir / "voicebridge.sqlite3")
    cdrs = db.execute("SELECT call_id, attempt, charge_fen FROM cdrs").fetchall()
    assert len(cdrs) == 240 and len({(c, a) for c, a, _ in cdrs}) == 240  # one CDR per attempt
    attempts = db.execute("SELECT SUM(attempts) FROM calls").fetchone()[0]
    assert attempts == 240
    charges = db.execute("SELECT reference, amount_fen FROM ledger WHERE kind = 'call_charge'").fetchall()
    charged = {f"cdr:{c}:{a}": f for c, a, f in cdrs if f}
    assert len(charges) == len(charged) == 20  # one ledger entry per charged CDR
    assert all(charged[ref] == -amount for ref, amount in charges)
    balance = db.execute("SELECT SUM(amount_fen) FROM ledger").fetchone()[0]
    assert balance == 10000 - sum(charged.values())
    outbox = db.execute("SELECT event_id, state FROM outbox").fetchall()
    assert outbox and all(state == "delivered" for _, state in outbox)
    assert {e for e, _ in outbox} <= set(receiver.events)  # each event reached the receiver
    assert all(len({b["type"] for b in bodies}) == 1 for bodies in receiver.events.values())
    completed = [b[0] for b in receiver.events.values() if b[0]["type"] == "call.completed"]
    assert sum(b["data"]["cdr"]["cause"] == "service_restart" for b in completed) == IN_FLIGHT
