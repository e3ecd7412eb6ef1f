"""SDP offer/answer for one audio stream (RFC 4566, RFC 3264). Sans-IO.

We offer PCMU/8000 (PT 0), PCMA/8000 (PT 8) and telephone-event/8000 (PT 101,
RFC 4733) and read back the codec, the DTMF payload type and the remote RTP
address from the answer.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

PT_PCMU = 0
PT_PCMA = 8
PT_TELEPHONE_EVENT = 101

STATIC_CODECS = {PT_PCMU: "PCMU", PT_PCMA: "PCMA"}
SUPPORTED = {"PCMU", "PCMA"}


def build_offer(
    host: str,
    port: int,
    *,
    session_id: int | None = None,
    version: int = 1,
    user: str = "voicebridge",
    payload_types: tuple[int, ...] = (PT_PCMU, PT_PCMA),
    dtmf_pt: int = PT_TELEPHONE_EVENT,
    direction: str = "sendrecv",
) -> bytes:
    sid = session_id if session_id is not None else secrets.randbelow(2**31)
    pts = " ".join(str(pt) for pt in (*payload_types, dtmf_pt))
    lines = [
        "v=0",
        f"o={user} {sid} {version} IN IP4 {host}",
        "s=voicebridge",
        f"c=IN IP4 {host}",
        "t=0 0",
        f"m=audio {port} RTP/AVP {pts}",
    ]
    for pt in payload_types:
        lines.append(f"a=rtpmap:{pt} {STATIC_CODECS[pt]}/8000")
    lines += [
        f"a=rtpmap:{dtmf_pt} telephone-event/8000",
        f"a=fmtp:{dtmf_pt} 0-15",
        "a=ptime:20",
        f"a={direction}",
    ]
    return ("\r\n".join(lines) + "\r\n").encode("ascii")


@dataclass(frozen=True)
class MediaDescription:
    """What we need from the far end's SDP."""

    host: str
    port: int
    payload_type: int  # the first audio codec we both support
    codec: str  # "PCMU" or "PCMA"
    dtmf_pt: int | None
    payload_types: tuple[int, ...] = ()
    rtpmap: dict[int, str] = field(default_factory=dict)
    direction: str = "sendrecv"

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)


def parse_sdp(body: bytes) -> MediaDescription:
    """Parse an SDP answer (or offer) for its first audio stream.

    :raises ValueError: when there is no usable audio (no audio m-line, port 0,
        no connection address, no PCMU/PCMA).
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("SDP is not UTF-8") from None
    if not text.strip():
        raise ValueError("empty SDP")
    session_host: str | None = None
    media_host: str | None = None
    port: int | None = None
    pts: tuple[int, ...] = ()
    rtpmap: dict[int, str] = {}
    direction = "sendrecv"
    in_audio = False
    seen_audio = False
    for raw in text.splitlines():
        line = raw.strip()
        if len(line) < 2 or line[1] != "=":
            continue
        kind, value = line[0], line[2:]
        if kind == "m":
            if seen_audio:
                in_audio = False
                continue
            parts = value.split()
            in_audio = len(parts) >= 4 and parts[0] == "audio"
            if in_audio:
                seen_audio = True
                try:
                    port = int(parts[1].split("/")[0])
                    pts = tuple(int(p) for p in parts[3:])
                except ValueError:
                    raise ValueError(f"bad m-line: {value!r}") from None
        elif kind == "c":
            parts = value.split()
            if len(parts) < 3:
                raise ValueError(f"bad c-line: {value!r}")
            host = parts[2].split("/")[0]
            if in_audio:
                media_host = host
            elif not seen_audio:
                session_host = host
        elif kind == "a" and in_audio:
            if value.startswith("rtpmap:"):
                pt_text, _, enc = value[7:].partition(" ")
                try:
                    rtpmap[int(pt_text)] = enc.strip()
                except ValueError:
                    raise ValueError(f"bad rtpmap: {value!r}") from None
            elif value in ("sendrecv", "sendonly", "recvonly", "inactive"):
                direction = value
    if not seen_audio or port is None:
        raise ValueError("no audio stream in SDP")
    if port == 0:
        raise ValueError("audio stream rejected (port 0)")
    host = media_host or session_host
    if not host:
        raise ValueError("no connection address in SDP")
    chosen: tuple[int, str] | None = None
    dtmf_pt: int | None = None
    for pt in pts:
        name = rtpmap.get(pt, STATIC_CODECS.get(pt, "")).split("/")[0]
        if name.lower() == "telephone-event":
            dtmf_pt = dtmf_pt if dtmf_pt is not None else pt
        elif chosen is None and name.upper() in SUPPORTED:
            chosen = (pt, name.upper())
    if chosen is None:
        raise ValueError("no common codec in SDP")
    return MediaDescription(
        host=host,
        port=port,
        payload_type=chosen[0],
        codec=chosen[1],
        dtmf_pt=dtmf_pt,
        payload_types=pts,
        rtpmap=rtpmap,
        direction=direction,
    )


def build_answer(offer: MediaDescription, host: str, port: int, *, user: str = "simulator") -> bytes:
    """A minimal answer to ``offer`` (the simulator uses it)."""
    pts: tuple[int, ...] = (offer.payload_type,)
    dtmf = offer.dtmf_pt if offer.dtmf_pt is not None else PT_TELEPHONE_EVENT
    return build_offer(host, port, user=user, payload_types=pts, dtmf_pt=dtmf)
