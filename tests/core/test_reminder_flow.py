"""A reminder through the real SIP simulator over UDP to its terminal states."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from voicebridge.api.keys import SERVICES
from voicebridge.store import calls as callstore
from voicebridge.store import ledger

EXPECT = {
    "+8613800138000": ("completed", "no charge-free"),
    "+8613800138005": ("busy", 486),
    "+8613800138006": ("no_answer", None),
    "+8613800138007": ("rejected", 603),
    "+8613800138008": ("completed", None),
    "+8613800138009": ("unreachable", 480),
}


async def wait_done(client: Any, rid: str, key: str, timeout: float = 40.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        resp = await client.get(f"/v1/reminders/{rid}", headers={"Authorization": f"Bearer {key}"})
        view = await resp.json()
        if view["status"] != "active":
            return view
        await asyncio.sleep(0.1)
    raise AssertionError(f"reminder still active: {view}")


async def test_five_outcomes_with_cdrs_and_charges(service: Any, sandbox: Any) -> None:
    services = service.server.app[SERVICES]
    opening = await ledger.balance(services.store, sandbox.tenant["id"])
    recipients = [{"user_id": f"u{p[-1]}", "phone": p} for p in EXPECT]
    resp = await service.post(
        "/v1/reminders",
        json={"group_id": "g", "message_id": "m", "sender": {"user_id": "s", "name": "张三"},
              "text": "这是一条测试消息", "recipients": recipients},
        headers={"Authorization": f"Bearer {sandbox.api_key}"},
    )
    assert resp.status == 202
    rid = (await resp.json())["id"]
    view = await wait_done(service, rid, sandbox.api_key)
    assert view["status"] == "completed"
    by_phone = {c["phone"]: c for c in view["calls"]}
    for phone, (status, code) in EXPECT.items():
        call = by_phone[phone]
        assert call["status"] == status, (phone, call)
        if isinstance(code, int):
            assert call["sip_code"] == code, (phone, call)
    assert by_phone["+8613800138008"]["replays"] >= 1
    assert by_phone["+8613800138008"]["digits"].startswith("1")
    assert by_phone["+8613800138000"]["talk_seconds"] > 1

    cdrs = await callstore.cdrs_for_reminder(services.store, rid)
    assert len(cdrs) == len(EXPECT)  # one CDR per attempt
    for cdr in cdrs:
        assert cdr["caller"] == sandbox.number
        assert cdr["session_id"]
        if cdr["status"] == "answered":
            minutes = -(-cdr["billable_ms"] // 60000)
            assert cdr["charge_fen"] == 18 * minutes > 0
        else:
            assert cdr["charge_fen"] == 0 and cdr["billable_ms"] == 0
    closing = await ledger.balance(services.store, sandbox.tenant["id"])
    assert opening - closing == sum(c["charge_fen"] for c in cdrs)

    # the simulated phones heard the whole prompt, and twice after pressing 1
    sim = services.simulator
    once = sim.last_call("+8613800138000")
    twice = sim.last_call("+8613800138008")
    assert once.plays == 1
    assert twice.plays == 2
