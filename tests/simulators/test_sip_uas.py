"""The simulator on its own: rules, and raw SIP over a loopback socket."""

from __future__ import annotations

import asyncio
import socket

import pytest

from simulators.sip_uas import Rule, SipSimulator, magic_rule
from voicebridge.dialer.sdp import build_offer
from voicebridge.dialer.sip.message import SipRequest, SipResponse, parse_message

pytestmark = pytest.mark.timeout(10)


def test_rule_matching_and_from_dict() -> None:
    r = Rule.from_dict({"prefix": "+86", "suffix": "3", "dtmf": [[1, "12"]], "action": "reject", "code": 503})
    assert r.matches("+8613") and not r.matches("+8513") and not r.matches("+8614")
    assert r.dtmf == [(1.0, "12")]
    assert Rule(exact="+1").matches("+1") and not Rule(exact="+1").matches("+12")
    with pytest.raises(ValueError, match="unknown rule fields: colour"):
        Rule.from_dict({"colour": "red"})


@pytest.mark.parametrize(("callee", "action", "code"), [
    ("+8613800000000", "answer", 200), ("+8613800000004", "answer", 200), ("+8613800000005", "reject", 486),
    ("+8613800000006", "ring", 200), ("+8613800000007", "reject", 603), ("+8613800000009", "reject", 480),
])
def test_magic_numbers(callee: str, action: str, code: int) -> None:
    r = magic_rule(callee)
    assert (r.action, r.code) == (action, code)
    assert magic_rule("+8613800000008").dtmf == [(2.0, "1")]


def invite(port: int, call_id: str, callee: str = "+8613800000006", cseq: int = 1) -> bytes:
    body = build_offer("127.0.0.1", 40000)
    return (
        f"INVITE sip:{callee}@127.0.0.1 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKraw{cseq};rport\r\n"
        f"From: <sip:+861@127.0.0.1>;tag=ft\r\nTo: <sip:{callee}@127.0.0.1>\r\n"
        f"Call-ID: {call_id}\r\nCSeq: {cseq} INVITE\r\nContact: <sip:+861@127.0.0.1:{port}>\r\n"
        f"P-Asserted-Identity: <sip:+861@127.0.0.1>\r\nContent-Type: application/sdp\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


async def recv(sock: socket.socket, want: int, timeout: float = 2.0) -> SipResponse:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        data = await asyncio.wait_for(loop.sock_recv(sock, 4096), deadline - loop.time())
        msg = parse_message(data)
        if isinstance(msg, SipResponse) and msg.code == want:
            return msg


async def test_raw_cancel_gets_487_and_records() -> None:
    async with SipSimulator(ring_delay=0.05) as sim:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
        port = sock.getsockname()[1]
        try:
            sock.sendto(invite(port, "raw1"), ("127.0.0.1", sim.port))
            ringing = await recv(sock, 180)
            assert ";tag=" in ringing.headers["To"]
            sock.sendto(invite(port, "raw1"), ("127.0.0.1", sim.port))  # retransmission
            assert (await recv(sock, 180)).headers["To"] == ringing.headers["To"]
            cancel = invite(port, "raw1").replace(b"INVITE sip", b"CANCEL sip", 1).replace(b"1 INVITE", b"1 CANCEL")
            sock.sendto(cancel, ("127.0.0.1", sim.port))
            await recv(sock, 487)
            rec = sim.calls["raw1"]
            assert (rec.result, rec.final_code, rec.hangup_by, rec.caller, rec.pai, rec.invites) == (
                "cancelled", 487, "caller", "+861", "+861", 1)
            assert sim.by_callee("+8613800000006") == [rec]
            # a request for an unknown call gets 481
            bye = SipRequest.parse(invite(port, "nope").replace(b"INVITE sip", b"BYE sip", 1))
            bye.method = "BYE"
            sock.sendto(bytes(bye), ("127.0.0.1", sim.port))
            await recv(sock, 481)
        finally:
            sock.close()


async def test_records_are_pruned_beyond_max_records() -> None:
    from voicebridge.dialer.settings import SipSettings
    from voicebridge.dialer.sip_carrier import SipCarrier
    from voicebridge.domain import CallRequest

    async with SipSimulator(max_records=3) as sim:
        async with SipCarrier(SipSettings(trunk_port=sim.port, rtp_port_min=0, t1=0.1)) as carrier:
            for i in range(6):
                out = await carrier.dial(CallRequest(f"p{i}", "+861", "+8613800000005", []), lambda e: None)
                await asyncio.sleep(0.05)  # the ACK ends the simulator's record
            assert len(sim.calls) <= 3
            assert out.session_id in sim.calls
