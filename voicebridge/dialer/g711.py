"""G.711 helpers (ITU-T G.711): µ-law ↔ linear ↔ A-law, as byte tables. Sans-IO."""

from __future__ import annotations

import math


def ulaw_to_linear(code: int) -> int:
    code = ~code & 0xFF
    sign = code & 0x80
    exponent = (code >> 4) & 0x07
    mantissa = code & 0x0F
    sample = ((mantissa << 3) + 0x84) << exponent
    sample -= 0x84
    return -sample if sign else sample


def linear_to_ulaw(sample: int) -> int:
    bias, clip = 0x84, 32635
    sign = 0x80 if sample < 0 else 0
    if sample < 0:
        sample = -sample
    sample = min(sample, clip) + bias
    exponent = 7
    mask = 0x4000
    while exponent > 0 and not sample & mask:
        exponent -= 1
        mask >>= 1
    mantissa = (sample >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


def linear_to_alaw(sample: int) -> int:
    sign = 0x80 if sample >= 0 else 0
    if sample < 0:
        sample = -sample - 1
    sample >>= 3  # 13-bit magnitude
    if sample < 32:
        code = sample >> 1
    else:
        exponent = 1
        value = sample >> 5
        while value > 1 and exponent < 7:
            value >>= 1
            exponent += 1
        code = (exponent << 4) | ((sample >> exponent) & 0x0F)
    return (code | sign) ^ 0x55


def alaw_to_linear(code: int) -> int:
    code ^= 0x55
    sign = code & 0x80
    exponent = (code >> 4) & 0x07
    mantissa = code & 0x0F
    if exponent == 0:
        sample = (mantissa << 4) + 8
    else:
        sample = ((mantissa << 4) + 0x108) << (exponent - 1)
    return sample if sign else -sample


ULAW_TO_ALAW = bytes(linear_to_alaw(ulaw_to_linear(c)) for c in range(256))


def ulaw_to_alaw(frame: bytes) -> bytes:
    return frame.translate(ULAW_TO_ALAW)


def tone_frames(freq: float = 440.0, seconds: float = 1.0, amplitude: int = 8000) -> list[bytes]:
    """A sine tone as 20 ms µ-law frames (for tests and benchmarks)."""
    samples = int(seconds * 8000)
    data = bytes(
        linear_to_ulaw(int(amplitude * math.sin(2 * math.pi * freq * n / 8000))) for n in range(samples)
    )
    frames = [data[i : i + 160] for i in range(0, len(data), 160)]
    if frames and len(frames[-1]) < 160:
        frames[-1] = frames[-1] + b"\xff" * (160 - len(frames[-1]))
    return frames
