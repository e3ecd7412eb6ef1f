"""Done-when of issue 5: from nothing to a reminder call through the API alone, and
the callee (the SIP simulator) sees the issued number as caller ID."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from voicebridge.api.keys import SERVICES

CALLEE = "+8613800138005"  # the simulator answers ...5 with 486 Busy: a short call that still shows its caller


async def _until(predicate: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_new_tenant_to_a_call_showing_its_issued_number(flow: Any) -> None:
    c, a = flow.client, flow.auth
    resp = await c.post("/v1/tenants", json={"name": "示例科技"}, headers=a(flow.op))
    tenant = await resp.json()
    tid, key = tenant["id"], tenant["api_key"]
    assert tenant["balance_fen"] == 0
    await flow.load_pool([("010 5888 9911", "北京"), ("021 5888 9912", "Shanghai")])

    issued = await flow.onboard(key, tid, city="Beijing")
    assert issued == ["+861058889911"]
    resp = await c.post(f"/v1/tenants/{tid}/topups", json={"amount_fen": 1000, "reference": "pay-1"}, headers=a(flow.op))
    assert resp.status == 201

    resp = await c.post("/v1/reminders", headers=a(key), json={
        "group_id": "g-1", "message_id": "m-1", "sender": {"user_id": "u-zhang", "name": "张三"},
        "text": "这是一条测试消息", "recipients": [{"user_id": "u-li", "phone": "138 0013 8005"}]})
    assert resp.status == 202, await resp.text()
    accepted = await resp.json()
    assert accepted["caller"] == issued[0]

    sim = c.server.app[SERVICES].simulator
    await _until(lambda: sim.by_callee(CALLEE) and sim.by_callee(CALLEE)[-1].final_code is not None)
    seen = sim.by_callee(CALLEE)[-1]
    assert seen.caller == issued[0], seen
    assert seen.pai == issued[0], seen
    assert seen.final_code == 486

    async def done() -> dict[str, Any]:
        while True:
            view = await (await c.get(f"/v1/reminders/{accepted['id']}", headers=a(key))).json()
            if view["status"] != "active":
                return view
            await asyncio.sleep(0.05)

    view = await asyncio.wait_for(done(), 20)
    assert view["calls"][0]["status"] == "busy" and view["caller"] == issued[0]
