"""The TTS service with the real engine: audio, cache, single-flight, recovery."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import wave
from pathlib import Path

import numpy as np
import pytest

from voicebridge.domain import FRAME_BYTES, Prompt
from voicebridge.tts import TtsService, TtsSettings, TtsUnavailable, pcma, prompt_text, render_wav
from voicebridge.tts import engine as engine_mod
from voicebridge.tts.cache import PromptCache, cache_key
from voicebridge.tts.cli_say import say
from voicebridge.tts.engine import EspeakCliEngine, check_available, read_wav
from voicebridge.g711 import ulaw_decode

from .conftest import SAMPLE_ZH

SAMPLE_EN = prompt_text("Zhang San", "This is a test message", "en")


def rms_dbfs(prompt: Prompt) -> float:
    pcm = ulaw_decode(prompt.pcmu).astype(np.float64)
    return 20 * np.log10(np.sqrt(np.mean(pcm**2)) / 32768)


@pytest.mark.parametrize(("text", "lang"), [(SAMPLE_ZH, "zh-CN"), (SAMPLE_EN, "en")])
async def test_sample_sentence_renders(tts: TtsService, text: str, lang: str) -> None:
    prompt = await tts.render(text, lang)
    assert prompt.language == lang and prompt.text == text
    # ~10 s at the default rates; a wrong voice (spoken tone numbers) or a lost
    # rate setting moves it well outside this band.
    assert 8.0 <= prompt.duration_s <= 12.5, prompt.duration_s
    assert -30.0 < rms_dbfs(prompt) < -6.0  # audible, with headroom
    peak = int(np.abs(ulaw_decode(prompt.pcmu).astype(np.int32)).max())
    assert 20000 < peak < 24000  # peak-normalised to -3 dBFS (23,197) within a µ-law step
    frames = prompt.frames()
    assert all(len(f) == FRAME_BYTES for f in frames)
    assert len(frames) == -(-len(prompt.pcmu) // FRAME_BYTES)


async def test_speech_is_in_the_telephone_band(tts: TtsService) -> None:
    prompt = await tts.render(SAMPLE_ZH, "zh-CN")
    pcm = ulaw_decode(prompt.pcmu).astype(np.float64)
    power = np.abs(np.fft.rfft(pcm)) ** 2
    freqs = np.fft.rfftfreq(pcm.size, 1 / 8000)
    assert power[(freqs > 3900)].sum() < 0.001 * power.sum()  # anti-aliased
    assert power[(freqs > 200) & (freqs < 3400)].sum() > 0.8 * power.sum()


async def test_mandarin_voice_reads_hanzi_not_tone_numbers(tts: TtsService) -> None:
    # The broken `cmn` voice reads most Hanzi as English pinyin with spoken
    # tone numbers ("san one"), about twice as long. Six syllables ≈ 1.3 s.
    prompt = await tts.render("结束请挂机了", "zh-CN")
    assert 0.8 < prompt.duration_s < 2.2, prompt.duration_s


async def test_cache_miss_then_hit_then_hit_from_disk(tmp_path: Path) -> None:
    settings = TtsSettings(fallback=False)
    async with TtsService(settings, tmp_path) as first:
        a = await first.render("缓存测试一", "zh-CN")
        b = await first.render("缓存测试一", "zh")
        assert a.pcmu == b.pcmu
        assert (first.stats.renders, first.stats.cache_hits) == (1, 1)
    async with TtsService(settings, tmp_path) as second:
        c = await second.render("缓存测试一", "zh-CN")
        assert c.pcmu == a.pcmu
        assert (second.stats.renders, second.stats.cache_hits) == (0, 1)
        await second.render("缓存测试二", "zh-CN")
        assert second.stats.renders == 1
    files = list((tmp_path / "tts-cache").glob("??/*.pcmu"))
    assert len(files) == 2


async def test_cache_key_covers_voice_rate_and_language(tts: TtsService) -> None:
    k = tts.key_for("你好", "zh-CN")
    assert k != tts.key_for("你好", "en")
    assert k != tts.key_for("你好!", "zh-CN")
    slower = TtsService(TtsSettings(rate_zh=150), tts.data_dir)
    slower.engine_version = tts.engine_version
    assert k != slower.key_for("你好", "zh-CN")


async def test_single_flight(tts: TtsService) -> None:
    prompts = await asyncio.gather(*(tts.render("同时请求同一条消息", "zh-CN") for _ in range(10)))
    assert len({p.pcmu for p in prompts}) == 1
    assert tts.stats.renders == 1
    assert tts.stats.joined == 9


async def test_cancelled_waiter_does_not_cancel_the_render(tts: TtsService) -> None:
    first = asyncio.create_task(tts.render("取消测试", "zh-CN"))
    second = asyncio.create_task(tts.render("取消测试", "zh-CN"))
    await asyncio.sleep(0)
    first.cancel()
    prompt = await second
    assert prompt.duration_s > 0.3
    with pytest.raises(asyncio.CancelledError):
        await first


def test_cache_evicts_least_recently_used(tmp_path: Path) -> None:
    cache = PromptCache(tmp_path, max_bytes=2500)
    keys = [cache_key(n=i) for i in range(3)]
    for i, key in enumerate(keys[:2]):
        cache.put(key, bytes(1000))
        os.utime(cache._path(key), (1000 + i, 1000 + i))
    assert cache.get(keys[0]) is not None  # touch: keys[1] is now the oldest
    cache.put(keys[2], bytes(1000))
    assert cache.get(keys[1]) is None
    assert cache.get(keys[0]) is not None and cache.get(keys[2]) is not None
    assert cache.total_bytes == 2000 and cache.evictions == 1


async def test_pool_recovers_after_worker_is_killed(tts: TtsService) -> None:
    await tts.render("杀死之前", "zh-CN")
    pids = await tts.pool.pids()
    assert len(pids) == 1
    os.kill(pids[0], signal.SIGKILL)
    prompt = await tts.render("杀死之后", "zh-CN")
    assert prompt.duration_s > 0.5
    assert tts.pool.restarts == 1
    new = await tts.pool.pids()
    assert new and new[0] != pids[0]


async def test_two_workers_render_the_same_audio_as_the_cli(tmp_path: Path) -> None:
    """Rate and voice must apply to the right job, however jobs interleave."""
    texts = [(f"第{i}条提醒消息,请按1" if i % 2 else f"Reminder number {i}, press 1", "zh-CN" if i % 2 else "en")
             for i in range(12)]
    settings = TtsSettings(workers=2, fallback=False)
    async with TtsService(settings, tmp_path) as tts:
        got = await asyncio.gather(*(tts.pool.synthesize(t, lang) for t, lang in texts))
    cli = EspeakCliEngine(settings.voices(), settings.rates(), str(tmp_path / "cli-home"))
    for (text, lang), (pcm, rate) in zip(texts, got):
        ref, ref_rate = cli.synthesize(text, lang)
        assert rate == ref_rate == 22050
        # pyttsx3 may drop espeak's last buffer (a few ms); a wrong rate is >5 %.
        assert abs(pcm.size - ref.size) < 0.03 * ref.size, (text, pcm.size, ref.size)


async def test_espeak_cli_engine_service(tmp_path: Path) -> None:
    async with TtsService(TtsSettings(engine="espeak-ng"), tmp_path) as tts:
        prompt = await tts.render(SAMPLE_ZH, "zh-CN")
        assert tts.engine == "espeak-ng" and tts.engine_version.startswith("espeak-ng-cli")
    assert 8.0 <= prompt.duration_s <= 12.5


async def test_unknown_voice_fails_at_start_naming_it(tmp_path: Path) -> None:
    tts = TtsService(TtsSettings(voice_zh="cmn-nosuch", fallback=False), tmp_path)
    with pytest.raises(TtsUnavailable, match="cmn-nosuch"):
        await tts.start()
    await tts.close()


def test_missing_packages_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_mod.shutil, "which", lambda _name: None)
    with pytest.raises(TtsUnavailable, match="Debian package 'espeak-ng'"):
        check_available("espeak-ng")
    monkeypatch.setattr(engine_mod, "ESPEAK_LIB_NAMES", ("libespeak-ng-missing.so.9",))
    monkeypatch.setattr(engine_mod.ctypes.util, "find_library", lambda _name: None)
    with pytest.raises(TtsUnavailable, match="libespeak-ng1"):
        check_available("pyttsx3")


async def test_render_before_start_and_bad_input(tmp_path: Path, tts: TtsService) -> None:
    with pytest.raises(Exception, match="not running"):
        await TtsService(TtsSettings(), tmp_path / "other").render("你好", "zh-CN")
    with pytest.raises(ValueError, match="nothing to say"):
        await tts.render("😀 \x00", "zh-CN")
    with pytest.raises(ValueError, match="unsupported language"):
        await tts.render("bonjour", "fr")


async def test_wav_export_and_pcma(tts: TtsService) -> None:
    prompt = await tts.render("导出测试", "zh-CN")
    with wave.open(io.BytesIO(render_wav(prompt))) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
        assert w.getnframes() == len(prompt.pcmu)
    assert len(pcma(prompt)) == len(prompt.pcmu)


async def test_cli_say_writes_audible_wav(tmp_path: Path) -> None:
    out = tmp_path / "out" / "prompt.wav"
    prompt = await say("Press 1 to hear it again", "en", out, tmp_path / "data")
    pcm, rate = read_wav(out.read_bytes())
    assert rate == 8000 and pcm.size == len(prompt.pcmu)
    assert np.sqrt(np.mean(pcm.astype(np.float64) ** 2)) > 500


async def test_pool_recovers_when_worker_dies_mid_render(tts: TtsService) -> None:
    await tts.render("预热", "zh-CN")
    (pid,) = await tts.pool.pids()
    long_text = "这是一条很长的测试消息,用来确认渲染过程中进程被杀死以后可以恢复。" * 25
    task = asyncio.create_task(tts.render(long_text, "zh-CN"))
    await asyncio.sleep(0.15)
    assert not task.done()
    os.kill(pid, signal.SIGKILL)
    prompt = await task
    assert prompt.duration_s > 25
    assert tts.pool.restarts == 1
