"""G.711 µ-law and A-law, bit-exact with the ITU-T G.191 reference (g711.c).

The one G.711 module: the TTS renders prompts with it and the SIP media path
transcodes PCMU frames to PCMA with its byte table. Pure functions; no I/O. Input is 16-bit linear PCM
(left-justified, as in G.191: µ-law uses the top 14 bits, A-law the top 13).
Encoding goes through a 65,536-entry lookup table built once from a vectorised
port of ``ulaw_compress``/``alaw_compress``; decoding through 256-entry tables
from ``ulaw_expand``/``alaw_expand``.

References: ITU-T G.711 (11/88); ITU-T G.191 STL ``g711.c``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

ULAW_ZERO = 0xFF  # µ-law code of a zero sample (positive zero)
ALAW_ZERO = 0xD5  # A-law code of a zero sample (0x80 ^ 0x55)

Int16Array = npt.NDArray[np.int16]


def _ulaw_compress_ref(lin: npt.NDArray[np.int32]) -> npt.NDArray[np.uint8]:
    """Vectorised G.191 ``ulaw_compress`` for int32 values in [-32768, 32767]."""
    absno = np.where(lin < 0, (~lin) >> 2, lin >> 2) + 33
    absno = np.minimum(absno, 0x1FFF)
    # segno = 1 + number of significant bits of (absno >> 6)
    i = absno >> 6
    segno = np.ones_like(absno)
    for _ in range(8):
        nz = i != 0
        segno += nz
        i = i >> 1
    high = 0x0008 - segno
    low = 0x000F - ((absno >> segno) & 0x000F)
    out = (high << 4) | low
    out = np.where(lin >= 0, out | 0x0080, out)
    return out.astype(np.uint8)


def _alaw_compress_ref(lin: npt.NDArray[np.int32]) -> npt.NDArray[np.uint8]:
    """Vectorised G.191 ``alaw_compress`` for int32 values in [-32768, 32767]."""
    ix = np.where(lin < 0, (~lin) >> 4, lin >> 4)
    iexp = np.zeros_like(ix)
    big = ix > 15
    # For ix > 15: shift right until ix <= 31, counting the exponent from 1.
    iexp[big] = 1
    for _ in range(8):
        more = ix > 16 + 15
        ix = np.where(more, ix >> 1, ix)
        iexp += more
    ix = np.where(big, ix - 16 + (iexp << 4), ix)
    ix = np.where(lin >= 0, ix | 0x0080, ix)
    return (ix ^ 0x0055).astype(np.uint8)


def _ulaw_expand_ref(code: npt.NDArray[np.int32]) -> npt.NDArray[np.int16]:
    """Vectorised G.191 ``ulaw_expand``."""
    sign = np.where(code < 0x80, -1, 1)
    mantissa = ~code
    exponent = (mantissa >> 4) & 0x07
    segment = exponent + 1
    mantissa = mantissa & 0x0F
    step = 4 << segment
    return (sign * ((0x80 << exponent) + step * mantissa + step // 2 - 4 * 33)).astype(np.int16)


def _alaw_expand_ref(code: npt.NDArray[np.int32]) -> npt.NDArray[np.int16]:
    """Vectorised G.191 ``alaw_expand``."""
    ix = (code ^ 0x55) & 0x7F
    iexp = ix >> 4
    mant = ix & 0x0F
    mant = np.where(iexp > 0, mant + 16, mant)
    mant = (mant << 4) + 0x08
    mant = np.where(iexp > 1, mant << np.maximum(iexp - 1, 0), mant)
    return np.where(code > 127, mant, -mant).astype(np.int16)


_ALL_LINEAR = np.arange(-32768, 32768, dtype=np.int32)
_ALL_CODES = np.arange(256, dtype=np.int32)
# Indexed by (sample + 32768).
ULAW_ENCODE_TABLE: npt.NDArray[np.uint8] = _ulaw_compress_ref(_ALL_LINEAR)
ALAW_ENCODE_TABLE: npt.NDArray[np.uint8] = _alaw_compress_ref(_ALL_LINEAR)
# Indexed by code byte.
ULAW_DECODE_TABLE: Int16Array = _ulaw_expand_ref(_ALL_CODES)
ALAW_DECODE_TABLE: Int16Array = _alaw_expand_ref(_ALL_CODES)
for _t in (ULAW_ENCODE_TABLE, ALAW_ENCODE_TABLE, ULAW_DECODE_TABLE, ALAW_DECODE_TABLE):
    _t.setflags(write=False)
# G.711 µ-law ↔ A-law transcoding through the linear value.
ULAW_TO_ALAW: npt.NDArray[np.uint8] = ALAW_ENCODE_TABLE[ULAW_DECODE_TABLE.astype(np.int32) + 32768]
ALAW_TO_ULAW: npt.NDArray[np.uint8] = ULAW_ENCODE_TABLE[ALAW_DECODE_TABLE.astype(np.int32) + 32768]


def _index(pcm: npt.ArrayLike) -> npt.NDArray[np.int32]:
    arr = np.asarray(pcm)
    if arr.dtype != np.int16:
        raise ValueError(f"expected int16 PCM, got {arr.dtype}")
    return arr.astype(np.int32) + 32768


def ulaw_encode(pcm: npt.ArrayLike) -> bytes:
    """16-bit linear PCM → µ-law bytes (PCMU, RTP payload type 0)."""
    return ULAW_ENCODE_TABLE[_index(pcm)].tobytes()


def alaw_encode(pcm: npt.ArrayLike) -> bytes:
    """16-bit linear PCM → A-law bytes (PCMA, RTP payload type 8)."""
    return ALAW_ENCODE_TABLE[_index(pcm)].tobytes()


def ulaw_decode(data: bytes) -> Int16Array:
    """µ-law bytes → 16-bit linear PCM."""
    return ULAW_DECODE_TABLE[np.frombuffer(data, dtype=np.uint8)]


def alaw_decode(data: bytes) -> Int16Array:
    """A-law bytes → 16-bit linear PCM."""
    return ALAW_DECODE_TABLE[np.frombuffer(data, dtype=np.uint8)]


ULAW_TO_ALAW_BYTES = ULAW_TO_ALAW.tobytes()  # for bytes.translate on the RTP hot path


def ulaw_to_alaw(data: bytes) -> bytes:
    """Transcode PCMU to PCMA (via the linear value)."""
    return data.translate(ULAW_TO_ALAW_BYTES)


def alaw_to_ulaw(data: bytes) -> bytes:
    """Transcode PCMA to PCMU (via the linear value)."""
    return ALAW_TO_ULAW[np.frombuffer(data, dtype=np.uint8)].tobytes()


def tone_frames(freq: float = 440.0, seconds: float = 1.0, amplitude: int = 8000) -> list[bytes]:
    """A sine tone as 20 ms µ-law frames: a known prompt for tests, benchmarks and SIP checks."""
    n = np.arange(int(seconds * 8000))
    pcm = np.round(amplitude * np.sin(2 * np.pi * freq * n / 8000)).astype(np.int16)
    data = ulaw_encode(pcm)
    frames = [data[i : i + 160] for i in range(0, len(data), 160)]
    if frames and len(frames[-1]) < 160:
        frames[-1] = frames[-1] + bytes([ULAW_ZERO]) * (160 - len(frames[-1]))
    return frames
