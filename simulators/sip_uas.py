"""A scripted SIP UAS on UDP: the far end voicebridge calls in demos and tests.

Behaviour is chosen per callee by rules; without a matching rule the last
digit of the callee decides (DESIGN.md "magic numbers"):

===== =====================================================================
0-4   180, answer after ``ring_delay``, listen to the end, then hang up
5     486 Busy Here
6     180 and never answer (the caller's ring timeout ends it)
7     180, then 603 Decline after ``ring_delay``
8     answer, press 1 (RFC 4733) two seconds after answering, listen, hang up
9     480 Temporarily Unavailable
===== =====================================================================

"Listen to the end": the callee hangs up ``silence_hangup`` seconds (1.0 by
default) after the last RTP audio packet, unless the caller hangs up first.

What it heard is recorded per call (``SimCall``): RTP packets, seconds of
audio, a SHA-256 of the payload, and the audio split into *segments* at the
marker bit. A segment is a complete play when at least ``COMPLETE_GAP`` of
quiet follows it (an RTP timestamp gap before the next segment, or wall time
before the call ends); a play cut short by a barge-in or a BYE is not.

Run it: ``python -m simulators.sip_uas --host 127.0.0.1 --port 5070``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import logging
import random
import secrets
from dataclasses import dataclass, field, fields
from typing import Any, Iterable, Mapping

from voicebridge.dialer.rtp import RtpPacket, RtpSender, dtmf_packets
from voicebridge.dialer.sdp import MediaDescription, build_answer, parse_sdp
from voicebridge.dialer.sip import digest
from voicebridge.dialer.sip.message import (
    Headers,
    NameAddr,
    SipMessage,
    SipRequest,
    SipResponse,
    SipUri,
    build_response,
    new_branch,
    new_tag,
    parse_cseq,
    parse_message,
    top_via,
)

logger = logging.getLogger(__name__)

T1 = 0.5
T2 = 4.0
COMPLETE_GAP = 0.1  # seconds of quiet that mark the end of a complete play
AUDIO_PTS = (0, 8)


@dataclass
class Rule:
    """How the simulated callee behaves. All match fields given must hold.

    ``action``: ``answer``, ``reject`` (final ``code``), ``ring`` (ring
    forever) or ``silent`` (never respond). Times are seconds; ``dtmf`` is a
    list of ``(seconds after answer, digits)``.
    """

    exact: str | None = None
    prefix: str | None = None
    suffix: str | None = None
    action: str = "answer"
    code: int = 200
    ring: bool = True  # send 180 Ringing first
    ring_delay: float = 0.5  # seconds from INVITE to the final answer
    early_media: bool = False  # 183 Session Progress with SDP instead of 180
    hangup_after: float | None = None  # seconds after answering
    silence_hangup: float | None = 1.0  # hang up this long after audio stops
    dtmf: list[tuple[float, str]] = field(default_factory=list)
    dtmf_mode: str = "rfc4733"  # or "info"
    challenge: int | None = None  # 401 or 407
    username: str = "voicebridge"
    password: str = "secret"
    realm: str = "simulator"
    algorithm: str = "MD5"
    drop: float = 0.0  # share of this call's incoming SIP datagrams ignored
    sdp: bool = True  # False: 200 OK without SDP
    trying: bool = True
    answer_bye: bool = True  # False: our BYE is "lost": never answered (the caller's timer F ends it)

    def matches(self, callee: str) -> bool:
        if self.exact is not None and callee != self.exact:
            return False
        if self.prefix is not None and not callee.startswith(self.prefix):
            return False
        if self.suffix is not None and not callee.endswith(self.suffix):
            return False
        return True

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Rule":
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown rule fields: {', '.join(sorted(unknown))}")
        kw = dict(data)
        if "dtmf" in kw:
            kw["dtmf"] = [(float(t), str(d)) for t, d in kw["dtmf"]]
        return cls(**kw)


def magic_rule(callee: str, ring_delay: float = 0.5, silence_hangup: float = 1.0) -> Rule:
    last = callee[-1:] if callee else "0"
    if last == "5":
        return Rule(action="reject", code=486, ring=False, ring_delay=0.0)
    if last == "6":
        return Rule(action="ring")
    if last == "7":
        return Rule(action="reject", code=603, ring_delay=ring_delay)
    if last == "8":
        return Rule(ring_delay=ring_delay, silence_hangup=silence_hangup, dtmf=[(2.0, "1")])
    if last == "9":
        return Rule(action="reject", code=480, ring=False, ring_delay=0.0)
    return Rule(ring_delay=ring_delay, silence_hangup=silence_hangup)


@dataclass
class Segment:
    """One run of audio that started with a marker bit."""

    first_ts: int
    last_ts: int
    packets: int = 0
    complete: bool | None = None  # None while still playing
    _hash: Any = field(default_factory=hashlib.sha256, repr=False)

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()


@dataclass
class SimCall:
    """What the simulator saw and did on one call (keyed by SIP Call-ID)."""

    call_id: str
    callee: str
    caller: str  # user part of From
    from_uri: str
    pai: str | None  # user part of P-Asserted-Identity
    rule: Rule
    invites: int = 0
    auth_ok: bool | None = None
    result: str = "pending"  # answered, rejected, cancelled, ringing, silent
    final_code: int | None = None
    hangup_by: str | None = None  # "caller" or "callee"
    rtp_packets: int = 0
    audio_bytes: int = 0
    dtmf_packets_in: int = 0
    digits_sent: str = ""
    info_received: int = 0
    segments: list[Segment] = field(default_factory=list)
    answered_at: float | None = None
    ended_at: float | None = None
    codec: str | None = None
    _hash: Any = field(default_factory=hashlib.sha256, repr=False)
    _last_arrival: float = 0.0
    ended: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    @property
    def audio_seconds(self) -> float:
        return self.audio_bytes / 8000

    @property
    def payload_sha256(self) -> str:
        return self._hash.hexdigest()

    @property
    def plays(self) -> int:
        """Plays of the prompt heard to the end."""
        return sum(1 for s in self.segments if s.complete)

    @property
    def starts(self) -> int:
        """Plays of the prompt begun (complete or not)."""
        return len(self.segments)

    def to_dict(self) -> dict[str, Any]:
        return {
            "call_id": self.call_id, "callee": self.callee, "caller": self.caller, "pai": self.pai,
            "result": self.result, "final_code": self.final_code, "hangup_by": self.hangup_by,
            "rtp_packets": self.rtp_packets, "audio_seconds": self.audio_seconds,
            "payload_sha256": self.payload_sha256, "plays": self.plays, "starts": self.starts,
            "digits_sent": self.digits_sent, "invites": self.invites, "auth_ok": self.auth_ok,
        }


class _UasCall(asyncio.DatagramProtocol):
    """One inbound dialog: signalling state plus an RTP socket."""

    def __init__(self, sim: "SipSimulator", invite: SipRequest, addr: tuple[str, int], rec: SimCall) -> None:
        self.sim = sim
        self.rec = rec
        self.invite = invite
        self.addr = addr
        self.loop = asyncio.get_running_loop()
        self.tag = new_tag()
        self.cseq = secrets.randbelow(1000) + 1
        self.offer: MediaDescription | None = None
        self.rtp: asyncio.DatagramTransport | None = None
        self.rtp_port = 0
        self.sender: RtpSender | None = None
        self.last_response: bytes | None = None
        self.final_sent = False
        self.acked = False
        self.done = False
        self.tasks: set[asyncio.Task[Any]] = set()
        self.handles: list[asyncio.TimerHandle] = []
        self.pending_requests: dict[str, bytes] = {}  # branch -> request awaiting a response
        self.nonce: str | None = None

    # --- helpers ----------------------------------------------------------------------

    def spawn(self, coro: Any) -> None:
        task = self.loop.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def later(self, delay: float, cb: Any, *args: Any) -> None:
        self.handles.append(self.loop.call_later(delay, cb, *args))

    def respond(self, code: int, *, body: bytes = b"", extra: Iterable[tuple[str, str]] = (),
                request: SipRequest | None = None) -> bytes:
        req = request or self.invite
        hdrs = list(extra)
        if req.method == "INVITE" and 100 < code < 300:
            hdrs.append(("Contact", f"<sip:{self.rec.callee}@{self.sim.host}:{self.sim.port}>"))
        if body:
            hdrs.append(("Content-Type", "application/sdp"))
        resp = build_response(req, code, to_tag=None if code == 100 else self.tag, extra=hdrs, body=body,
                              received=self.addr)
        data = bytes(resp)
        self.sim.send(data, self.addr)
        if req is self.invite:
            self.last_response = data
        return data

    def retransmit_final(self, data: bytes) -> None:
        """Timer G: resend a final INVITE response until ACKed (RFC 3261 17.2.1)."""
        async def run() -> None:
            interval = T1
            elapsed = 0.0
            while not self.acked and elapsed < 64 * T1 and not self.sim.closing:
                await asyncio.sleep(interval)
                elapsed += interval
                if not self.acked:
                    self.sim.send(data, self.addr)
                interval = min(interval * 2, T2)
        self.spawn(run())

    def final(self, code: int, *, body: bytes = b"", extra: Iterable[tuple[str, str]] = ()) -> None:
        if self.final_sent or self.done:
            return
        self.final_sent = True
        self.acked = False
        self.rec.final_code = code
        data = self.respond(code, body=body, extra=extra)
        self.retransmit_final(data)

    # --- INVITE flow -------------------------------------------------------------------

    async def start(self) -> None:
        rule = self.rec.rule
        self.rec.invites += 1
        if rule.action == "silent":
            self.rec.result = "silent"
            return
        if rule.challenge and not self.check_auth(self.invite):
            return
        if rule.trying:
            self.respond(100)
        try:
            self.offer = parse_sdp(self.invite.body)
        except ValueError:
            self.offer = None
        if rule.action == "answer" and self.offer is None and rule.sdp:
            self.final(488)
            self.rec.result = "rejected"
            return
        if self.offer is not None:
            await self.open_rtp()
        if rule.ring and rule.ring_delay >= 0:
            if rule.early_media and self.offer is not None:
                self.respond(183, body=self.answer_sdp())
            else:
                self.respond(180)
        self.rec.result = "ringing"
        if rule.action == "ring":
            return
        self.later(rule.ring_delay, self.decide)

    def check_auth(self, invite: SipRequest) -> bool:
        rule = self.rec.rule
        code = rule.challenge or 401
        header = digest.credentials_header(code)
        value = invite.headers.get(header)
        if value and self.nonce and f'nonce="{self.nonce}"' in value and digest.verify(
            value, method="INVITE", password=rule.password, realm=rule.realm
        ) and f'username="{rule.username}"' in value:
            self.rec.auth_ok = True
            return True
        self.rec.auth_ok = False if value else None
        self.nonce = secrets.token_hex(12)
        chal = digest.Challenge(rule.realm, self.nonce, rule.algorithm, ("auth",), opaque=secrets.token_hex(4))
        data = self.respond(code, extra=[(digest.challenge_header(code), chal.to_header())])
        self.rec.final_code = code
        self.rec.result = "challenged"
        self.acked = False
        self.retransmit_final(data)
        return False

    def answer_sdp(self) -> bytes:
        assert self.offer is not None
        return build_answer(self.offer, self.sim.host, self.rtp_port)

    async def open_rtp(self) -> None:
        if self.rtp is not None:
            return
        transport, _ = await self.loop.create_datagram_endpoint(lambda: self, local_addr=(self.sim.host, 0))
        self.rtp = transport
        self.rtp_port = transport.get_extra_info("sockname")[1]

    def decide(self) -> None:
        if self.done or self.final_sent:
            return
        rule = self.rec.rule
        if rule.action == "reject":
            self.rec.result = "rejected"
            self.final(rule.code)
            return
        body = self.answer_sdp() if (rule.sdp and self.offer is not None) else b""
        self.rec.result = "answered"
        self.rec.answered_at = self.loop.time()
        self.rec.codec = self.offer.codec if self.offer else None
        self.final(200, body=body)
        if rule.hangup_after is not None:
            self.later(rule.hangup_after, self.hangup)
        for at, digits in rule.dtmf:
            self.later(at, self.press, digits)
        if rule.silence_hangup is not None:
            self.later(rule.silence_hangup + 0.5, self.check_silence)

    def check_silence(self) -> None:
        """Hang up once the caller has been quiet for ``silence_hangup`` after audio."""
        if self.done:
            return
        quiet = self.rec.rule.silence_hangup or 0.0
        if self.rec.rtp_packets == 0:
            self.later(quiet, self.check_silence)
            return
        idle = self.loop.time() - self.rec._last_arrival
        if idle >= quiet:
            self.hangup()
        else:
            self.later(quiet - idle + 0.01, self.check_silence)

    def press(self, digits: str) -> None:
        if self.done:
            return
        rule = self.rec.rule
        if rule.dtmf_mode == "info" or self.offer is None or self.offer.dtmf_pt is None:
            for d in digits:
                self.rec.digits_sent += d
                self.request("INFO", body=f"Signal={d}\r\nDuration=160\r\n".encode(),
                             ctype="application/dtmf-relay")
            return
        self.spawn(self.send_rfc4733(digits))

    async def send_rfc4733(self, digits: str) -> None:
        assert self.offer is not None and self.offer.dtmf_pt is not None
        if self.sender is None:
            self.sender = RtpSender(self.offer.payload_type)
        for d in digits:
            packets = dtmf_packets(self.sender, d, payload_type=self.offer.dtmf_pt)
            self.rec.digits_sent += d
            for data in packets:
                if self.done or self.rtp is None:
                    return
                self.rtp.sendto(data, self.offer.address)
                await asyncio.sleep(0.02)
            self.sender.advance(160 * len(packets))

    # --- in-dialog requests we send ---------------------------------------------------------

    def request(self, method: str, *, body: bytes = b"", ctype: str | None = None) -> None:
        inv = self.invite.headers
        contact = inv.get_all("Contact")
        try:
            target = NameAddr.parse(contact[0]).uri if contact else NameAddr.parse(inv["From"]).uri
        except ValueError:
            target = self.invite.uri
        self.cseq += 1
        branch = new_branch()
        h = Headers()
        h.add("Via", f"SIP/2.0/UDP {self.sim.host}:{self.sim.port};branch={branch};rport")
        h.add("Max-Forwards", "70")
        to = inv["To"]
        h.add("From", f"{to};tag={self.tag}" if ";tag=" not in to else to)
        h.add("To", inv["From"])
        h.add("Call-ID", inv["Call-ID"])
        h.add("CSeq", f"{self.cseq} {method}")
        for route in inv.get_all("Record-Route"):
            h.add("Route", route)
        if ctype:
            h.add("Content-Type", ctype)
        data = bytes(SipRequest(method, target, h, body))
        self.pending_requests[branch] = data

        async def run() -> None:
            interval = T1
            for _ in range(7):
                if branch not in self.pending_requests or self.sim.closing:
                    return
                self.sim.send(data, self.addr)
                await asyncio.sleep(interval)
                interval = min(interval * 2, T2)
            self.pending_requests.pop(branch, None)
        self.spawn(run())

    def hangup(self) -> None:
        if self.done or self.rec.result != "answered":
            return
        self.request("BYE")
        self.end("callee")

    def end(self, by: str | None) -> None:
        if self.done:
            return
        self.done = True
        rec = self.rec
        rec.hangup_by = by
        now = self.loop.time()
        rec.ended_at = now
        if rec.segments and rec.segments[-1].complete is None:
            rec.segments[-1].complete = (now - rec._last_arrival) >= COMPLETE_GAP
        for handle in self.handles:
            handle.cancel()
        rec.ended.set()
        logger.info("call %s to %s: %s %s by %s, %d packets, %.2f s audio, plays %d/%d, digits %r",
                    rec.call_id, rec.callee, rec.result, rec.final_code, by, rec.rtp_packets, rec.audio_seconds,
                    rec.plays, rec.starts, rec.digits_sent)
        # keep the RTP socket a moment for stray packets; close later
        self.loop.call_later(0.5, self.close_rtp)

    def close_rtp(self) -> None:
        if self.rtp is not None:
            self.rtp.close()
            self.rtp = None

    # --- incoming SIP ----------------------------------------------------------------------

    def on_sip(self, msg: SipMessage, addr: tuple[str, int]) -> None:
        if isinstance(msg, SipResponse):
            try:
                branch = top_via(msg).branch or ""
            except ValueError:
                return
            if msg.code >= 200:
                self.pending_requests.pop(branch, None)
            return
        method = msg.method
        if method == "INVITE":
            if msg.headers.get("CSeq") == self.invite.headers.get("CSeq"):
                if self.last_response is not None:
                    self.sim.send(self.last_response, addr)  # retransmission
                return
            if self.rec.result == "challenged":
                self.invite = msg
                self.addr = addr
                self.final_sent = False
                self.last_response = None
                self.spawn(self.start())
                return
            self.respond(200, request=msg, body=self.answer_sdp() if self.offer else b"")  # re-INVITE
            return
        if method == "ACK":
            self.acked = True
            if self.rec.final_code is not None and self.rec.final_code >= 300 and self.rec.result != "challenged":
                self.end(None)
            return
        if method == "CANCEL":
            self.respond(200, request=msg)
            if not self.final_sent:
                self.rec.result = "cancelled"
                self.final(487)
                self.end("caller")
            return
        if method == "BYE":
            if self.rec.rule.answer_bye:
                self.respond(200, request=msg)
            self.end("caller")
            return
        if method == "INFO":
            self.rec.info_received += 1
        if method in ("INFO", "OPTIONS", "UPDATE"):
            self.respond(200, request=msg)
            return
        self.respond(501, request=msg)

    # --- RTP in -------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        pass

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if self.done:
            return
        try:
            pkt = RtpPacket.parse(data)
        except ValueError:
            return
        rec = self.rec
        if pkt.payload_type not in AUDIO_PTS:
            rec.dtmf_packets_in += 1
            return
        now = self.loop.time()
        segs = rec.segments
        if not segs or pkt.marker:
            if segs and segs[-1].complete is None:
                gap = (pkt.timestamp - segs[-1].last_ts) & 0xFFFFFFFF
                segs[-1].complete = gap >= COMPLETE_GAP * 8000 + 160
            segs.append(Segment(pkt.timestamp, pkt.timestamp))
        seg = segs[-1]
        seg.packets += 1
        seg.last_ts = pkt.timestamp
        seg._hash.update(pkt.payload)
        rec.rtp_packets += 1
        rec.audio_bytes += len(pkt.payload)
        rec._hash.update(pkt.payload)
        rec._last_arrival = now

    def error_received(self, exc: Exception) -> None:
        pass

    async def close(self) -> None:
        for handle in self.handles:
            handle.cancel()
        for task in list(self.tasks):
            task.cancel()
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)
        self.close_rtp()


class SipSimulator(asyncio.DatagramProtocol):
    """An embeddable SIP UAS on UDP.

    :param rules: ``Rule`` objects or dicts (see ``Rule``); the first match
        wins; no match falls back to the magic numbers. Dict rules take
        ``ring_delay`` and ``silence_hangup`` from the simulator unless given.
    :param ring_delay: the magic numbers' ring time before answer/decline.
    :param silence_hangup: the magic numbers' quiet time before hanging up.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0,
                 rules: Iterable[Rule | Mapping[str, Any]] | None = None, *,
                 ring_delay: float = 0.5, silence_hangup: float = 1.0, seed: int | None = None,
                 max_records: int = 10_000) -> None:
        self.host = host
        self._want_port = port
        self.port = 0
        self.rules = [
            r if isinstance(r, Rule)
            else Rule.from_dict({"ring_delay": ring_delay, "silence_hangup": silence_hangup, **r})
            for r in (rules or [])
        ]
        self.ring_delay = ring_delay
        self.silence_hangup = silence_hangup
        self.calls: dict[str, SimCall] = {}
        self._uas: dict[str, _UasCall] = {}
        self._transport: asyncio.DatagramTransport | None = None
        self._random = random.Random(seed)
        self.closing = False
        self.dropped = 0
        self.max_records = max_records

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(lambda: self, local_addr=(self.host, self._want_port))
        self._transport = transport
        self.port = transport.get_extra_info("sockname")[1]
        logger.info("SIP simulator on %s:%d", self.host, self.port)

    async def stop(self) -> None:
        self.closing = True
        for uas in list(self._uas.values()):
            await uas.close()
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    async def __aenter__(self) -> "SipSimulator":
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def rule_for(self, callee: str) -> Rule:
        for rule in self.rules:
            if rule.matches(callee):
                return rule
        return magic_rule(callee, self.ring_delay, self.silence_hangup)

    def by_callee(self, callee: str) -> list[SimCall]:
        return [c for c in self.calls.values() if c.callee == callee]

    def last_call(self, callee: str) -> SimCall:
        found = self.by_callee(callee)
        if not found:
            raise KeyError(callee)
        return found[-1]

    async def wait_ended(self, call_id: str, timeout: float = 5.0) -> SimCall:
        rec = self.calls[call_id]
        await asyncio.wait_for(rec.ended.wait(), timeout)
        return rec

    def _prune(self) -> None:
        """Forget the oldest ended calls beyond ``max_records`` (a long-running demo)."""
        excess = len(self.calls) - self.max_records + 1
        if excess <= 0:
            return
        for call_id in [cid for cid, rec in self.calls.items() if rec.ended.is_set()][:excess]:
            self.calls.pop(call_id, None)
            uas = self._uas.pop(call_id, None)
            if uas is not None:
                uas.close_rtp()
                for task in list(uas.tasks):
                    task.cancel()

    def send(self, data: bytes, addr: tuple[str, int]) -> None:
        if self._transport is not None:
            self._transport.sendto(data, addr)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        pass

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            msg = parse_message(data)
        except ValueError as exc:
            logger.debug("simulator: bad datagram: %s", exc)
            return
        call_id = msg.headers.get("Call-ID") or ""
        uas = self._uas.get(call_id)
        if uas is not None:
            if uas.rec.rule.drop and self._random.random() < uas.rec.rule.drop:
                self.dropped += 1
                return
            uas.on_sip(msg, addr)
            return
        if not isinstance(msg, SipRequest):
            return
        if msg.method != "INVITE":
            if msg.method != "ACK":
                self.send(bytes(build_response(msg, 481, received=addr)), addr)
            return
        try:
            to_uri = SipUri.parse(NameAddr.parse(msg.headers["To"]).uri)
            from_uri = NameAddr.parse(msg.headers["From"]).uri
            parse_cseq(msg.headers["CSeq"])
        except (KeyError, ValueError):
            self.send(bytes(build_response(msg, 400, received=addr)), addr)
            return
        callee = SipUri.parse(msg.uri).user or to_uri.user
        pai_text = msg.headers.get("P-Asserted-Identity")
        pai = None
        if pai_text:
            try:
                pai = SipUri.parse(NameAddr.parse(pai_text).uri).user
            except ValueError:
                pai = None
        try:
            caller = SipUri.parse(from_uri).user
        except ValueError:
            caller = ""
        rule = self.rule_for(callee)
        if rule.drop and self._random.random() < rule.drop:
            self.dropped += 1
            return
        rec = SimCall(call_id, callee, caller, from_uri, pai, rule)
        self._prune()
        self.calls[call_id] = rec
        uas = _UasCall(self, msg, addr, rec)
        self._uas[call_id] = uas
        asyncio.get_running_loop().create_task(uas.start())


def _load_rules(path: str | None) -> list[Rule]:
    if not path:
        return []
    with open(path, encoding="utf-8") as fh:
        return [Rule.from_dict(d) for d in json.load(fh)]


async def _serve(args: argparse.Namespace) -> None:
    sim = SipSimulator(args.host, args.port, _load_rules(args.rules), ring_delay=args.ring_delay)
    await sim.start()
    try:
        await asyncio.Event().wait()
    finally:
        await sim.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m simulators.sip_uas", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5070)
    parser.add_argument("--rules", help="JSON file: a list of rule objects")
    parser.add_argument("--ring-delay", type=float, default=0.5)
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        asyncio.run(_serve(args))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
