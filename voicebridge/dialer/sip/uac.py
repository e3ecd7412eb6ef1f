"""The calling side of one call: INVITE client transaction and dialog (RFC 3261).

Sans-IO. ``UacCall.start/receive/timer/hangup`` take the current monotonic
time and return a list of actions for the I/O layer to carry out: send bytes
to the trunk, set or clear a named timer, report progress, and finally
``Finished`` (the outcome is decided) and ``Terminated`` (forget the call).

Timers (UDP): A (INVITE retransmit, T1 doubling), B (INVITE timeout, 64*T1),
E/F for CANCEL and BYE (T1 doubling capped at T2, give up at 64*T1), D (absorb
retransmitted final responses after a non-2xx ACK), ``ring`` (our ring
timeout) and ``cancel`` (give up waiting for 487 after CANCEL).
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, field

from voicebridge.dialer.sdp import MediaDescription, parse_sdp
from voicebridge.dialer.sip import causes
from voicebridge.dialer.sip.causes import Result
from voicebridge.dialer.sip.digest import Challenge, authorization, challenge_header, credentials_header
from voicebridge.dialer.sip.message import (
    Headers,
    NameAddr,
    SipMessage,
    SipRequest,
    SipResponse,
    Via,
    build_response,
    new_branch,
    parse_cseq,
    top_via,
)
from voicebridge.domain import Cause

logger = logging.getLogger(__name__)

T2 = 4.0
MAX_FORWARDS = "70"
ALLOW = "INVITE, ACK, CANCEL, BYE, INFO, OPTIONS"


class CallState(enum.Enum):
    CALLING = "calling"  # INVITE sent, nothing back
    PROCEEDING = "proceeding"  # 1xx received
    CANCELLING = "cancelling"  # CANCEL sent (or waiting for a 1xx to send it)
    CONFIRMED = "confirmed"  # 2xx received and ACKed
    TERMINATING = "terminating"  # BYE sent
    COMPLETED = "completed"  # non-2xx final ACKed; timer D absorbs retransmissions
    TERMINATED = "terminated"


# --- actions ---------------------------------------------------------------


@dataclass(frozen=True)
class Send:
    data: bytes


@dataclass(frozen=True)
class SetTimer:
    name: str
    at: float


@dataclass(frozen=True)
class ClearTimer:
    name: str


@dataclass(frozen=True)
class Ringing:
    code: int
    early_media: MediaDescription | None = None


@dataclass(frozen=True)
class Answered:
    media: MediaDescription


@dataclass(frozen=True)
class Dtmf:
    digit: str


@dataclass(frozen=True)
class Finished:
    result: Result


@dataclass(frozen=True)
class Terminated:
    pass


Action = Send | SetTimer | ClearTimer | Ringing | Answered | Dtmf | Finished | Terminated


@dataclass(frozen=True)
class UacConfig:
    call_id: str
    local_tag: str
    caller: str  # user part of From / P-Asserted-Identity
    callee: str
    trunk_host: str
    trunk_port: int
    local_host: str
    local_port: int
    sdp_offer: bytes
    ring_timeout: float = 30.0
    t1: float = 0.5
    timer_b: float = 32.0
    user_agent: str = "voicebridge/0.1"
    username: str | None = None
    password: str | None = None
    caller_host: str | None = None  # host of the From URI; the trunk's by default

    @property
    def request_uri(self) -> str:
        return f"sip:{self.callee}@{self.trunk_host}:{self.trunk_port}"


@dataclass
class _ClientTx:
    """One non-INVITE client transaction (CANCEL or BYE)."""

    method: str
    branch: str
    data: bytes
    interval: float
    request: SipRequest
    auth_tries: int = 0


@dataclass
class _Dialog:
    remote_tag: str
    remote_target: str
    route_set: list[str] = field(default_factory=list)
    remote_cseq: int | None = None


class UacCall:
    """One outgoing call. Not thread-safe; feed it from one event loop."""

    def __init__(self, cfg: UacConfig) -> None:
        self.cfg = cfg
        self.state = CallState.CALLING
        self.cseq = 1
        self.result: Result | None = None
        self._invite: SipRequest | None = None
        self._invite_data = b""
        self._invite_branch = ""
        self._a_interval = cfg.t1
        self._provisional = False
        self._pending_cancel: Result | None = None
        self._auth_tries = 0
        self._dialog: _Dialog | None = None
        self._ack_data: bytes | None = None
        self._tx: dict[str, _ClientTx] = {}  # branch -> CANCEL/BYE transaction
        self._answered: dict[tuple[str, int], bytes] = {}  # (method, cseq) -> response sent
        self._ringing_reported = False
        self._terminated = False

    # --- helpers -------------------------------------------------------------

    def _log(self, msg: str, *args: object) -> None:
        logger.debug("[%s] " + msg, self.cfg.call_id, *args)

    def _set_state(self, state: CallState) -> None:
        if state is not self.state:
            self._log("- %s -> %s", self.state.value, state.value)
            self.state = state

    @property
    def _from(self) -> str:
        host = self.cfg.caller_host or self.cfg.trunk_host
        return f"<sip:{self.cfg.caller}@{host}>;tag={self.cfg.local_tag}"

    @property
    def _contact(self) -> str:
        return f"<sip:{self.cfg.caller}@{self.cfg.local_host}:{self.cfg.local_port}>"

    def _via(self, branch: str) -> str:
        return f"SIP/2.0/UDP {self.cfg.local_host}:{self.cfg.local_port};branch={branch};rport"

    def _finish(self, result: Result) -> list[Action]:
        if self.result is not None:
            return []
        self.result = result
        self._log("finished: %s %s sip=%s", result.status.value, result.cause, result.sip_code)
        return [Finished(result)]

    def _terminate(self) -> list[Action]:
        self._set_state(CallState.TERMINATED)
        if self._terminated:
            return []
        self._terminated = True
        return [Terminated()]

    # --- INVITE --------------------------------------------------------------

    def _build_invite(self, auth: tuple[str, str] | None = None) -> SipRequest:
        cfg = self.cfg
        self._invite_branch = new_branch()
        h = Headers()
        h.add("Via", self._via(self._invite_branch))
        h.add("Max-Forwards", MAX_FORWARDS)
        h.add("From", self._from)
        h.add("To", f"<{cfg.request_uri}>")
        h.add("Call-ID", cfg.call_id)
        h.add("CSeq", f"{self.cseq} INVITE")
        h.add("Contact", self._contact)
        h.add("P-Asserted-Identity", f"<sip:{cfg.caller}@{cfg.caller_host or cfg.trunk_host}>")
        h.add("Allow", ALLOW)
        h.add("User-Agent", cfg.user_agent)
        if auth is not None:
            h.add(*auth)
        h.add("Content-Type", "application/sdp")
        return SipRequest("INVITE", cfg.request_uri, h, cfg.sdp_offer)

    def start(self, now: float) -> list[Action]:
        self._invite = self._build_invite()
        return self._send_invite(now) + [SetTimer("ring", now + self.cfg.ring_timeout)]

    def _send_invite(self, now: float) -> list[Action]:
        assert self._invite is not None
        self._invite_data = bytes(self._invite)
        self._a_interval = self.cfg.t1
        self._provisional = False
        self._set_state(CallState.CALLING if self._pending_cancel is None else CallState.CANCELLING)
        return [
            Send(self._invite_data),
            SetTimer("A", now + self._a_interval),
            SetTimer("B", now + self.cfg.timer_b),
        ]

    # --- input ---------------------------------------------------------------

    def receive(self, msg: SipMessage, now: float) -> list[Action]:
        if self.state is CallState.TERMINATED:
            if isinstance(msg, SipRequest) and msg.method != "ACK":
                try:
                    cached = self._answered.get((msg.method, parse_cseq(msg.headers.get("CSeq", ""))[0]))
                except ValueError:
                    cached = None
                return [Send(cached or bytes(build_response(msg, 481)))]
            return []
        if isinstance(msg, SipResponse):
            return self._on_response(msg, now)
        return self._on_request(msg, now)

    def _on_response(self, resp: SipResponse, now: float) -> list[Action]:
        try:
            branch = top_via(resp).branch or ""
            _, method = parse_cseq(resp.headers.get("CSeq", ""))
        except ValueError as exc:
            self._log("dropping response: %s", exc)
            return []
        if branch == self._invite_branch and method == "INVITE":
            return self._on_invite_response(resp, now)
        tx = self._tx.get(branch)
        if tx is None or tx.method != method:
            self._log("ignoring response to unknown transaction %s %s", resp.code, method)
            return []
        return self._on_tx_response(tx, resp, now)

    def _on_invite_response(self, resp: SipResponse, now: float) -> list[Action]:
        code = resp.code
        out: list[Action] = []
        if code < 200:
            if self.result is not None and self.state is not CallState.CANCELLING:
                return []
            out.append(ClearTimer("A"))
            out.append(ClearTimer("B"))
            first = not self._provisional
            self._provisional = True
            if self.state is CallState.CALLING:
                self._set_state(CallState.PROCEEDING)
            if first and self._pending_cancel is not None and not self._cancel_sent():
                out += self._send_cancel(now)
            if code > 100 and not self._ringing_reported and self._pending_cancel is None:
                self._ringing_reported = True
                early = None
                if resp.body:
                    try:
                        early = parse_sdp(resp.body)
                    except ValueError:
                        early = None
                out.append(Ringing(code, early))
            return out
        if 200 <= code < 300:
            return self._on_2xx(resp, now)
        # 3xx-6xx: ACK in the same transaction (RFC 3261 17.1.1.3)
        if self._invite_data == b"" or self._dialog is not None:
            return []
        out += [Send(self._ack_for_final(resp)), ClearTimer("A"), ClearTimer("B")]
        if self.result is not None:
            return out  # a retransmission of a final response we already handled
        if code in (401, 407) and self._pending_cancel is None:
            retry = self._auth_retry(resp)
            if retry is not None:
                self.cseq += 1
                self._invite = self._build_invite(retry)
                return out + self._send_invite(now)
        out.append(ClearTimer("ring"))
        out.append(ClearTimer("cancel"))
        if self._pending_cancel is not None and code == 487:
            out += self._finish(self._pending_cancel)
        else:
            out += self._finish(causes.map_final(code))
        self._set_state(CallState.COMPLETED)
        out.append(SetTimer("D", now + min(32.0, 64 * self.cfg.t1)))
        return out

    def _auth_retry(self, resp: SipResponse) -> tuple[str, str] | None:
        cfg = self.cfg
        if cfg.username is None or cfg.password is None or self._auth_tries >= 2:
            return None
        value = resp.headers.get(challenge_header(resp.code))
        if value is None:
            return None
        try:
            challenge = Challenge.parse(value)
        except ValueError as exc:
            self._log("bad challenge: %s", exc)
            return None
        if self._auth_tries >= 1 and not challenge.stale:
            return None  # our credentials were refused
        self._auth_tries += 1
        try:
            cred = authorization(
                challenge, username=cfg.username, password=cfg.password, method="INVITE", uri=cfg.request_uri
            )
        except ValueError as exc:
            self._log("cannot answer challenge: %s", exc)
            return None
        return (credentials_header(resp.code), cred)

    def _ack_for_final(self, resp: SipResponse) -> bytes:
        assert self._invite is not None
        inv = self._invite.headers
        h = Headers()
        h.add("Via", inv["Via"])
        h.add("Max-Forwards", MAX_FORWARDS)
        h.add("From", inv["From"])
        h.add("To", resp.headers.get("To", inv["To"]))
        h.add("Call-ID", self.cfg.call_id)
        h.add("CSeq", f"{self.cseq} ACK")
        for route in inv.get_all("Route"):
            h.add("Route", route)
        return bytes(SipRequest("ACK", self._invite.uri, h))

    def _on_2xx(self, resp: SipResponse, now: float) -> list[Action]:
        out: list[Action] = []
        try:
            to_tag = NameAddr.parse(resp.headers.get("To", "")).tag or ""
        except ValueError:
            to_tag = ""
        if self._dialog is not None:
            if to_tag == self._dialog.remote_tag and self._ack_data is not None:
                return [Send(self._ack_data)]  # retransmitted 2xx: ACK again
            return []  # a second fork: ignored (we keep the first dialog)
        contact = resp.headers.get_all("Contact")
        try:
            target = NameAddr.parse(contact[0]).uri if contact else self._invite_uri()
        except ValueError:
            target = self._invite_uri()
        routes = [r for r in reversed(resp.headers.get_all("Record-Route"))]
        self._dialog = _Dialog(remote_tag=to_tag, remote_target=target, route_set=routes)
        out += [ClearTimer("A"), ClearTimer("B"), ClearTimer("ring"), ClearTimer("cancel")]
        ack = self._in_dialog_request("ACK", self.cseq, new_branch())
        self._ack_data = bytes(ack)
        out.append(Send(self._ack_data))
        if self._pending_cancel is not None or self.result is not None:
            # answered while we were cancelling: hang up at once
            self._set_state(CallState.CONFIRMED)
            pending = self._pending_cancel or self.result
            assert pending is not None
            out += self._finish(pending)
            out += self._send_bye(now)
            return out
        try:
            media = parse_sdp(resp.body)
        except ValueError as exc:
            self._log("200 without usable SDP: %s", exc)
            self._set_state(CallState.CONFIRMED)
            out += self._finish(causes.bad_sdp())
            out += self._send_bye(now)
            return out
        self._set_state(CallState.CONFIRMED)
        out.append(Answered(media))
        return out

    def _invite_uri(self) -> str:
        return self._invite.uri if self._invite is not None else self.cfg.request_uri

    def _in_dialog_request(self, method: str, cseq: int, branch: str, body: bytes = b"",
                           extra: tuple[tuple[str, str], ...] = ()) -> SipRequest:
        assert self._dialog is not None
        d = self._dialog
        uri = d.remote_target
        routes = list(d.route_set)
        if routes:
            first = NameAddr.parse(routes[0]).uri
            if ";lr" not in first:
                # strict router (RFC 3261 12.2.1.1): its URI becomes the Request-URI
                routes = routes[1:] + [f"<{d.remote_target}>"]
                uri = first
        h = Headers()
        h.add("Via", self._via(branch))
        h.add("Max-Forwards", MAX_FORWARDS)
        h.add("From", self._from)
        h.add("To", f"<{self.cfg.request_uri}>;tag={d.remote_tag}")
        h.add("Call-ID", self.cfg.call_id)
        h.add("CSeq", f"{cseq} {method}")
        for route in routes:
            h.add("Route", route)
        if method not in ("ACK",):
            h.add("User-Agent", self.cfg.user_agent)
        for name, value in extra:
            h.add(name, value)
        return SipRequest(method, uri, h, body)

    # --- CANCEL / BYE ----------------------------------------------------------

    def _cancel_sent(self) -> bool:
        return any(tx.method == "CANCEL" for tx in self._tx.values())

    def _send_cancel(self, now: float) -> list[Action]:
        assert self._invite is not None
        inv = self._invite.headers
        h = Headers()
        h.add("Via", inv["Via"])
        h.add("Max-Forwards", MAX_FORWARDS)
        h.add("From", inv["From"])
        h.add("To", inv["To"])
        h.add("Call-ID", self.cfg.call_id)
        h.add("CSeq", f"{self.cseq} CANCEL")
        for route in inv.get_all("Route"):
            h.add("Route", route)
        h.add("User-Agent", self.cfg.user_agent)
        req = SipRequest("CANCEL", self._invite.uri, h)
        return self._start_tx(req, self._invite_branch, now) + [
            SetTimer("cancel", now + 64 * self.cfg.t1)
        ]

    def _send_bye(self, now: float) -> list[Action]:
        self.cseq += 1
        branch = new_branch()
        req = self._in_dialog_request("BYE", self.cseq, branch)
        self._set_state(CallState.TERMINATING)
        return self._start_tx(req, branch, now)

    def _start_tx(self, req: SipRequest, branch: str, now: float) -> list[Action]:
        data = bytes(req)
        tx = _ClientTx(req.method, branch, data, self.cfg.t1, req)
        self._tx[branch] = tx
        return [
            Send(data),
            SetTimer(f"E:{branch}", now + tx.interval),
            SetTimer(f"F:{branch}", now + 64 * self.cfg.t1),
        ]

    def _on_tx_response(self, tx: _ClientTx, resp: SipResponse, now: float) -> list[Action]:
        if resp.code < 200:
            tx.interval = T2  # RFC 3261 17.1.2.2: keep retransmitting at T2
            return []
        out: list[Action] = [ClearTimer(f"E:{tx.branch}"), ClearTimer(f"F:{tx.branch}")]
        del self._tx[tx.branch]
        if tx.method == "BYE":
            if resp.code in (401, 407) and tx.auth_tries == 0 and self.cfg.username and self.cfg.password:
                value = resp.headers.get(challenge_header(resp.code))
                if value:
                    try:
                        cred = authorization(Challenge.parse(value), username=self.cfg.username,
                                             password=self.cfg.password, method="BYE", uri=tx.request.uri)
                    except ValueError:
                        cred = ""
                    if cred:
                        self.cseq += 1
                        branch = new_branch()
                        req = self._in_dialog_request(
                            "BYE", self.cseq, branch, extra=((credentials_header(resp.code), cred),)
                        )
                        out += self._start_tx(req, branch, now)
                        self._tx[branch].auth_tries = 1
                        return out
            out += self._terminate()
        # a final answer to CANCEL changes nothing: we wait for the INVITE's 487
        return out

    # --- requests from the far end ----------------------------------------------

    def _on_request(self, req: SipRequest, now: float) -> list[Action]:
        if req.method == "ACK":
            return []
        try:
            cseq, _ = parse_cseq(req.headers.get("CSeq", ""))
        except ValueError:
            return [Send(bytes(build_response(req, 400, "Bad CSeq")))]
        cached = self._answered.get((req.method, cseq))
        if cached is not None:
            return [Send(cached)]  # a retransmission: same answer again
        d = self._dialog
        try:
            to_tag = NameAddr.parse(req.headers.get("To", "")).tag
        except ValueError:
            to_tag = None
        if d is None or to_tag != self.cfg.local_tag:
            return [Send(bytes(build_response(req, 481)))]
        if d.remote_cseq is not None and cseq < d.remote_cseq:
            return [Send(bytes(build_response(req, 500, "CSeq Out of Order")))]
        d.remote_cseq = cseq
        out: list[Action] = []
        if req.method == "BYE":
            out += self._reply(req, cseq, 200)
            clear = [ClearTimer(name) for name in (f"E:{b}" for b in self._tx)]
            out += clear
            out += self._finish(causes.callee_hangup())
            self._tx.clear()
            self._set_state(CallState.TERMINATED)
            out.append(SetTimer("D", now + min(32.0, 64 * self.cfg.t1)))
            return out
        if req.method == "INFO":
            out += self._reply(req, cseq, 200)
            digit = parse_dtmf_relay(req)
            if digit and self.state is CallState.CONFIRMED:
                out.append(Dtmf(digit))
            return out
        if req.method == "OPTIONS":
            return self._reply(req, cseq, 200, extra=(("Allow", ALLOW),))
        if req.method == "INVITE":  # session refresh: answer with our offer again
            return self._reply(req, cseq, 200, body=self.cfg.sdp_offer,
                               extra=(("Contact", self._contact), ("Content-Type", "application/sdp")))
        return self._reply(req, cseq, 501)

    def _reply(self, req: SipRequest, cseq: int, code: int, *, body: bytes = b"",
               extra: tuple[tuple[str, str], ...] = ()) -> list[Action]:
        data = bytes(build_response(req, code, extra=(("User-Agent", self.cfg.user_agent), *extra), body=body))
        self._answered[(req.method, cseq)] = data
        return [Send(data)]

    # --- timers and local decisions --------------------------------------------------

    def timer(self, name: str, now: float) -> list[Action]:
        if name == "A":
            if self.state in (CallState.CALLING, CallState.CANCELLING) and not self._provisional:
                self._a_interval *= 2
                return [Send(self._invite_data), SetTimer("A", now + self._a_interval)]
            return []
        if name == "B":
            if self._provisional or self._dialog is not None:
                return []
            out: list[Action] = [ClearTimer("A"), ClearTimer("ring"), ClearTimer("cancel")]
            result = self._pending_cancel if self._pending_cancel is not None and \
                self._pending_cancel.status.value == "cancelled" else causes.no_response()
            out += self._finish(result)
            out += self._terminate()
            return out
        if name == "ring":
            return self.hangup(Cause.RING_TIMEOUT, now)
        if name == "cancel":  # no 487 after our CANCEL: give up on the INVITE
            if self._dialog is None and self._pending_cancel is not None:
                out = [ClearTimer("A"), ClearTimer("B")]
                out += self._finish(self._pending_cancel)
                out += self._terminate()
                return out
            return []
        if name == "D":
            return self._terminate()
        kind, _, branch = name.partition(":")
        tx = self._tx.get(branch)
        if tx is None:
            return []
        if kind == "E":
            tx.interval = min(tx.interval * 2, T2)
            return [Send(tx.data), SetTimer(name, now + tx.interval)]
        if kind == "F":
            del self._tx[branch]
            out = [ClearTimer(f"E:{branch}")]
            if tx.method == "BYE":
                out += self._terminate()
            return out
        return []

    def hangup(self, cause: str, now: float, *, result: Result | None = None) -> list[Action]:
        """End the call: CANCEL before an answer, BYE after.

        ``cause`` ``ring_timeout`` gives ``no_answer``; any other cause before
        an answer gives ``cancelled``; after an answer the call is ``answered``
        with ``cause``.
        """
        if self.state in (CallState.CALLING, CallState.PROCEEDING):
            if result is None:
                result = causes.ring_timeout() if cause == Cause.RING_TIMEOUT else causes.cancelled(cause)
            self._pending_cancel = result
            out: list[Action] = [ClearTimer("ring")]
            self._set_state(CallState.CANCELLING)
            if self._provisional:
                out += self._send_cancel(now)
            # else: RFC 3261 9.1, wait for a provisional response before CANCEL
            return out
        if self.state is CallState.CONFIRMED:
            out = self._finish(result or causes.caller_hangup(cause))
            return out + self._send_bye(now)
        return []


def parse_dtmf_relay(req: SipRequest) -> str | None:
    """``Signal=1`` from an ``application/dtmf-relay`` (or dtmf) INFO body."""
    ctype = (req.headers.get("Content-Type") or "").lower()
    if "dtmf" not in ctype:
        return None
    text = req.body.decode("utf-8", "replace")
    if ctype.startswith("application/dtmf-relay"):
        for line in text.splitlines():
            key, _, value = line.partition("=")
            if key.strip().lower() == "signal":
                value = value.strip()
                return value[:1] if value else None
        return None
    value = text.strip()  # application/dtmf: the digit alone
    return value[:1] if value else None


def abandon(call: UacCall, result: Result) -> list[Action]:
    """Give up on a call without signalling (transport error, local shutdown
    before any answer came back): finish with ``result`` and forget it."""
    out: list[Action] = [ClearTimer("A"), ClearTimer("B"), ClearTimer("ring"), ClearTimer("cancel")]
    out += call._finish(result)
    out += call._terminate()
    return out
