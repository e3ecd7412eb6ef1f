"""SIP faults from the simulator, through the whole service: each ends in the
right status and cause, with its CDR, and costs only what was answered."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from voicebridge.api.keys import SERVICES
from voicebridge.store import calls as callstore

# callee suffix → simulator rule, expected (status, cause, sip code)
FAULTS = {
    "1001": ({"action": "silent"}, ("failed", "no_response", None)),
    "1002": ({"action": "reject", "code": 503, "ring": False}, ("failed", "carrier_error", 503)),
    "1003": ({"action": "answer", "drop": 0.1}, ("completed", "prompt_finished", 200)),
    "1004": ({"action": "answer", "answer_bye": False}, ("completed", "prompt_finished", 200)),
    "1005": ({"action": "answer", "hangup_after": 0.5}, ("completed", "normal_clearing", 200)),
    "1006": ({"action": "answer", "sdp": False}, ("failed", "bad_sdp", 200)),
}


@pytest.mark.timeout(90)
async def test_sip_faults_end_right_with_a_cdr(make_settings: Any, aiohttp_client: Any) -> None:
    from voicebridge.app import build_app
    from voicebridge.tenancy import new_tenant

    rules = [{"suffix": suffix, "ring_delay": 0.1, "silence_hangup": None, **rule}
             for suffix, (rule, _) in FAULTS.items()]
    app = build_app(make_settings(simulator={"rules": rules}, sip={"t1": 0.05, "timer_b": 1.0}))
    client = await aiohttp_client(app)
    services = app[SERVICES]
    t = await new_tenant(services.store, services.secret, "Faults", sandbox=True)
    h = {"Authorization": f"Bearer {t.api_key}"}
    recipients = [{"user_id": f"u{s}", "phone": f"1380013{s}"} for s in FAULTS]
    resp = await client.post("/v1/reminders", headers=h, json={
        "group_id": "g", "message_id": "m", "sender": {"user_id": "s", "name": "S"}, "language": "en",
        "text": "Short", "recipients": recipients})
    assert resp.status == 202
    rid = (await resp.json())["id"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        view = await (await client.get(f"/v1/reminders/{rid}", headers=h)).json()
        if view["status"] != "active":
            break
        await asyncio.sleep(0.1)
    assert view["status"] == "completed", view
    cdrs = {c["callee"][-4:]: c for c in await callstore.cdrs_for_reminder(services.store, rid)}
    assert set(cdrs) == set(FAULTS)  # one CDR for every attempt, whatever happened
    for suffix, (_, (status, cause, code)) in FAULTS.items():
        call = next(c for c in view["calls"] if c["phone"].endswith(suffix))
        assert (call["status"], call["cause"], call["sip_code"]) == (status, cause, code), (suffix, call)
        cdr = cdrs[suffix]
        if status == "completed":
            assert cdr["charge_fen"] == 18 and cdr["billable_ms"] > 0
        else:
            assert cdr["charge_fen"] == 0 and cdr["billable_ms"] == 0
    # far-end BYE during the prompt: the callee hung up and the talk time is short
    assert cdrs["1005"]["hangup_by"] == "callee" and cdrs["1005"]["billable_ms"] < 2000
    # a lost BYE ends the call anyway; talk time stops at our BYE, not at timer F
    assert cdrs["1004"]["hangup_by"] == "caller"
    assert abs(cdrs["1004"]["billable_ms"] - cdrs["1003"]["billable_ms"]) < 1000  # timer F would add 3.2 s
