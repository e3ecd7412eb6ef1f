from __future__ import annotations

import hashlib
from typing import Any, AsyncIterator, Callable

import pytest

from simulators.sip_uas import SipSimulator
from voicebridge.g711 import tone_frames
from voicebridge.dialer.settings import SipSettings
from voicebridge.dialer.sip_carrier import SipCarrier
from voicebridge.domain import CallEvent, CallRequest

PROMPT = tone_frames(440.0, 0.6)  # 30 frames


def sha(frames: list[bytes]) -> str:
    return hashlib.sha256(b"".join(frames)).hexdigest()


@pytest.fixture
async def sim_factory() -> AsyncIterator[Callable[..., Any]]:
    sims: list[SipSimulator] = []

    async def make(rules: list[dict[str, Any]] | None = None, **kw: Any) -> SipSimulator:
        kw.setdefault("ring_delay", 0.05)
        kw.setdefault("silence_hangup", 0.4)
        sim = SipSimulator("127.0.0.1", 0, rules, **kw)
        await sim.start()
        sims.append(sim)
        return sim

    yield make
    for sim in sims:
        await sim.stop()


@pytest.fixture
async def carrier_factory() -> AsyncIterator[Callable[..., Any]]:
    carriers: list[SipCarrier] = []

    async def make(sim: SipSimulator, **kw: Any) -> SipCarrier:
        kw.setdefault("t1", 0.1)
        kw.setdefault("timer_b", 6.4)
        kw.setdefault("rtp_port_min", 0)
        carrier = SipCarrier(SipSettings(trunk_port=sim.port, **kw))
        await carrier.start()
        carriers.append(carrier)
        return carrier

    yield make
    for carrier in carriers:
        await carrier.close()


def request(callee: str, call_id: str = "c1", **kw: Any) -> CallRequest:
    kw.setdefault("prompt", PROMPT)
    kw.setdefault("ring_timeout", 3.0)
    kw.setdefault("replay_wait", 1.0)
    kw.setdefault("max_duration", 10.0)
    return CallRequest(call_id=call_id, caller="+861012345678", callee=callee, **kw)


class Recorder:
    def __init__(self) -> None:
        self.events: list[CallEvent] = []

    def __call__(self, event: CallEvent) -> None:
        self.events.append(event)

    @property
    def kinds(self) -> list[str]:
        return [e.kind.value for e in self.events]
