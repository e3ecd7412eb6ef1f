"""Resampling to the 8 kHz telephone rate, and level normalisation.

espeak-ng renders at 22,050 Hz. ``resample`` works in the frequency domain
(numpy FFT): the spectrum above a cut-off just under the new Nyquist frequency
is removed with a raised-cosine roll-off, which is the anti-alias filter, and
the inverse transform is taken at the new length. The input is zero-padded so
that the output length is exact and the FFT sizes have only small factors.
Pure functions, no I/O.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

TELEPHONE_RATE = 8000
#: The pass band ends here and the roll-off reaches zero at the new Nyquist
#: frequency (a telephone channel carries 300-3,400 Hz).
PASSBAND_FRACTION = 0.9


def _smooth_at_least(n: int) -> int:
    """The smallest integer >= n whose prime factors are 2, 3, 5 or 7."""
    best = 1 << max(n - 1, 0).bit_length()
    f7 = 1
    while f7 < best:
        f5 = f7
        while f5 < best:
            f3 = f5
            while f3 < best:
                m = f3
                while m < n:
                    m *= 2
                best = min(best, m)
                f3 *= 3
            f5 *= 5
        f7 *= 7
    return best


def resample(pcm: npt.ArrayLike, src_rate: int, dst_rate: int = TELEPHONE_RATE) -> npt.NDArray[np.float64]:
    """Resample mono audio; returns float64 in the input's scale.

    :param pcm: 1-D samples (any numeric dtype).
    :param src_rate: input rate in Hz.
    :param dst_rate: output rate in Hz (8,000 for G.711).
    """
    x = np.asarray(pcm, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError("expected mono (1-D) audio")
    if src_rate <= 0 or dst_rate <= 0:
        raise ValueError("sample rates must be positive")
    if src_rate == dst_rate or x.size == 0:
        return x.copy()
    g = math.gcd(src_rate, dst_rate)
    up, down = dst_rate // g, src_rate // g
    out_len = (x.size * up) // down
    # Pad to a multiple of `down` (exact output length) with small prime factors.
    blocks = _smooth_at_least(-(-x.size // down))
    n_in = blocks * down
    n_out = blocks * up
    spec = np.fft.rfft(x, n=n_in)
    keep = n_out // 2 + 1
    if keep < spec.size:
        spec = spec[:keep].copy()
    else:
        spec = np.concatenate([spec, np.zeros(keep - spec.size, dtype=spec.dtype)])
    nyquist = min(src_rate, dst_rate) / 2
    freqs = np.arange(keep) * (src_rate / n_in)
    edge = PASSBAND_FRACTION * nyquist
    roll = (freqs > edge) & (freqs < nyquist)
    window = np.where(freqs <= edge, 1.0, 0.0)
    window[roll] = 0.5 * (1 + np.cos(np.pi * (freqs[roll] - edge) / (nyquist - edge)))
    y = np.fft.irfft(spec * window, n=n_out) * (n_out / n_in)
    return y[:out_len]


def normalize(samples: npt.ArrayLike, peak_dbfs: float = -3.0) -> npt.NDArray[np.int16]:
    """Scale so the peak sits at ``peak_dbfs`` and convert to int16.

    Silence stays silence. The Mandarin voice peaks near 0 dBFS on its own, so
    a few dB of headroom keeps G.711 and the far end's gain stages clean.
    """
    x = np.asarray(samples, dtype=np.float64)
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    if peak < 1.0:
        return np.zeros(x.shape, dtype=np.int16)
    target = 32767.0 * 10 ** (peak_dbfs / 20)
    y = np.rint(x * (target / peak))
    return np.clip(y, -32768, 32767).astype(np.int16)


def apply_gain(pcm: npt.ArrayLike, gain_db: float) -> npt.NDArray[np.int16]:
    """Multiply by ``gain_db`` (negative to attenuate), with clipping, as int16."""
    x = np.asarray(pcm, dtype=np.float64) * 10 ** (gain_db / 20)
    return np.clip(np.rint(x), -32768, 32767).astype(np.int16)


def to_telephone(pcm: npt.ArrayLike, src_rate: int, peak_dbfs: float = -3.0) -> npt.NDArray[np.int16]:
    """Engine output → 8 kHz int16, peak-normalised to ``peak_dbfs``."""
    return normalize(resample(pcm, src_rate, TELEPHONE_RATE), peak_dbfs)
