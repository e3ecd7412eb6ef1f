"""The UAC state machine driven with byte vectors and a fake clock."""

from __future__ import annotations

import pytest

from voicebridge.dialer.sdp import build_offer
from voicebridge.dialer.sip.digest import verify
from voicebridge.dialer.sip.message import NameAddr, SipRequest, SipResponse, build_response, parse_message
from voicebridge.dialer.sip.uac import (
    Action,
    Answered,
    CallState,
    ClearTimer,
    Dtmf,
    Finished,
    Ringing,
    Send,
    SetTimer,
    Terminated,
    UacCall,
    UacConfig,
)
from voicebridge.domain import Cause, HangupBy, Outcome

ANSWER_SDP = b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n"


def make(**kw: object) -> UacCall:
    cfg = dict(
        call_id="cid@127.0.0.1", local_tag="ltag", caller="+861012345678", callee="+8613800000000",
        trunk_host="127.0.0.1", trunk_port=5070, local_host="127.0.0.1", local_port=5062,
        sdp_offer=build_offer("127.0.0.1", 20000), ring_timeout=10.0, t1=0.5, timer_b=32.0,
    )
    cfg.update(kw)
    return UacCall(UacConfig(**cfg))  # type: ignore[arg-type]


def sent(actions: list[Action]) -> list[SipRequest | SipResponse]:
    return [parse_message(a.data) for a in actions if isinstance(a, Send)]


def only(actions: list[Action], kind: type) -> list:
    return [a for a in actions if isinstance(a, kind)]


def reply(req: SipRequest, code: int, *, tag: str = "rtag", body: bytes = b"", extra=()) -> SipResponse:
    hdrs = list(extra)
    if 100 < code < 300:
        hdrs.append(("Contact", "<sip:callee@127.0.0.1:5070>"))
    return build_response(req, code, to_tag=None if code == 100 else tag, body=body, extra=hdrs)


def start(call: UacCall) -> SipRequest:
    actions = call.start(0.0)
    (invite,) = sent(actions)
    assert isinstance(invite, SipRequest)
    return invite


def test_invite_headers() -> None:
    call = make()
    invite = start(call)
    h = invite.headers
    assert invite.method == "INVITE" and invite.uri == "sip:+8613800000000@127.0.0.1:5070"
    assert h["Via"].startswith("SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK") and h["Via"].endswith(";rport")
    assert h["Max-Forwards"] == "70"
    assert NameAddr.parse(h["From"]).tag == "ltag" and "+861012345678" in h["From"]
    assert h["P-Asserted-Identity"] == "<sip:+861012345678@127.0.0.1>"
    assert h["CSeq"] == "1 INVITE" and h["Contact"] == "<sip:+861012345678@127.0.0.1:5062>"
    assert h["Content-Type"] == "application/sdp" and b"telephone-event" in invite.body


def test_timer_a_doubles_and_b_gives_no_response() -> None:
    call = make()
    actions = call.start(0.0)
    assert SetTimer("A", 0.5) in actions and SetTimer("B", 32.0) in actions
    a1 = call.timer("A", 0.5)
    assert len(sent(a1)) == 1 and SetTimer("A", 1.5) in a1
    a2 = call.timer("A", 1.5)
    assert SetTimer("A", 3.5) in a2
    end = call.timer("B", 32.0)
    (fin,) = only(end, Finished)
    assert (fin.result.status, fin.result.cause, fin.result.hangup_by) == (Outcome.FAILED, Cause.NO_RESPONSE, HangupBy.NETWORK)
    assert fin.result.q850 == 102
    assert only(end, Terminated)


def test_answer_acks_and_far_end_bye() -> None:
    call = make()
    invite = start(call)
    acts = call.receive(reply(invite, 180), 0.1)
    assert only(acts, Ringing) and ClearTimer("A") in acts
    ok = reply(invite, 200, body=ANSWER_SDP, extra=[("Record-Route", "<sip:p1;lr>, <sip:p2;lr>")])
    acts = call.receive(ok, 0.3)
    (ack,) = sent(acts)
    assert isinstance(ack, SipRequest) and ack.method == "ACK"
    assert ack.uri == "sip:callee@127.0.0.1:5070"
    assert ack.headers["CSeq"] == "1 ACK" and ack.headers.get_all("Route") == ["<sip:p2;lr>", "<sip:p1;lr>"]
    assert NameAddr.parse(ack.headers["To"]).tag == "rtag"
    (ans,) = only(acts, Answered)
    assert ans.media.port == 6000 and ans.media.dtmf_pt == 101
    assert call.state is CallState.CONFIRMED
    # the 200 is retransmitted: ACK again
    assert [m.method for m in sent(call.receive(ok, 0.8))] == ["ACK"]  # type: ignore[union-attr]
    # INFO dtmf-relay from the far end
    info = SipRequest("INFO", "sip:x", ack.headers.copy(), b"Signal=1\r\nDuration=160\r\n")
    info.headers.set("CSeq", "7 INFO")
    info.headers.set("From", ok.headers["To"])
    info.headers.set("To", invite.headers["From"])
    info.headers.set("Content-Type", "application/dtmf-relay")
    acts = call.receive(info, 1.0)
    assert only(acts, Dtmf) == [Dtmf("1")]
    assert sent(acts)[0].code == 200  # type: ignore[union-attr]
    # far-end BYE
    bye = SipRequest("BYE", "sip:x", info.headers.copy())
    bye.headers.set("CSeq", "8 BYE")
    acts = call.receive(bye, 2.0)
    assert sent(acts)[0].code == 200  # type: ignore[union-attr]
    (fin,) = only(acts, Finished)
    assert (fin.result.status, fin.result.cause, fin.result.hangup_by) == (Outcome.ANSWERED, Cause.NORMAL_CLEARING, HangupBy.CALLEE)
    # a retransmitted BYE gets the same 200
    again = sent(call.receive(bye, 2.1))
    assert again[0].code == 200  # type: ignore[union-attr]
    d = next(a for a in acts if isinstance(a, SetTimer) and a.name == "D")
    assert call.timer("D", d.at) == [Terminated()]
    assert call.timer("D", d.at + 1) == []


def test_our_bye_after_answer() -> None:
    call = make()
    invite = start(call)
    call.receive(reply(invite, 200, body=ANSWER_SDP), 0.1)
    acts = call.hangup(Cause.PROMPT_FINISHED, 5.0)
    (fin,) = only(acts, Finished)
    assert (fin.result.status, fin.result.cause, fin.result.hangup_by) == (Outcome.ANSWERED, Cause.PROMPT_FINISHED, HangupBy.CALLER)
    (bye,) = sent(acts)
    assert isinstance(bye, SipRequest) and bye.method == "BYE" and bye.headers["CSeq"] == "2 BYE"
    assert bye.uri == "sip:callee@127.0.0.1:5070"
    assert only(call.receive(reply(bye, 200), 5.1), Terminated)


@pytest.mark.parametrize(
    ("code", "status", "cause", "q850"),
    [
        (486, Outcome.BUSY, Cause.USER_BUSY, 17),
        (600, Outcome.BUSY, Cause.USER_BUSY, 17),
        (480, Outcome.UNREACHABLE, Cause.UNREACHABLE, 20),
        (408, Outcome.NO_ANSWER, Cause.NO_ANSWER, 18),
        (603, Outcome.REJECTED, Cause.CALL_REJECTED, 21),
        (403, Outcome.REJECTED, Cause.CALL_REJECTED, 21),
        (404, Outcome.INVALID_NUMBER, Cause.UNALLOCATED_NUMBER, 1),
        (484, Outcome.INVALID_NUMBER, Cause.UNALLOCATED_NUMBER, 28),
        (604, Outcome.INVALID_NUMBER, Cause.UNALLOCATED_NUMBER, 1),
        (503, Outcome.FAILED, Cause.CARRIER_ERROR, 41),
        (500, Outcome.FAILED, Cause.CARRIER_ERROR, 41),
    ],
)
def test_final_response_mapping_and_ack(code: int, status: Outcome, cause: str, q850: int) -> None:
    call = make()
    invite = start(call)
    acts = call.receive(reply(invite, code), 0.2)
    (ack,) = sent(acts)
    assert isinstance(ack, SipRequest) and ack.method == "ACK"
    assert ack.headers["Via"] == invite.headers["Via"]  # same transaction
    assert ack.headers["CSeq"] == "1 ACK" and NameAddr.parse(ack.headers["To"]).tag == "rtag"
    (fin,) = only(acts, Finished)
    assert (fin.result.status, fin.result.cause, fin.result.sip_code, fin.result.q850) == (status, cause, code, q850)
    # retransmitted final: ACK again, no second outcome
    again = call.receive(reply(invite, code), 0.7)
    assert [m.method for m in sent(again)] == ["ACK"] and not only(again, Finished)  # type: ignore[union-attr]
    assert call.timer("D", 32.0) == [Terminated()]


def test_ring_timeout_cancel_then_487() -> None:
    call = make(ring_timeout=3.0)
    invite = start(call)
    call.receive(reply(invite, 180), 0.1)
    acts = call.timer("ring", 3.0)
    (cancel,) = sent(acts)
    assert isinstance(cancel, SipRequest) and cancel.method == "CANCEL"
    assert cancel.headers["Via"] == invite.headers["Via"] and cancel.headers["CSeq"] == "1 CANCEL"
    assert NameAddr.parse(cancel.headers["To"]).tag is None
    assert not only(call.receive(reply(cancel, 200), 3.1), Finished)
    acts = call.receive(reply(invite, 487), 3.2)
    (fin,) = only(acts, Finished)
    assert (fin.result.status, fin.result.cause, fin.result.sip_code, fin.result.hangup_by) == (
        Outcome.NO_ANSWER, Cause.RING_TIMEOUT, 487, HangupBy.CALLER)
    assert [m.method for m in sent(acts)] == ["ACK"]  # type: ignore[union-attr]


def test_abort_before_provisional_waits_for_1xx() -> None:
    call = make()
    invite = start(call)
    assert not sent(call.hangup("shutdown", 0.1))  # RFC 3261 9.1: no CANCEL yet
    acts = call.receive(reply(invite, 100), 0.2)
    assert [m.method for m in sent(acts)] == ["CANCEL"]  # type: ignore[union-attr]
    (fin,) = only(call.receive(reply(invite, 487), 0.3), Finished)
    assert (fin.result.status, fin.result.cause) == (Outcome.CANCELLED, "shutdown")


def test_answer_after_cancel_is_acked_and_byed() -> None:
    call = make()
    invite = start(call)
    call.receive(reply(invite, 180), 0.1)
    call.hangup("aborted", 1.0)
    acts = call.receive(reply(invite, 200, body=ANSWER_SDP), 1.1)
    assert [m.method for m in sent(acts)] == ["ACK", "BYE"]  # type: ignore[union-attr]
    assert only(acts, Finished)[0].result.status is Outcome.CANCELLED


def test_200_without_sdp_fails_bad_sdp() -> None:
    call = make()
    invite = start(call)
    acts = call.receive(reply(invite, 200), 0.1)
    assert [m.method for m in sent(acts)] == ["ACK", "BYE"]  # type: ignore[union-attr]
    (fin,) = only(acts, Finished)
    assert (fin.result.status, fin.result.cause, fin.result.sip_code) == (Outcome.FAILED, Cause.BAD_SDP, 200)


@pytest.mark.parametrize(("code", "hdr", "cred_hdr", "alg"), [
    (401, "WWW-Authenticate", "Authorization", "MD5"),
    (407, "Proxy-Authenticate", "Proxy-Authorization", "SHA-256"),
])
def test_digest_retry(code: int, hdr: str, cred_hdr: str, alg: str) -> None:
    call = make(username="alice", password="pw")
    invite = start(call)
    chal = f'Digest realm="trunk", nonce="n1", qop="auth", algorithm={alg}'
    acts = call.receive(reply(invite, code, extra=[(hdr, chal)]), 0.1)
    ack, invite2 = sent(acts)
    assert ack.method == "ACK" and invite2.method == "INVITE"  # type: ignore[union-attr]
    assert invite2.headers["CSeq"] == "2 INVITE" and invite2.headers["Via"] != invite.headers["Via"]
    assert invite2.headers["Call-ID"] == invite.headers["Call-ID"] and invite2.headers["From"] == invite.headers["From"]
    assert verify(invite2.headers[cred_hdr], method="INVITE", password="pw", realm="trunk")
    # refused again (not stale): give up with auth_failed
    acts = call.receive(reply(invite2, code, extra=[(hdr, chal.replace("n1", "n2"))]), 0.2)
    (fin,) = only(acts, Finished)
    assert (fin.result.status, fin.result.cause, fin.result.sip_code) == (Outcome.FAILED, Cause.AUTH_FAILED, code)


def test_challenge_without_credentials_fails() -> None:
    call = make()
    invite = start(call)
    acts = call.receive(reply(invite, 401, extra=[("WWW-Authenticate", 'Digest realm="r", nonce="n"')]), 0.1)
    assert only(acts, Finished)[0].result.cause == Cause.AUTH_FAILED


def test_unknown_transaction_responses_are_ignored() -> None:
    call = make()
    invite = start(call)
    stray = reply(invite, 200, body=ANSWER_SDP)
    stray.headers.set("Via", "SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bKother")
    assert call.receive(stray, 0.1) == []
    assert call.state is CallState.CALLING


def test_bye_retransmits_with_timer_e_until_f() -> None:
    call = make()
    invite = start(call)
    call.receive(reply(invite, 200, body=ANSWER_SDP), 0.1)
    acts = call.hangup(Cause.MAX_DURATION, 1.0)
    timers = only(acts, SetTimer)
    e = next(t for t in timers if t.name.startswith("E:"))
    f = next(t for t in timers if t.name.startswith("F:"))
    assert e.at == 1.5 and f.at == 33.0
    again = call.timer(e.name, 1.5)
    assert [m.method for m in sent(again)] == ["BYE"]  # type: ignore[union-attr]
    assert only(call.timer(f.name, 33.0), Terminated)
