"""The SIP carrier adapter: places calls over SIP/UDP with RTP media.

``SipCarrier`` implements ``voicebridge.domain.Carrier``. One UDP socket
carries the signalling of every call; each call gets an RTP socket; one shared
media clock sends the prompt of every answered call.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import logging
from datetime import datetime
from types import TracebackType
from typing import Any

from voicebridge.dialer.media import MediaClock, RtpSession
from voicebridge.dialer.sdp import build_offer
from voicebridge.dialer.settings import SipSettings
from voicebridge.dialer.sip import causes
from voicebridge.dialer.sip.causes import Result
from voicebridge.dialer.sip.message import SipMessage, new_call_id, new_tag
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
    abandon,
)
from voicebridge.dialer.transport import SipTransport
from voicebridge.domain import (
    CallEvent,
    CallOutcome,
    CallRequest,
    Cause,
    EventKind,
    OnEvent,
    utcnow,
)

logger = logging.getLogger(__name__)


class CarrierClosed(RuntimeError):
    """dial() on a carrier that is not started or already closed."""


class _Leg:
    """Glue for one call: the UAC machine, its timers, its media and its IVR."""

    def __init__(self, carrier: "SipCarrier", request: CallRequest, on_event: OnEvent) -> None:
        self.carrier = carrier
        self.request = request
        self.on_event = on_event
        self.loop = asyncio.get_running_loop()
        self.started_at = utcnow()
        self.alerting_at: datetime | None = None
        self.answered_at: datetime | None = None
        self.ended_at: datetime | None = None
        self.digits = ""
        self.replays = 0
        self.pending_replay = False
        self.timers: dict[str, asyncio.TimerHandle] = {}
        self.ivr_timers: dict[str, asyncio.TimerHandle] = {}
        self.done: asyncio.Future[Result] = self.loop.create_future()
        self.events: asyncio.Queue[CallEvent | None] = asyncio.Queue()
        self.media = RtpSession(request.call_id, on_digit=self.on_digit, on_play_done=self.on_play_done)
        self.uac: UacCall | None = None
        self.terminated = False
        self.sip_call_id = ""
        self.abort_cause: str | None = None  # abort() before the INVITE went out

    # --- events ------------------------------------------------------------------

    def emit(self, kind: EventKind, **kw: Any) -> None:
        self.events.put_nowait(CallEvent(self.request.call_id, kind, utcnow(), **kw))

    async def deliver_events(self) -> None:
        while True:
            event = await self.events.get()
            if event is None:
                return
            try:
                result = self.on_event(event)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                logger.exception("[%s] on_event failed for %s", self.request.call_id, event.kind)

    # --- machine plumbing ----------------------------------------------------------

    def apply(self, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, Send):
                self.carrier._transport.send(action.data, self.carrier._trunk)
            elif isinstance(action, SetTimer):
                old = self.timers.pop(action.name, None)
                if old is not None:
                    old.cancel()
                self.timers[action.name] = self.loop.call_at(action.at, self.on_timer, action.name)
            elif isinstance(action, ClearTimer):
                old = self.timers.pop(action.name, None)
                if old is not None:
                    old.cancel()
            elif isinstance(action, Ringing):
                if self.alerting_at is None:
                    self.alerting_at = utcnow()
                    self.emit(EventKind.RINGING)
            elif isinstance(action, Answered):
                self.on_answered(action)
            elif isinstance(action, Dtmf):
                self.on_digit(action.digit)
            elif isinstance(action, Finished):
                self.on_finished(action.result)
            elif isinstance(action, Terminated):
                self.on_terminated()

    def on_message(self, msg: SipMessage, addr: tuple[str, int]) -> None:
        if self.uac is not None:
            self.apply(self.uac.receive(msg, self.loop.time()))

    def on_timer(self, name: str) -> None:
        self.timers.pop(name, None)
        if self.uac is not None:
            self.apply(self.uac.timer(name, self.loop.time()))

    def hangup(self, cause: str, result: Result | None = None) -> None:
        if self.uac is None:
            self.abort_cause = self.abort_cause or cause
            return
        if not self.done.done():
            self.apply(self.uac.hangup(cause, self.loop.time(), result=result))

    def fail(self, result: Result) -> None:
        if self.uac is not None and not self.done.done():
            self.apply(abandon(self.uac, result))

    # --- media and IVR ----------------------------------------------------------------

    def on_answered(self, action: Answered) -> None:
        self.answered_at = utcnow()
        self.emit(EventKind.ANSWERED)
        self.media.configure(action.media, self.request.prompt)
        self.carrier._clock.add(self.media)
        self.ivr_timer("max", self.request.max_duration,
                       lambda: self.hangup(self.request.max_duration_cause))
        self.media.play()

    def ivr_timer(self, name: str, delay: float, cb: Any) -> None:
        old = self.ivr_timers.pop(name, None)
        if old is not None:
            old.cancel()
        self.ivr_timers[name] = self.loop.call_later(delay, cb)

    def on_play_done(self) -> None:
        if self.done.done():
            return
        if self.pending_replay:
            self.pending_replay = False
            self.replay(self.carrier.settings.replay_pause)
            return
        self.ivr_timer("wait", self.request.replay_wait, lambda: self.hangup(Cause.PROMPT_FINISHED))

    def replay(self, pause: float = 0.0) -> None:
        self.replays += 1
        self.emit(EventKind.REPLAYED, replays=self.replays)
        wait = self.ivr_timers.pop("wait", None)
        if wait is not None:
            wait.cancel()
        self.media.play(pause)

    def on_digit(self, digit: str) -> None:
        if self.done.done() or self.answered_at is None:
            return
        self.digits += digit
        self.emit(EventKind.DTMF, digit=digit)
        if digit != "1" or self.replays + int(self.pending_replay) >= self.request.max_replays:
            return
        if self.media.playing and not self.carrier.settings.barge_in:
            self.pending_replay = True  # honoured when the current play ends
        else:
            self.replay()

    # --- the end ---------------------------------------------------------------------

    def on_finished(self, result: Result) -> None:
        if self.done.done():
            return
        self.ended_at = utcnow()
        for handle in self.ivr_timers.values():
            handle.cancel()
        self.ivr_timers.clear()
        self.carrier._clock.remove(self.media)
        self.media.close()
        self.done.set_result(result)

    def on_terminated(self) -> None:
        self.terminated = True
        for handle in self.timers.values():
            handle.cancel()
        self.timers.clear()
        self.carrier._forget(self)

    def outcome(self, result: Result) -> CallOutcome:
        media = self.media.stats()
        media["plays_completed"] = self.media.plays_completed
        return CallOutcome(
            call_id=self.request.call_id,
            status=result.status,
            cause=result.cause,
            started_at=self.started_at,
            ended_at=self.ended_at or utcnow(),
            alerting_at=self.alerting_at,
            answered_at=self.answered_at,
            sip_code=result.sip_code,
            q850=result.q850,
            hangup_by=result.hangup_by,
            digits=self.digits,
            replays=self.replays,
            session_id=self.sip_call_id,
            media=media,
        )


class SipCarrier:
    """Places calls through a SIP trunk. Implements ``voicebridge.domain.Carrier``.

    ::

        async with SipCarrier(SipSettings(trunk_port=5070)) as carrier:
            outcome = await carrier.dial(request, on_event)
    """

    def __init__(self, settings: SipSettings | None = None) -> None:
        self.settings = settings or SipSettings()
        self._transport = SipTransport(on_error=self._on_socket_error, buffer=self.settings.socket_buffer)
        self._clock = MediaClock()
        self._legs: dict[str, _Leg] = {}  # our call_id -> leg
        self._by_sip: dict[str, _Leg] = {}  # SIP Call-ID -> leg
        self._trunk = (self.settings.trunk_host, self.settings.trunk_port)
        self._closing = False
        self.local_address: tuple[str, int] | None = None

    # --- lifecycle ----------------------------------------------------------------

    async def start(self) -> None:
        if self.local_address is not None:
            return
        s = self.settings
        self.local_address = await self._transport.start(s.local_host, s.local_port)

    @property
    def bound(self) -> bool:
        return self._transport.is_open and not self._closing

    @property
    def active_calls(self) -> int:
        return len(self._legs)

    @property
    def clock(self) -> MediaClock:
        return self._clock

    async def close(self) -> None:
        """Hang up every live call (BYE/CANCEL, cause ``shutdown``), then close."""
        if self._closing:
            return
        self._closing = True
        live = list(self._legs.values())
        for leg in live:
            leg.hangup(Cause.SHUTDOWN)
        pending = [leg.done for leg in live if not leg.done.done()]
        if pending:
            await asyncio.wait(pending, timeout=self.settings.close_timeout)
        for leg in live:
            if not leg.done.done():
                answered = leg.answered_at is not None
                leg.fail(causes.caller_hangup(Cause.SHUTDOWN) if answered else causes.cancelled(Cause.SHUTDOWN))
        # let BYE transactions finish briefly, then drop them
        lingering = [leg for leg in self._by_sip.values() if not leg.terminated]
        deadline = asyncio.get_running_loop().time() + min(1.0, self.settings.close_timeout)
        while lingering and asyncio.get_running_loop().time() < deadline:
            if all(leg.uac is None or leg.uac.state is not CallState.TERMINATING for leg in lingering):
                break
            await asyncio.sleep(0.02)
            lingering = [leg for leg in self._by_sip.values() if not leg.terminated]
        for leg in list(self._by_sip.values()):
            leg.on_terminated()
        await self._clock.stop()
        self._transport.stop()
        logger.info("SIP carrier closed; %d live calls were hung up", len(live))

    async def __aenter__(self) -> "SipCarrier":
        await self.start()
        return self

    async def __aexit__(self, et: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    # --- Carrier --------------------------------------------------------------------

    async def dial(self, request: CallRequest, on_event: OnEvent) -> CallOutcome:
        """Place one call and return when it is over (whatever happened).

        :raises CarrierClosed: if the carrier is not started or is closing.
        :raises ValueError: if ``request.call_id`` is already in progress.
        """
        if not self.bound or self.local_address is None:
            raise CarrierClosed("SipCarrier is not started")
        if request.call_id in self._legs:
            raise ValueError(f"call {request.call_id!r} is already in progress")
        s = self.settings
        leg = _Leg(self, request, on_event)
        self._legs[request.call_id] = leg
        deliver = asyncio.get_running_loop().create_task(leg.deliver_events())
        try:
            rtp_port = await leg.media.open(s.local_host, s.rtp_port_min, s.rtp_port_max)
            local_host, local_port = self.local_address
            sip_call_id = new_call_id(local_host)
            leg.sip_call_id = sip_call_id
            cfg = UacConfig(
                call_id=sip_call_id,
                local_tag=new_tag(),
                caller=request.caller,
                callee=request.callee,
                trunk_host=s.trunk_host,
                trunk_port=s.trunk_port,
                local_host=local_host,
                local_port=local_port,
                sdp_offer=build_offer(local_host, rtp_port),
                ring_timeout=request.ring_timeout,
                t1=s.t1,
                timer_b=s.timer_b,
                user_agent=s.user_agent,
                username=s.username,
                password=s.password,
                caller_host=s.caller_domain,
            )
            leg.uac = UacCall(cfg)
            self._by_sip[sip_call_id] = leg
            self._transport.register(sip_call_id, leg.on_message)
            if leg.abort_cause is not None:  # aborted while the RTP socket opened
                leg.emit(EventKind.CALLING)
                leg.apply(abandon(leg.uac, dataclasses.replace(causes.cancelled(leg.abort_cause), sip_code=None)))
            else:
                leg.emit(EventKind.CALLING)
                leg.apply(leg.uac.start(asyncio.get_running_loop().time()))
            try:
                result = await asyncio.shield(leg.done)
            except asyncio.CancelledError:
                leg.hangup(Cause.CANCELLED)
                if not leg.done.done():
                    leg.fail(causes.cancelled(Cause.CANCELLED))
                raise
            outcome = leg.outcome(result)
            leg.emit(EventKind.ENDED)
            logger.info("[%s] %s %s sip=%s by=%s digits=%r replays=%d", sip_call_id, outcome.status,
                        outcome.cause, outcome.sip_code, outcome.hangup_by, outcome.digits, outcome.replays)
            return outcome
        finally:
            self._legs.pop(request.call_id, None)
            leg.media.close()
            self._clock.remove(leg.media)
            leg.events.put_nowait(None)
            try:
                await asyncio.shield(deliver)
            except asyncio.CancelledError:
                deliver.cancel()
                raise

    def abort(self, call_id: str, cause: str) -> None:
        """End call ``call_id`` promptly: CANCEL before an answer, BYE after."""
        leg = self._legs.get(call_id)
        if leg is None:
            return
        leg.hangup(cause)

    # --- internals ----------------------------------------------------------------------

    def _forget(self, leg: _Leg) -> None:
        if leg.sip_call_id:
            self._transport.unregister(leg.sip_call_id)
            self._by_sip.pop(leg.sip_call_id, None)

    def _on_socket_error(self, exc: Exception, addr: tuple[str, int] | None) -> None:
        """ICMP unreachable from the trunk: calls that heard nothing yet fail."""
        if not isinstance(exc, (ConnectionRefusedError, OSError)) or (addr is not None and addr != self._trunk):
            return
        for leg in list(self._legs.values()):
            if leg.uac is not None and leg.uac.state is CallState.CALLING and not leg.uac._provisional:
                leg.fail(causes.unreachable_host())
