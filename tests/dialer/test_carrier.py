"""SipCarrier end to end against the built-in simulator on loopback."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest

from voicebridge.domain import CallEvent, Cause, HangupBy, Outcome

from .conftest import PROMPT, Recorder, request, sha

pytestmark = pytest.mark.timeout(15)


async def test_answered_call_hears_whole_prompt_then_callee_hangs_up(sim_factory: Any, carrier_factory: Any) -> None:
    sim = await sim_factory()
    carrier = await carrier_factory(sim)
    rec = Recorder()
    out = await carrier.dial(request("+8613800000000"), rec)
    assert (out.status, out.cause, out.hangup_by, out.sip_code, out.q850) == (
        Outcome.ANSWERED, Cause.NORMAL_CLEARING, HangupBy.CALLEE, 200, 16)
    assert rec.kinds == ["calling", "ringing", "answered", "ended"]
    assert out.started_at <= out.alerting_at <= out.answered_at <= out.ended_at  # type: ignore[operator]
    assert out.started_at.tzinfo is not None
    assert out.media["packets_sent"] == len(PROMPT) and out.media["plays_completed"] == 1
    call = sim.calls[out.session_id]
    assert call.rtp_packets == len(PROMPT) and call.audio_seconds == pytest.approx(0.6)
    assert call.payload_sha256 == sha(PROMPT)
    assert (call.plays, call.starts, call.hangup_by) == (1, 1, "callee")
    assert call.caller == "+861012345678" and call.pai == "+861012345678"
    assert 0.55 <= out.billable_ms / 1000 < 2.5


async def test_caller_hangs_up_after_replay_wait(sim_factory: Any, carrier_factory: Any) -> None:
    sim = await sim_factory(silence_hangup=5.0)
    carrier = await carrier_factory(sim)
    out = await carrier.dial(request("+8613800000001", replay_wait=0.3), Recorder())
    assert (out.status, out.cause, out.hangup_by) == (Outcome.ANSWERED, Cause.PROMPT_FINISHED, HangupBy.CALLER)
    call = await sim.wait_ended(out.session_id)
    assert (call.plays, call.hangup_by) == (1, "caller")


async def test_press_1_replays_whole_prompt(sim_factory: Any, carrier_factory: Any) -> None:
    sim = await sim_factory([{"suffix": "8", "dtmf": [[0.3, "1"]]}])
    carrier = await carrier_factory(sim)
    rec = Recorder()
    out = await carrier.dial(request("+8613800000008"), rec)
    assert (out.status, out.digits, out.replays) == (Outcome.ANSWERED, "1", 1)
    assert rec.kinds == ["calling", "ringing", "answered", "dtmf", "replayed", "ended"]
    assert rec.events[3].digit == "1" and rec.events[4].replays == 1
    call = sim.calls[out.session_id]
    assert (call.plays, call.starts, call.digits_sent) == (2, 2, "1")
    assert call.rtp_packets == 2 * len(PROMPT) and call.payload_sha256 == sha(PROMPT * 2)


async def test_default_magic_8_presses_two_seconds_in(sim_factory: Any, carrier_factory: Any) -> None:
    sim = await sim_factory()
    carrier = await carrier_factory(sim)
    from voicebridge.g711 import tone_frames

    prompt = tone_frames(300.0, 2.4)
    out = await carrier.dial(request("+8613800000008", prompt=prompt), Recorder())
    assert (out.digits, out.replays) == ("1", 1)
    call = sim.calls[out.session_id]
    assert (call.plays, call.hangup_by) == (2, "callee")
    assert call.payload_sha256 == sha(prompt * 2)


async def test_barge_in_restarts_at_once(sim_factory: Any, carrier_factory: Any) -> None:
    sim = await sim_factory([{"suffix": "8", "dtmf": [[0.3, "1"]]}])
    carrier = await carrier_factory(sim, barge_in=True)
    out = await carrier.dial(request("+8613800000008"), Recorder())
    assert out.replays == 1
    call = sim.calls[out.session_id]
    assert (call.starts, call.plays) == (2, 1)  # the first play was cut short
    assert len(PROMPT) < call.rtp_packets < 2 * len(PROMPT)


async def test_replays_are_capped(sim_factory: Any, carrier_factory: Any) -> None:
    sim = await sim_factory([{"suffix": "8", "dtmf": [[0.2, "1"], [1.3, "1"], [2.4, "1"]], "silence_hangup": 1.5}])
    carrier = await carrier_factory(sim)
    out = await carrier.dial(request("+8613800000008", max_replays=1, replay_wait=0.3), Recorder())
    assert out.replays == 1 and out.digits.startswith("11")
    assert sim.calls[out.session_id].plays == 2


async def test_info_dtmf(sim_factory: Any, carrier_factory: Any) -> None:
    sim = await sim_factory([{"suffix": "3", "dtmf": [[0.2, "1"]], "dtmf_mode": "info"}])
    carrier = await carrier_factory(sim)
    out = await carrier.dial(request("+8613800000003"), Recorder())
    assert (out.digits, out.replays) == ("1", 1)
    assert sim.calls[out.session_id].plays == 2


@pytest.mark.parametrize(
    ("callee", "status", "cause", "code"),
    [
        ("+8613800000005", Outcome.BUSY, Cause.USER_BUSY, 486),
        ("+8613800000007", Outcome.REJECTED, Cause.CALL_REJECTED, 603),
        ("+8613800000009", Outcome.UNREACHABLE, Cause.UNREACHABLE, 480),
    ],
)
async def test_magic_refusals(sim_factory: Any, carrier_factory: Any, callee: str, status: Outcome, cause: str,
                              code: int) -> None:
    sim = await sim_factory()
    carrier = await carrier_factory(sim)
    out = await carrier.dial(request(callee), Recorder())
    assert (out.status, out.cause, out.sip_code, out.hangup_by) == (status, cause, code, HangupBy.CALLEE)
    assert out.answered_at is None and out.billable_ms == 0
    assert sim.calls[out.session_id].final_code == code


async def test_ring_timeout_cancels(sim_factory: Any, carrier_factory: Any) -> None:
    sim = await sim_factory()
    carrier = await carrier_factory(sim)
    rec = Recorder()
    out = await carrier.dial(request("+8613800000006", ring_timeout=0.4), rec)
    assert (out.status, out.cause, out.sip_code, out.hangup_by) == (
        Outcome.NO_ANSWER, Cause.RING_TIMEOUT, 487, HangupBy.CALLER)
    assert 0.35 <= (out.ended_at - out.started_at).total_seconds() < 1.5
    assert rec.kinds == ["calling", "ringing", "ended"]
    assert sim.calls[out.session_id].result == "cancelled"


@pytest.mark.parametrize("code", [401, 407])
async def test_digest_challenge(sim_factory: Any, carrier_factory: Any, code: int) -> None:
    sim = await sim_factory([{"prefix": "+86", "challenge": code, "username": "u1", "password": "pw",
                              "algorithm": "SHA-256"}])
    carrier = await carrier_factory(sim, username="u1", password="pw")
    out = await carrier.dial(request("+8613800000000", replay_wait=0.2), Recorder())
    assert out.status is Outcome.ANSWERED
    call = sim.calls[out.session_id]
    assert (call.invites, call.auth_ok) == (2, True)


async def test_wrong_password_is_auth_failed(sim_factory: Any, carrier_factory: Any) -> None:
    sim = await sim_factory([{"prefix": "+86", "challenge": 407, "username": "u1", "password": "pw"}])
    carrier = await carrier_factory(sim, username="u1", password="nope")
    out = await carrier.dial(request("+8613800000000"), Recorder())
    assert (out.status, out.cause, out.sip_code) == (Outcome.FAILED, Cause.AUTH_FAILED, 407)


async def test_503_and_no_response(sim_factory: Any, carrier_factory: Any) -> None:
    sim = await sim_factory([{"exact": "+861", "action": "reject", "code": 503, "ring": False},
                             {"exact": "+862", "action": "silent"}])
    carrier = await carrier_factory(sim, timer_b=0.8)
    out1, out2 = await asyncio.gather(carrier.dial(request("+861", "a"), Recorder()),
                                      carrier.dial(request("+862", "b"), Recorder()))
    assert (out1.status, out1.cause, out1.sip_code, out1.hangup_by) == (
        Outcome.FAILED, Cause.CARRIER_ERROR, 503, HangupBy.NETWORK)
    assert (out2.status, out2.cause, out2.sip_code, out2.q850) == (Outcome.FAILED, Cause.NO_RESPONSE, None, 102)
    assert 0.75 <= (out2.ended_at - out2.started_at).total_seconds() < 1.5
    assert sim.calls[out2.session_id].invites == 1


async def test_200_without_sdp_is_bad_sdp(sim_factory: Any, carrier_factory: Any) -> None:
    sim = await sim_factory([{"suffix": "0", "sdp": False}])
    carrier = await carrier_factory(sim)
    out = await carrier.dial(request("+8613800000000"), Recorder())
    assert (out.status, out.cause, out.sip_code, out.hangup_by) == (
        Outcome.FAILED, Cause.BAD_SDP, 200, HangupBy.CALLER)
    assert (await sim.wait_ended(out.session_id)).hangup_by == "caller"


async def test_abort_before_and_after_answer(sim_factory: Any, carrier_factory: Any) -> None:
    sim = await sim_factory(silence_hangup=5.0)
    carrier = await carrier_factory(sim)
    ring = asyncio.ensure_future(carrier.dial(request("+8613800000006", "r"), Recorder()))
    talk_events = Recorder()
    talk = asyncio.ensure_future(carrier.dial(request("+8613800000000", "t", replay_wait=5), talk_events))
    await asyncio.sleep(0.5)
    assert "answered" in talk_events.kinds
    carrier.abort("r", "operator")
    carrier.abort("t", "balance_exhausted")
    carrier.abort("unknown", "x")  # no-op
    r, t = await asyncio.wait_for(asyncio.gather(ring, talk), 3)
    assert (r.status, r.cause, r.hangup_by) == (Outcome.CANCELLED, "operator", HangupBy.CALLER)
    assert (t.status, t.cause, t.hangup_by) == (Outcome.ANSWERED, "balance_exhausted", HangupBy.CALLER)
    assert sim.calls[t.session_id].hangup_by == "caller"


async def test_max_duration(sim_factory: Any, carrier_factory: Any) -> None:
    sim = await sim_factory(silence_hangup=5.0)
    carrier = await carrier_factory(sim)
    out = await carrier.dial(request("+8613800000000", max_duration=0.3, max_duration_cause="balance_exhausted"),
                             Recorder())
    assert (out.status, out.cause, out.hangup_by) == (Outcome.ANSWERED, "balance_exhausted", HangupBy.CALLER)
    assert 0.25 <= out.billable_ms / 1000 < 0.8
    call = await sim.wait_ended(out.session_id)
    assert call.plays == 0 and 0 < call.rtp_packets < len(PROMPT)


async def test_early_media_and_lossy_signalling(sim_factory: Any, carrier_factory: Any) -> None:
    sim = await sim_factory([{"suffix": "2", "early_media": True, "drop": 0.3}], seed=7)
    carrier = await carrier_factory(sim)
    outs = await asyncio.gather(*(carrier.dial(request(f"+86138000{i:02d}2", f"c{i}"), Recorder()) for i in range(6)))
    assert all(o.status is Outcome.ANSWERED for o in outs), [o.cause for o in outs]
    assert sim.dropped > 0


async def test_failing_and_async_callbacks_do_not_kill_the_call(sim_factory: Any, carrier_factory: Any) -> None:
    sim = await sim_factory()
    carrier = await carrier_factory(sim)
    seen: list[str] = []

    async def slow(event: CallEvent) -> None:
        await asyncio.sleep(0.01)
        seen.append(event.kind.value)
        if event.kind.value == "ringing":
            raise RuntimeError("boom")

    out = await carrier.dial(request("+8613800000000", replay_wait=0.2), slow)
    assert out.status is Outcome.ANSWERED
    assert seen == ["calling", "ringing", "answered", "ended"]


async def test_many_calls_one_socket_one_clock(sim_factory: Any, carrier_factory: Any) -> None:
    sim = await sim_factory()
    carrier = await carrier_factory(sim)
    n = 30
    calls = [carrier.dial(request(f"+8613900{i:04d}0", f"m{i}"), Recorder()) for i in range(n)]
    outs = await asyncio.gather(*calls)
    assert [o.status for o in outs] == [Outcome.ANSWERED] * n
    assert len({o.session_id for o in outs}) == n
    assert all(sim.calls[o.session_id].payload_sha256 == sha(PROMPT) for o in outs)
    tasks = [t.get_name() for t in asyncio.all_tasks()]
    assert tasks.count("media-clock") <= 1
    assert carrier.clock.percentile(0.99) < 0.05  # generous: CI machines are shared


async def test_close_hangs_up_live_calls(sim_factory: Any, carrier_factory: Any) -> None:
    sim = await sim_factory(silence_hangup=5.0)
    carrier = await carrier_factory(sim)
    rec = Recorder()
    task = asyncio.ensure_future(carrier.dial(request("+8613800000000", replay_wait=10), rec))
    await asyncio.sleep(0.3)
    assert carrier.bound and carrier.active_calls == 1
    await carrier.close()
    out = await asyncio.wait_for(task, 2)
    assert (out.status, out.cause, out.hangup_by) == (Outcome.ANSWERED, Cause.SHUTDOWN, HangupBy.CALLER)
    assert not carrier.bound
    assert sim.calls[out.session_id].hangup_by == "caller"
    await carrier.close()  # twice is fine


async def test_icmp_unreachable_fails_fast(carrier_factory: Any, sim_factory: Any) -> None:
    sim = await sim_factory()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    dead_port = s.getsockname()[1]
    s.close()
    sim.port = dead_port  # point the carrier at a closed port
    carrier = await carrier_factory(sim, timer_b=3.0)
    out = await carrier.dial(request("+8613800000000"), Recorder())
    assert (out.status, out.cause, out.q850, out.hangup_by) == (
        Outcome.FAILED, Cause.CARRIER_ERROR, 27, HangupBy.NETWORK)
    assert (out.ended_at - out.started_at).total_seconds() < 1.0  # not timer B
    assert carrier.bound  # the socket survives the ICMP error


async def test_abort_before_invite_sent(sim_factory: Any, carrier_factory: Any) -> None:
    sim = await sim_factory()
    carrier = await carrier_factory(sim)
    task = asyncio.ensure_future(carrier.dial(request("+8613800000000", "early"), Recorder()))
    await asyncio.sleep(0)  # dial is opening its RTP socket
    carrier.abort("early", "operator")
    out = await asyncio.wait_for(task, 2)
    assert (out.status, out.cause, out.sip_code, out.hangup_by) == (
        Outcome.CANCELLED, "operator", None, HangupBy.CALLER)
    await asyncio.sleep(0.1)
    assert sim.calls == {}


async def test_finished_calls_are_forgotten(sim_factory: Any, carrier_factory: Any) -> None:
    sim = await sim_factory()
    carrier = await carrier_factory(sim, t1=0.01)  # timer D = 64*T1 = 0.64 s
    outs = await asyncio.gather(carrier.dial(request("+8613800000000", "a"), Recorder()),
                                carrier.dial(request("+8613800000005", "b"), Recorder()))
    assert [o.hangup_by for o in outs] == [HangupBy.CALLEE, HangupBy.CALLEE]
    await asyncio.sleep(0.8)
    assert carrier.active_calls == 0
    assert carrier._by_sip == {} and carrier._transport._handlers == {}


async def test_rtp_port_range_from_settings(sim_factory: Any, carrier_factory: Any) -> None:
    sim = await sim_factory()
    carrier = await carrier_factory(sim, rtp_port_min=31000, rtp_port_max=31100)
    out = await carrier.dial(request("+8613800000000", replay_wait=0.2), Recorder())
    port = out.media["local_rtp_port"]
    assert isinstance(port, int) and 31000 <= port < 31100 and port % 2 == 0
    assert str(out.media["remote_rtp"]).startswith("127.0.0.1:")
