from __future__ import annotations

from typing import Any

import pytest

from voicebridge.dialer.cli_call import outcome_to_json, run_call
from voicebridge.dialer.settings import SipSettings

from .conftest import PROMPT

pytestmark = pytest.mark.timeout(15)


async def test_run_call_against_simulator_press_1(sim_factory: Any) -> None:
    sim = await sim_factory([{"suffix": "8", "dtmf": [[0.2, "1"]]}])
    out = await run_call("+8613800000008", "127.0.0.1", sim.port, "+861012345678", PROMPT, 3.0, 10.0,
                         replay_wait=0.3, settings=SipSettings(t1=0.1, rtp_port_min=0))
    js = outcome_to_json(out)
    assert {k: js[k] for k in ("status", "cause", "sip_code", "q850", "digits", "replays", "hangup_by")} == {
        "status": "answered", "cause": "prompt_finished", "sip_code": 200, "q850": 16, "digits": "1",
        "replays": 1, "hangup_by": "caller"}
    assert js["billable_minutes"] == 1 and 1.0 < js["billable_seconds"] < 4.0
    assert js["session_id"] in sim.calls and sim.calls[js["session_id"]].plays == 2


async def test_run_call_busy_json(sim_factory: Any) -> None:
    sim = await sim_factory()
    out = await run_call("+8613800000005", "127.0.0.1", sim.port, "+861012345678", PROMPT, 3.0, 10.0, None, None)
    js = outcome_to_json(out)
    assert (js["status"], js["cause"], js["sip_code"], js["answered_at"], js["billable_seconds"],
            js["billable_minutes"]) == ("busy", "user_busy", 486, None, 0.0, 0)
