"""RTP media for all calls, driven by ONE shared 20 ms clock.

Each call has its own RTP socket (``RtpSession``) for receiving DTMF and
sending its prompt, but there is a single ``MediaClock`` task that wakes up
every 20 ms and sends the next frame of every playing session. One timer for
N calls keeps CPU flat where one task per call does not (see docs/sip.md).
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
from collections import deque
from typing import Callable, Sequence

from voicebridge.g711 import ulaw_to_alaw
from voicebridge.dialer.rtp import DtmfReceiver, RtpPacket, RtpSender
from voicebridge.dialer.sdp import MediaDescription

logger = logging.getLogger(__name__)

PTIME = 0.020
SAMPLES_PER_FRAME = 160


class RtpSession(asyncio.DatagramProtocol):
    """The media of one call: its socket, its sender counters, its DTMF receiver."""

    def __init__(self, call_id: str, *, on_digit: Callable[[str], None],
                 on_play_done: Callable[[], None]) -> None:
        self.call_id = call_id
        self._on_digit = on_digit
        self._on_play_done = on_play_done
        self._transport: asyncio.DatagramTransport | None = None
        self.local_port = 0
        self.remote: tuple[str, int] | None = None
        self.dtmf_pt: int | None = None
        self.codec = "PCMU"
        self.sender: RtpSender | None = None
        self.frames: Sequence[bytes] = ()
        self.position = 0
        self.playing = False
        self.pause_ticks = 0
        self.plays_completed = 0
        self.packets_received = 0
        self.dtmf_events = 0
        self.send_errors = 0
        self._dtmf = DtmfReceiver()

    async def open(self, host: str, port_min: int = 0, port_max: int = 0) -> int:
        loop = asyncio.get_running_loop()
        attempts = 50 if port_min else 1
        last_exc: OSError | None = None
        for _ in range(attempts):
            port = random.randrange(port_min, port_max, 2) if port_min else 0
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                sock.bind((host, port))
            except OSError as exc:
                sock.close()
                last_exc = exc
                continue
            sock.setblocking(False)
            try:
                await loop.create_datagram_endpoint(lambda: self, sock=sock)
            except BaseException:
                sock.close()
                raise
            self.local_port = sock.getsockname()[1]
            return self.local_port
        raise OSError(f"no free RTP port in [{port_min}, {port_max})") from last_exc

    def close(self) -> None:
        self.playing = False
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    def configure(self, media: MediaDescription, frames: Sequence[bytes]) -> None:
        self.remote = media.address
        self.dtmf_pt = media.dtmf_pt
        self.codec = media.codec
        self.sender = RtpSender(media.payload_type)
        self.frames = [ulaw_to_alaw(f) for f in frames] if media.codec == "PCMA" else frames

    def play(self, pause: float = 0.0) -> None:
        """Start (or restart) the prompt from its first frame, after ``pause`` s of no audio."""
        self.position = 0
        self.pause_ticks = round(pause / PTIME)
        self.playing = bool(self.frames)
        if self.sender is not None:
            self.sender.talkspurt()
        if not self.frames:
            self._on_play_done()

    def tick(self) -> None:
        """Called by the clock every 20 ms."""
        sender = self.sender
        if sender is None:
            return
        if self.pause_ticks:
            self.pause_ticks -= 1
        elif self.playing and self._transport is not None and self.remote is not None:
            data = sender.packet(self.frames[self.position])
            try:
                self._transport.sendto(data, self.remote)
            except OSError:
                self.send_errors += 1
            self.position += 1
            if self.position >= len(self.frames):
                self.playing = False
                self.plays_completed += 1
                sender.advance(SAMPLES_PER_FRAME)
                self._on_play_done()
                return
        sender.advance(SAMPLES_PER_FRAME)

    def stats(self) -> dict[str, object]:
        s = self.sender
        return {
            "packets_sent": s.packets if s else 0,
            "octets_sent": s.octets if s else 0,
            "packets_received": self.packets_received,
            "dtmf_events": self.dtmf_events,
            "plays_completed": self.plays_completed,
            "codec": self.codec,
            "local_rtp_port": self.local_port,
            "remote_rtp": f"{self.remote[0]}:{self.remote[1]}" if self.remote else None,
            "send_errors": self.send_errors,
        }

    # --- asyncio.DatagramProtocol -------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.packets_received += 1
        if self.dtmf_pt is None or len(data) < 16 or (data[1] & 0x7F) != self.dtmf_pt:
            return
        try:
            packet = RtpPacket.parse(data)
        except ValueError:
            return
        for digit in self._dtmf.feed(packet):
            self.dtmf_events += 1
            try:
                self._on_digit(digit)
            except Exception:
                logger.exception("[%s] digit handler failed", self.call_id)

    def error_received(self, exc: Exception) -> None:
        self.send_errors += 1


class MediaClock:
    """One task drives the media of every call.

    The 20 ms period is cut into ``slots`` phases (2 ms each by default) and
    each session is pinned to the least loaded phase when it is added, so one
    wake-up sends N/slots packets rather than N: every stream still gets
    exactly one packet per 20 ms, but the burst (and with it the lateness of
    the last packet of a burst) is ``slots`` times smaller. The schedule is
    absolute (start + k * slot) so jitter does not accumulate; after a stall
    longer than ``max_catch_up`` periods it resynchronises instead of bursting.
    Each packet's lateness (send time minus its slot time) is kept for p99.
    """

    def __init__(self, *, slots: int = 10, max_catch_up: int = 5, keep: int = 200_000,
                 early: float = 0.0005) -> None:
        self._slots: list[dict[str, RtpSession]] = [{} for _ in range(slots)]
        self._where: dict[str, int] = {}
        self._task: asyncio.Task[None] | None = None
        self._period = PTIME / slots
        self._max_catch_up = max_catch_up
        self._early = early  # the selector rounds timeouts up to 1 ms: wake a little early
        self.lateness: deque[float] = deque(maxlen=keep)
        self.ticks = 0
        self.resyncs = 0

    def add(self, session: RtpSession) -> None:
        self.remove(session)
        slot = min(range(len(self._slots)), key=lambda i: len(self._slots[i]))
        self._slots[slot][session.call_id] = session
        self._where[session.call_id] = slot
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="media-clock")

    def remove(self, session: RtpSession) -> None:
        slot = self._where.pop(session.call_id, None)
        if slot is not None:
            self._slots[slot].pop(session.call_id, None)

    def __len__(self) -> int:
        return len(self._where)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

    def percentile(self, q: float) -> float:
        if not self.lateness:
            return 0.0
        data = sorted(self.lateness)
        return data[min(len(data) - 1, int(q * len(data)))]

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        time = loop.time
        period = self._period
        nslots = len(self._slots)
        late = self.lateness
        slot = 0
        next_at = time() + period
        try:
            while self._where:
                delay = next_at - time() - self._early
                if delay > 0:
                    await asyncio.sleep(delay)
                for session in list(self._slots[slot].values()):
                    session.tick()
                    late.append(time() - next_at)
                self.ticks += 1
                slot = (slot + 1) % nslots
                next_at += period
                if time() - next_at > self._max_catch_up * PTIME:
                    self.resyncs += 1
                    next_at = time() + period
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("media clock failed")
            raise
