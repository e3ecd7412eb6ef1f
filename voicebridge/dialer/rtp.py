"""RTP (RFC 3550) packets, a sender's counters, and RFC 4733 DTMF. Sans-IO."""

from __future__ import annotations

import secrets
import struct
from dataclasses import dataclass

RTP_VERSION = 2
HEADER = struct.Struct("!BBHII")
EVENT = struct.Struct("!BBH")
DTMF_DIGITS = "0123456789*#ABCD"  # RFC 4733 3.2 events 0-15


@dataclass
class RtpPacket:
    payload_type: int
    sequence_number: int
    timestamp: int
    ssrc: int
    payload: bytes = b""
    marker: bool = False
    csrc: tuple[int, ...] = ()

    @classmethod
    def parse(cls, data: bytes) -> "RtpPacket":
        if len(data) < 12:
            raise ValueError("RTP packet too short")
        b0, b1, seq, ts, ssrc = HEADER.unpack_from(data)
        if b0 >> 6 != RTP_VERSION:
            raise ValueError("RTP version is not 2")
        cc = b0 & 0x0F
        offset = 12 + 4 * cc
        if len(data) < offset:
            raise ValueError("RTP packet truncated in CSRC list")
        csrc = struct.unpack_from(f"!{cc}I", data, 12) if cc else ()
        if b0 & 0x10:  # header extension
            if len(data) < offset + 4:
                raise ValueError("RTP packet truncated in extension")
            (words,) = struct.unpack_from("!H", data, offset + 2)
            offset += 4 + 4 * words
        end = len(data)
        if b0 & 0x20:  # padding
            pad = data[-1]
            if pad == 0 or offset + pad > end:
                raise ValueError("bad RTP padding")
            end -= pad
        if offset > end:
            raise ValueError("RTP packet truncated")
        return cls(b1 & 0x7F, seq, ts, ssrc, bytes(data[offset:end]), bool(b1 & 0x80), tuple(csrc))

    def __bytes__(self) -> bytes:
        b0 = (RTP_VERSION << 6) | len(self.csrc)
        b1 = (0x80 if self.marker else 0) | (self.payload_type & 0x7F)
        head = HEADER.pack(b0, b1, self.sequence_number & 0xFFFF, self.timestamp & 0xFFFFFFFF, self.ssrc)
        if self.csrc:
            head += struct.pack(f"!{len(self.csrc)}I", *self.csrc)
        return head + self.payload


class RtpSender:
    """Sequence number, timestamp and SSRC of one outgoing stream.

    The timestamp advances with the clock (``advance``) whether or not a
    packet is sent, so gaps between plays keep real timing; the first packet
    after a gap carries the marker bit (RFC 3551 4.1).
    """

    __slots__ = ("payload_type", "ssrc", "seq", "timestamp", "_marker", "packets", "octets")

    def __init__(self, payload_type: int, *, ssrc: int | None = None, seq: int | None = None,
                 timestamp: int | None = None) -> None:
        self.payload_type = payload_type
        self.ssrc = ssrc if ssrc is not None else secrets.randbits(32)
        self.seq = seq if seq is not None else secrets.randbits(16)
        self.timestamp = timestamp if timestamp is not None else secrets.randbits(32)
        self._marker = True
        self.packets = 0
        self.octets = 0

    def talkspurt(self) -> None:
        """The next packet starts a talkspurt and carries the marker bit."""
        self._marker = True

    def packet(self, payload: bytes) -> bytes:
        b1 = (0x80 if self._marker else 0) | self.payload_type
        data = HEADER.pack(0x80, b1, self.seq, self.timestamp, self.ssrc) + payload
        self._marker = False
        self.seq = (self.seq + 1) & 0xFFFF
        self.packets += 1
        self.octets += len(payload)
        return data

    def advance(self, samples: int = 160) -> None:
        self.timestamp = (self.timestamp + samples) & 0xFFFFFFFF


@dataclass(frozen=True)
class TelephoneEvent:
    """The RFC 4733 2.3 payload."""

    event: int
    end: bool
    volume: int
    duration: int

    @classmethod
    def parse(cls, payload: bytes) -> "TelephoneEvent":
        if len(payload) < 4:
            raise ValueError("telephone-event payload too short")
        event, flags, duration = EVENT.unpack_from(payload)
        return cls(event, bool(flags & 0x80), flags & 0x3F, duration)

    def __bytes__(self) -> bytes:
        return EVENT.pack(self.event, (0x80 if self.end else 0) | (self.volume & 0x3F), self.duration)

    @property
    def digit(self) -> str | None:
        return DTMF_DIGITS[self.event] if self.event < len(DTMF_DIGITS) else None


class DtmfReceiver:
    """Turns RFC 4733 packets into digits, once per event.

    An event is identified by (SSRC, RTP timestamp); it is reported on its
    first end packet (the end packet is sent three times), or when a new event
    starts before the previous one's end was seen (end packets lost).
    """

    def __init__(self) -> None:
        self._reported: set[tuple[int, int]] = set()
        self._open: tuple[int, int, str] | None = None

    def feed(self, packet: RtpPacket) -> list[str]:
        try:
            ev = TelephoneEvent.parse(packet.payload)
        except ValueError:
            return []
        digit = ev.digit
        if digit is None:
            return []
        key = (packet.ssrc, packet.timestamp)
        if key in self._reported:
            return []
        out: list[str] = []
        if self._open is not None and (self._open[0], self._open[1]) != key:
            stale = (self._open[0], self._open[1])
            if stale not in self._reported:
                self._reported.add(stale)
                out.append(self._open[2])
            self._open = None
        if ev.end:
            self._reported.add(key)
            self._open = None
            out.append(digit)
        else:
            self._open = (packet.ssrc, packet.timestamp, digit)
        if len(self._reported) > 256:
            self._reported = set(list(self._reported)[-64:])
        return out


def dtmf_packets(sender: RtpSender, digit: str, *, duration_ms: int = 100, volume: int = 10,
                 payload_type: int = 101) -> list[bytes]:
    """The packets of one RFC 4733 event: updates every 20 ms, then 3 end packets.

    All carry the same timestamp (the event start); only the first has the marker.
    """
    event = DTMF_DIGITS.index(digit.upper())
    saved_pt = sender.payload_type
    sender.payload_type = payload_type
    sender.talkspurt()
    out = []
    steps = max(1, duration_ms // 20)
    for i in range(1, steps + 1):
        out.append(sender.packet(bytes(TelephoneEvent(event, False, volume, i * 160))))
    for _ in range(3):
        out.append(sender.packet(bytes(TelephoneEvent(event, True, volume, steps * 160))))
    sender.payload_type = saved_pt
    sender.talkspurt()
    return out
