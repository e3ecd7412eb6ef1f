"""Interop: our UAC (through run_call, as ``voicebridge call`` uses it) against SIPp UAS scenarios."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from voicebridge.dialer.cli_call import outcome_to_json, run_call
from voicebridge.g711 import tone_frames
from voicebridge.dialer.settings import SipSettings
from voicebridge.domain import Cause, HangupBy, Outcome

pytestmark = [pytest.mark.sipp, pytest.mark.timeout(30)]

PROMPT = tone_frames(440.0, 0.8)
FAST = SipSettings(t1=0.1, timer_b=6.4, rtp_port_min=0)
CALLER = "+861012345678"


async def call(sipp: Any, callee: str = "+8613800000000", **kw: Any) -> Any:
    kw.setdefault("ring_timeout", 5.0)
    kw.setdefault("max_duration", 10.0)
    kw.setdefault("replay_wait", 0.4)
    kw.setdefault("settings", FAST)
    user, password = kw.pop("user", None), kw.pop("password", None)
    return await run_call(callee, "127.0.0.1", sipp.port, CALLER, PROMPT, kw.pop("ring_timeout"),
                          kw.pop("max_duration"), user, password, **kw)


async def finished(sipp: Any) -> int:
    return await asyncio.get_running_loop().run_in_executor(None, sipp.wait, 10.0)


async def test_answer_and_hold_until_we_hang_up(sipp_uas: Any) -> None:
    sipp = sipp_uas("uas_answer.xml")
    out = await call(sipp)
    assert (out.status, out.cause, out.sip_code, out.hangup_by) == (
        Outcome.ANSWERED, Cause.PROMPT_FINISHED, 200, HangupBy.CALLER)
    assert out.media["packets_sent"] == len(PROMPT)
    assert 1.1 <= out.billable_ms / 1000 < 3.0  # prompt 0.8 s + replay wait 0.4 s
    assert await finished(sipp) == 0, sipp.log()
    js = outcome_to_json(out)
    assert js["status"] == "answered" and js["billable_minutes"] == 1 and js["hangup_by"] == "caller"
    assert js["answered_at"].endswith("+00:00")


@pytest.mark.parametrize(("scenario", "status", "cause", "code", "q850"), [
    ("uas_busy.xml", Outcome.BUSY, Cause.USER_BUSY, 486, 17),
    ("uas_decline.xml", Outcome.REJECTED, Cause.CALL_REJECTED, 603, 21),
])
async def test_refusals(sipp_uas: Any, scenario: str, status: Outcome, cause: str, code: int, q850: int) -> None:
    sipp = sipp_uas(scenario)
    out = await call(sipp)
    assert (out.status, out.cause, out.sip_code, out.q850, out.hangup_by) == (status, cause, code, q850,
                                                                              HangupBy.CALLEE)
    assert await finished(sipp) == 0, sipp.log()  # SIPp got its ACK


async def test_ring_timeout_cancel_487(sipp_uas: Any) -> None:
    sipp = sipp_uas("uas_ring_cancel.xml")
    out = await call(sipp, ring_timeout=0.6)
    assert (out.status, out.cause, out.sip_code, out.hangup_by) == (
        Outcome.NO_ANSWER, Cause.RING_TIMEOUT, 487, HangupBy.CALLER)
    assert out.alerting_at is not None and out.answered_at is None
    assert await finished(sipp) == 0, sipp.log()


async def test_rfc4733_digit_then_far_end_bye(sipp_uas: Any) -> None:
    sipp = sipp_uas("uas_dtmf_bye.xml")
    out = await call(sipp, replay_wait=3.0)
    assert (out.status, out.cause, out.hangup_by, out.digits, out.replays) == (
        Outcome.ANSWERED, Cause.NORMAL_CLEARING, HangupBy.CALLEE, "1", 1)
    assert out.media["dtmf_events"] == 1
    assert await finished(sipp) == 0, sipp.log()


async def test_407_challenge(sipp_uas: Any) -> None:
    sipp = sipp_uas("uas_407.xml")
    out = await call(sipp, user="vbuser", password="s3cret")
    assert (out.status, out.cause) == (Outcome.ANSWERED, Cause.PROMPT_FINISHED)
    assert await finished(sipp) == 0, sipp.log()  # the <ereg check_it> on Proxy-Authorization held


async def test_407_without_credentials(sipp_uas: Any) -> None:
    sipp = sipp_uas("uas_407.xml", timeout_s=3)
    out = await call(sipp)
    assert (out.status, out.cause, out.sip_code) == (Outcome.FAILED, Cause.AUTH_FAILED, 407)


async def test_no_response_is_timer_b(sipp_uas: Any) -> None:
    sipp = sipp_uas("uas_silent.xml")
    out = await call(sipp, settings=SipSettings(t1=0.05, timer_b=1.0, rtp_port_min=0))
    assert (out.status, out.cause, out.sip_code, out.hangup_by) == (
        Outcome.FAILED, Cause.NO_RESPONSE, None, HangupBy.NETWORK)
    assert 0.9 <= out.duration_ms / 1000 < 10.0  # gave up at timer B (1 s here), not at the default 32 s
    assert await finished(sipp) == 0, sipp.log()
