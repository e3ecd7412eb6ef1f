import numpy as np
import pytest

from voicebridge.dialer.rtp import DtmfReceiver, RtpPacket, RtpSender, TelephoneEvent, dtmf_packets
from voicebridge.dialer.sdp import build_offer, parse_sdp
from voicebridge.g711 import ULAW_TO_ALAW, alaw_decode, tone_frames, ulaw_decode, ulaw_to_alaw


def test_offer_lists_pcmu_pcma_and_telephone_event() -> None:
    offer = build_offer("127.0.0.1", 20000, session_id=42).decode()
    assert "m=audio 20000 RTP/AVP 0 8 101\r\n" in offer
    assert "a=rtpmap:0 PCMU/8000\r\n" in offer
    assert "a=rtpmap:8 PCMA/8000\r\n" in offer
    assert "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n" in offer
    assert offer.startswith("v=0\r\no=voicebridge 42 1 IN IP4 127.0.0.1\r\n")


SIPP_ANSWER = (
    b"v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\n"
    b"c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
)


def test_parse_sipp_answer_without_telephone_event() -> None:
    md = parse_sdp(SIPP_ANSWER)
    assert (md.host, md.port, md.payload_type, md.codec, md.dtmf_pt) == ("127.0.0.1", 6000, 0, "PCMU", None)


def test_parse_answer_pcma_with_media_level_c_and_dtmf() -> None:
    sdp = (b"v=0\r\no=- 1 1 IN IP4 1.1.1.1\r\ns=-\r\nc=IN IP4 1.1.1.1\r\nt=0 0\r\n"
           b"m=audio 4000 RTP/AVP 8 96\r\nc=IN IP4 2.2.2.2\r\na=rtpmap:96 telephone-event/8000\r\na=sendrecv\r\n")
    md = parse_sdp(sdp)
    assert (md.host, md.port, md.codec, md.dtmf_pt) == ("2.2.2.2", 4000, "PCMA", 96)


@pytest.mark.parametrize(
    ("sdp", "error"),
    [
        (b"", "empty SDP"),
        (b"v=0\r\nc=IN IP4 1.1.1.1\r\nm=video 5 RTP/AVP 96\r\n", "no audio stream in SDP"),
        (b"v=0\r\nc=IN IP4 1.1.1.1\r\nm=audio 0 RTP/AVP 0\r\n", "audio stream rejected (port 0)"),
        (b"v=0\r\nm=audio 4 RTP/AVP 0\r\n", "no connection address in SDP"),
        (b"v=0\r\nc=IN IP4 1.1.1.1\r\nm=audio 4 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n", "no common codec in SDP"),
    ],
)
def test_unusable_sdp(sdp: bytes, error: str) -> None:
    with pytest.raises(ValueError) as exc:
        parse_sdp(sdp)
    assert str(exc.value) == error


def test_rtp_byte_vector_round_trip() -> None:
    data = bytes.fromhex("80e01234000003e8deadbeef") + b"\xff" * 4
    pkt = RtpPacket.parse(data)
    assert (pkt.payload_type, pkt.marker, pkt.sequence_number, pkt.timestamp, pkt.ssrc) == (96, True, 0x1234, 1000, 0xDEADBEEF)
    assert pkt.payload == b"\xff" * 4
    assert bytes(pkt) == data
    with pytest.raises(ValueError, match="RTP version is not 2"):
        RtpPacket.parse(b"\x40" + data[1:])
    with pytest.raises(ValueError, match="RTP packet too short"):
        RtpPacket.parse(data[:8])


def test_sender_counters_marker_and_wraparound() -> None:
    s = RtpSender(0, ssrc=7, seq=0xFFFF, timestamp=0xFFFFFF60)
    first = RtpPacket.parse(s.packet(b"\x00" * 160))
    s.advance()
    second = RtpPacket.parse(s.packet(b"\x00" * 160))
    assert first.marker and not second.marker
    assert (first.sequence_number, second.sequence_number) == (0xFFFF, 0)
    assert (first.timestamp, second.timestamp) == (0xFFFFFF60, 0)
    assert s.packets == 2 and s.octets == 320


def test_telephone_event_vector() -> None:
    # event 1, end bit, volume 10, duration 800
    ev = TelephoneEvent.parse(bytes.fromhex("018a0320"))
    assert (ev.event, ev.end, ev.volume, ev.duration, ev.digit) == (1, True, 10, 800, "1")
    assert bytes(ev) == bytes.fromhex("018a0320")


def test_dtmf_receiver_reports_once_per_event() -> None:
    sender = RtpSender(0, ssrc=1, seq=0, timestamp=0)
    rx = DtmfReceiver()
    got: list[str] = []
    first = dtmf_packets(sender, "1")
    sender.advance(1600)  # the next event starts later
    for data in first + dtmf_packets(sender, "#"):
        got += rx.feed(RtpPacket.parse(data))
    assert got == ["1", "#"]
    # three end packets only, replayed: still once
    sender.advance(1600)
    assert [d for data in dtmf_packets(sender, "5")[-3:] * 2 for d in rx.feed(RtpPacket.parse(data))] == ["5"]


def test_dtmf_receiver_lost_end_packets() -> None:
    sender = RtpSender(0, ssrc=1, seq=0, timestamp=0)
    rx = DtmfReceiver()
    first = dtmf_packets(sender, "2")[:-3]  # no end packets
    sender.advance(1600)
    second = dtmf_packets(sender, "3")
    got = [d for data in first + second for d in rx.feed(RtpPacket.parse(data))]
    assert got == ["2", "3"]


def test_g711_transcoding_for_pcma() -> None:
    """The media path's byte-table transcoding equals the reference path, code for code."""
    every = bytes(range(256))
    assert ulaw_to_alaw(every) == ULAW_TO_ALAW.tobytes()
    lin = ulaw_decode(every).astype(np.int32)
    back = alaw_decode(ulaw_to_alaw(every)).astype(np.int32)
    assert np.all(np.abs(back - lin) <= np.maximum(16, np.abs(lin) // 16))
    assert ulaw_to_alaw(b"\xff") == b"\xd5"  # silence stays silence
    frames = tone_frames(440.0, 0.05)
    assert [len(f) for f in frames] == [160, 160, 160]