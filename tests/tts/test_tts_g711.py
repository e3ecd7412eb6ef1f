"""G.711 against a scalar reference written from the spec, known vectors and sox."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from voicebridge.domain import PCMU_SILENCE
from voicebridge import g711

ALL = np.arange(-32768, 32768, dtype=np.int16)


def ref_ulaw(x: int) -> int:
    """G.711 µ-law, 14-bit magnitude, G.191's one's complement for negatives."""
    sign = 0x80 if x >= 0 else 0
    mag = (x if x >= 0 else -x - 1) >> 2
    mag = min(mag + 33, 0x1FFF)  # bias, clip at the top decision level
    seg = mag.bit_length() - 6  # 33..63 is segment 0
    mant = (mag >> (seg + 1)) & 0x0F
    return (sign | (seg << 4) | mant) ^ 0x7F  # all bits but the sign inverted


def ref_alaw(x: int) -> int:
    """G.711 A-law, 13-bit magnitude, even bits inverted (0x55)."""
    sign = 0x80 if x >= 0 else 0
    mag = (x if x >= 0 else -x - 1) >> 3
    if mag < 32:
        seg, mant = 0, mag >> 1
    else:
        seg = mag.bit_length() - 5
        mant = (mag >> seg) & 0x0F
    return (sign | (seg << 4) | mant) ^ 0x55


def ref_ulaw_decode(code: int) -> int:
    """The classic CCITT expansion (bias 0x84), an independent formula."""
    u = ~code & 0xFF
    t = (((u & 0x0F) << 3) + 0x84) << ((u & 0x70) >> 4)
    return (0x84 - t) if u & 0x80 else (t - 0x84)


def ref_alaw_decode(code: int) -> int:
    a = code ^ 0x55
    t = (a & 0x0F) << 4
    seg = (a & 0x70) >> 4
    if seg == 0:
        t += 8
    elif seg == 1:
        t += 0x108
    else:
        t = (t + 0x108) << (seg - 1)
    return t if a & 0x80 else -t


def test_ulaw_encode_matches_reference_on_all_inputs() -> None:
    expected = np.array([ref_ulaw(int(x)) for x in ALL], dtype=np.uint8)
    got = np.frombuffer(g711.ulaw_encode(ALL), dtype=np.uint8)
    assert np.array_equal(got, expected)


def test_alaw_encode_matches_reference_on_all_inputs() -> None:
    expected = np.array([ref_alaw(int(x)) for x in ALL], dtype=np.uint8)
    got = np.frombuffer(g711.alaw_encode(ALL), dtype=np.uint8)
    assert np.array_equal(got, expected)


def test_decode_tables_match_reference() -> None:
    assert [int(v) for v in g711.ULAW_DECODE_TABLE] == [ref_ulaw_decode(c) for c in range(256)]
    assert [int(v) for v in g711.ALAW_DECODE_TABLE] == [ref_alaw_decode(c) for c in range(256)]


@pytest.mark.parametrize(
    ("sample", "ulaw", "alaw"),
    [
        (0, 0xFF, 0xD5),
        (-1, 0x7F, 0x55),
        (32767, 0x80, 0xAA),
        (-32768, 0x00, 0x2A),
        (100, 0xF2, 0xD3),
        (-100, 0x73, 0x53),
        (8159, 0x9F, 0x8A),
        (-8159, 0x1F, 0x0A),
    ],
)
def test_known_vectors(sample: int, ulaw: int, alaw: int) -> None:
    pcm = np.array([sample], dtype=np.int16)
    assert g711.ulaw_encode(pcm) == bytes([ulaw])
    assert g711.alaw_encode(pcm) == bytes([alaw])


def test_zero_is_the_domain_silence_code() -> None:
    assert g711.ulaw_encode(np.zeros(3, np.int16)) == bytes([PCMU_SILENCE]) * 3
    assert g711.ULAW_DECODE_TABLE[PCMU_SILENCE] == 0
    assert g711.ALAW_DECODE_TABLE[g711.ALAW_ZERO] == 8  # A-law has no zero level


def test_decode_extremes() -> None:
    assert (g711.ULAW_DECODE_TABLE.min(), g711.ULAW_DECODE_TABLE.max()) == (-32124, 32124)
    assert (g711.ALAW_DECODE_TABLE.min(), g711.ALAW_DECODE_TABLE.max()) == (-32256, 32256)


def test_round_trip_is_idempotent_and_close() -> None:
    for enc, dec in ((g711.ulaw_encode, g711.ulaw_decode), (g711.alaw_encode, g711.alaw_decode)):
        codes = enc(ALL)
        lin = dec(codes)
        # Decoding then encoding changes nothing (µ-law's -0 code 0x7F comes back as +0).
        assert np.array_equal(dec(enc(lin)), lin)
        err = np.abs(lin.astype(np.int32) - ALL.astype(np.int32))
        # Quantisation error stays within half a step of the largest segment.
        assert err.max() <= 1024
        assert np.all(np.sign(lin[ALL > 64]) == 1)


def test_transcoding_tables() -> None:
    codes = bytes(range(256))
    assert g711.ulaw_to_alaw(codes) == g711.alaw_encode(g711.ulaw_decode(codes))
    # Transcoding goes through the linear value, so it moves by at most one step.
    back = g711.ulaw_decode(g711.alaw_to_ulaw(g711.ulaw_to_alaw(codes))).astype(np.int32)
    orig = g711.ulaw_decode(codes).astype(np.int32)
    assert np.all(np.abs(back - orig) <= np.maximum(np.abs(orig) // 8, 16))


def test_rejects_non_int16() -> None:
    with pytest.raises(ValueError, match="expected int16"):
        g711.ulaw_encode(np.zeros(4, dtype=np.float32))


@pytest.mark.skipif(shutil.which("sox") is None, reason="sox not installed")
@pytest.mark.parametrize(("encoding", "table"), [("mu-law", "ULAW_DECODE_TABLE"), ("a-law", "ALAW_DECODE_TABLE")])
def test_decode_matches_sox(encoding: str, table: str) -> None:
    out = subprocess.run(
        ["sox", "-t", "raw", "-e", encoding, "-c", "1", "-r", "8000", "-",
         "-t", "raw", "-e", "signed", "-b", "16", "-L", "-"],
        input=bytes(range(256)), capture_output=True, check=True,
    ).stdout
    assert np.array_equal(np.frombuffer(out, "<i2"), getattr(g711, table))
