"""Speech engines: pyttsx3 on libespeak-ng, and the espeak-ng command line.

Both render synchronously and are meant to run inside a worker process (see
:mod:`voicebridge.tts.pool`), never on the event loop thread.

Facts about pyttsx3 2.99 on espeak-ng 1.51 that shape :class:`Pyttsx3Engine`
(measured, issue 4):

- ``save_to_file(); runAndWait()`` is racy: ``runAndWait`` can return before
  the file exists, and a job can be cancelled by a queued ``SetParameter`` plus
  a stale stop flag. The wrapper listens to ``finished-utterance`` and
  ``error``, waits for ``IsPlaying()``/``isBusy()`` to clear around each job,
  warms up with a throw-away render and retries a job that did not complete.
- One global engine and callback per process: not thread-safe. One engine per
  process, one job at a time (a lock guards it anyway).
- Setting an unknown voice only fires ``error`` and keeps the old voice, so
  the voice is checked after every job.
- It creates ``$HOME/.config/pulse``: the engine gets its own HOME/XDG dirs.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import importlib.metadata
import io
import logging
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from .errors import TtsError, TtsUnavailable, VoiceNotFound

logger = logging.getLogger(__name__)

ENGINES = ("pyttsx3", "espeak-ng")
ESPEAK_RATE_PARAM = 1  # espeak_RATE in speak_lib.h
ESPEAK_LIB_NAMES = ("libespeak-ng.so.1", "libespeak-ng.so")

Pcm = npt.NDArray[np.int16]


class TtsEngine(Protocol):
    """Renders text to 16-bit mono PCM. Synchronous; not thread-safe."""

    def synthesize(self, text: str, language: str) -> tuple[Pcm, int]:
        """Return ``(samples, sample_rate)`` for ``text`` in ``language``."""
        ...


@dataclass(frozen=True)
class EngineSpec:
    """Everything a worker process needs to build its engine (picklable).

    :param kind: ``"pyttsx3"`` or ``"espeak-ng"``.
    :param voices: espeak-ng voice per language, e.g. ``{"zh-CN": "cmn-latn-pinyin"}``.
    :param rates: words per minute per language.
    :param home: a private directory used as HOME and XDG base for the engine.
    :param timeout: seconds one job may take before it counts as failed.
    :param overrides: another engine for some languages, e.g. ``{"en": "piper"}``;
        ``kind`` then serves the other languages only.
    :param threads: compute threads per worker for engines that use them (piper);
        0 lets the engine choose.
    """

    kind: str
    voices: dict[str, str] = field(default_factory=dict)
    rates: dict[str, int] = field(default_factory=dict)
    home: str | None = None
    timeout: float = 20.0
    overrides: dict[str, str] = field(default_factory=dict)
    threads: int = 0


def private_env(home: str | None) -> dict[str, str]:
    """Environment variables that keep the engine's files under ``home``."""
    if home is None:
        return {}
    base = Path(home)
    dirs = {
        "HOME": base,
        "XDG_CONFIG_HOME": base / ".config",
        "XDG_CACHE_HOME": base / ".cache",
        "XDG_DATA_HOME": base / ".local" / "share",
        "XDG_RUNTIME_DIR": base / "run",
    }
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return {k: str(v) for k, v in dirs.items()}


def read_wav(data: bytes) -> tuple[Pcm, int]:
    """Parse a mono 16-bit PCM WAV, tolerating the unknown sizes of a stream.

    ``espeak-ng --stdout`` writes 0xFFFFFFFF-ish sizes because it cannot seek,
    so chunks are walked by hand and the data chunk runs to the end.
    """
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise TtsError("engine output is not a WAV file")
    pos = 12
    rate = channels = bits = 0
    while pos + 8 <= len(data):
        cid = data[pos : pos + 4]
        size = int.from_bytes(data[pos + 4 : pos + 8], "little")
        body = pos + 8
        if cid == b"fmt ":
            channels = int.from_bytes(data[body + 2 : body + 4], "little")
            rate = int.from_bytes(data[body + 4 : body + 8], "little")
            bits = int.from_bytes(data[body + 14 : body + 16], "little")
        elif cid == b"data":
            if channels != 1 or bits != 16:
                raise TtsError(f"expected mono 16-bit WAV, got {channels} channel(s) of {bits} bits")
            end = len(data) if size >= 0x7FFFFFFF else min(len(data), body + size)
            payload = data[body:end]
            payload = payload[: len(payload) // 2 * 2]
            return np.frombuffer(payload, dtype="<i2").astype(np.int16), rate
        pos = body + size + (size & 1)
    raise TtsError("WAV file has no data chunk")


def wav_bytes(pcm: npt.ArrayLike, rate: int) -> bytes:
    """A mono 16-bit PCM WAV file in memory."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(np.asarray(pcm, dtype="<i2").tobytes())
    return buf.getvalue()


# --------------------------------------------------------------------------
# Availability and versions (called in the parent; nothing is initialised)


def _load_libespeak() -> ctypes.CDLL:
    names = list(ESPEAK_LIB_NAMES)
    found = ctypes.util.find_library("espeak-ng")
    if found:
        names.insert(0, found)
    for name in names:
        try:
            return ctypes.CDLL(name)
        except OSError:
            continue
    raise TtsUnavailable(
        "libespeak-ng is not installed: install the Debian package 'libespeak-ng1' "
        "(apt-get install libespeak-ng1 espeak-ng)"
    )


def check_available(kind: str) -> None:
    """Raise :class:`TtsUnavailable` naming the missing package for ``kind``."""
    if kind == "pyttsx3":
        try:
            import pyttsx3  # noqa: F401
        except ImportError as exc:
            raise TtsUnavailable(f"the PyPI package 'pyttsx3' is not installed ({exc}): pip install pyttsx3") from exc
        _load_libespeak()
    elif kind == "espeak-ng":
        if shutil.which("espeak-ng") is None:
            raise TtsUnavailable("the espeak-ng command is not installed: install the Debian package 'espeak-ng'")
    else:
        raise TtsUnavailable(f"unknown TTS engine {kind!r}; expected one of {', '.join(ENGINES)}")


def engine_version(kind: str) -> str:
    """A string that changes whenever the engine's audio may change."""
    if kind == "pyttsx3":
        lib = _load_libespeak()
        lib.espeak_Info.restype = ctypes.c_char_p
        lib.espeak_Info.argtypes = [ctypes.c_void_p]
        espeak = (lib.espeak_Info(None) or b"?").decode()
        return f"pyttsx3-{importlib.metadata.version('pyttsx3')}/espeak-ng-{espeak}"
    if kind == "espeak-ng":
        out = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True, check=False, timeout=10)
        match = re.search(r"text-to-speech:\s*(\S+)", out.stdout)
        return f"espeak-ng-cli-{match.group(1) if match else '?'}"
    raise TtsUnavailable(f"unknown TTS engine {kind!r}")


# --------------------------------------------------------------------------
# pyttsx3


def remove_stale_workdirs(root: Path) -> None:
    """Remove job directories of worker processes that no longer exist."""
    for entry in root.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            os.kill(int(entry.name), 0)
        except ProcessLookupError:
            shutil.rmtree(entry, ignore_errors=True)
        except PermissionError:
            pass


class Pyttsx3Engine:
    """pyttsx3 (espeak driver) made dependable: see the module docstring.

    Build at most one per process; it owns the process-global espeak state.
    """

    def __init__(
        self,
        voices: dict[str, str],
        rates: dict[str, int],
        home: str | None = None,
        timeout: float = 20.0,
        retries: int = 2,
    ) -> None:
        os.environ.update(private_env(home))  # before pyttsx3 touches PulseAudio config
        try:
            import pyttsx3
            from pyttsx3.drivers import _espeak
        except ImportError as exc:
            raise TtsUnavailable(f"pyttsx3 is not usable ({exc}): pip install pyttsx3 and apt-get install libespeak-ng1") from exc
        except OSError as exc:
            raise TtsUnavailable(f"libespeak-ng is not usable ({exc}): apt-get install libespeak-ng1") from exc
        self._espeak: Any = _espeak
        jobs_root = Path(home or tempfile.gettempdir()) / "pyttsx3-jobs"
        jobs_root.mkdir(parents=True, exist_ok=True)
        remove_stale_workdirs(jobs_root)
        self._workdir = jobs_root / str(os.getpid())
        self._workdir.mkdir(exist_ok=True)
        self._timeout = timeout
        self._retries = retries
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._events: list[tuple[str, object]] = []
        self._jobs = 0
        with contextlib.redirect_stdout(io.StringIO()):
            self._engine: Any = pyttsx3.init("espeak")
        self._engine.connect("finished-utterance", self._on_finished)
        self._engine.connect("error", self._on_error)
        available = {v.id.lower(): v.id.lower() for v in self._engine.getProperty("voices")}
        self._voice_ids: dict[str, str] = {}
        for language, voice in voices.items():
            self._voice_ids[language] = self._resolve_voice(voice, available)
        self._voices = dict(voices)
        self._rates = dict(rates)
        for language in voices:  # warm-up: the first job after init is the flakiest
            self.synthesize("ok", language)
        logger.debug("pyttsx3 engine ready in pid %d: %s", os.getpid(), self._voice_ids)

    @staticmethod
    def _resolve_voice(voice: str, available: dict[str, str]) -> str:
        want = voice.lower()
        for vid in available:
            if vid == want or vid.rsplit("/", 1)[-1] == want:
                return vid
        raise VoiceNotFound(voice, sorted(v.rsplit("/", 1)[-1] for v in available))

    # listeners run on espeak's thread
    def _on_finished(self, name: object = None, completed: bool = True) -> None:
        self._events.append(("finished", completed))
        if completed:
            self._done.set()

    def _on_error(self, name: object = None, exception: object = None) -> None:
        self._events.append(("error", exception))

    def _wait_idle(self, deadline: float, driver_too: bool = False) -> None:
        """Wait until espeak is not synthesising (and, after a job, the driver idle).

        Before the first job the proxy reports busy until a loop runs, so the
        driver's flag is only waited for after a job.
        """
        while self._espeak.IsPlaying() or (driver_too and self._engine.isBusy()):
            if time.monotonic() > deadline:
                raise TtsError("espeak-ng stayed busy")
            time.sleep(0.002)

    def _current_rate(self) -> int | None:
        try:
            fn = self._espeak.dll.espeak_GetParameter
            fn.restype = ctypes.c_int
            return int(fn(ESPEAK_RATE_PARAM, 1))
        except AttributeError:
            return None

    def _apply(self, voice: str, rate: int, deadline: float) -> None:
        """Set voice and rate synchronously, outside pyttsx3's command queue.

        Queued through ``engine.setProperty`` they reach espeak's own command
        FIFO at a racy moment: about one job in six was rendered at the
        previous job's rate. Setting them on the driver directly, then waiting
        for espeak's FIFO to drain and reading the values back, is exact.
        """
        driver_cls = type(self._engine.proxy._driver)
        try:
            driver_cls.setProperty("voice", voice)
            driver_cls.setProperty("rate", rate)
            driver_cls.setProperty("volume", 1.0)
        except ValueError as exc:
            raise TtsError(f"could not set voice {voice!r} / rate {rate}: {exc}") from exc
        self._wait_idle(deadline)
        actual = self._current_rate()
        if actual is not None and actual != rate:
            raise TtsError(f"rate is {actual}, expected {rate}")

    def synthesize(self, text: str, language: str) -> tuple[Pcm, int]:
        if language not in self._voices:
            raise TtsError(f"no voice configured for language {language!r}")
        if not text.strip():
            raise TtsError("nothing to say")
        with self._lock:
            last: str = "no attempt"
            for attempt in range(self._retries + 1):
                try:
                    return self._job(text, language)
                except VoiceNotFound:
                    raise
                except TtsError as exc:
                    last = str(exc)
                    logger.warning("pyttsx3 job failed (attempt %d): %s", attempt + 1, exc)
            raise TtsError(f"pyttsx3 failed after {self._retries + 1} attempts: {last}")

    def _job(self, text: str, language: str) -> tuple[Pcm, int]:
        deadline = time.monotonic() + self._timeout
        self._wait_idle(deadline)
        self._jobs += 1
        path = self._workdir / f"job-{self._jobs}.wav"
        path.unlink(missing_ok=True)
        driver = getattr(getattr(self._engine, "proxy", None), "_driver", None)
        if driver is not None and getattr(driver, "_stopping", False):
            driver._stopping = False  # a stale stop flag cancels the next job
        self._done.clear()
        self._events.clear()
        voice, rate = self._voices[language], self._rates.get(language, 175)
        self._apply(voice, rate, deadline)
        try:
            with contextlib.redirect_stdout(io.StringIO()):  # the driver prints "Audio saved to …"
                self._engine.save_to_file(text, str(path))
                self._engine.runAndWait()
                finished = self._done.wait(max(deadline - time.monotonic(), 0.0))
                self._wait_idle(deadline, driver_too=True)
        except RuntimeError as exc:  # "run loop already started" after a failed job
            with contextlib.suppress(Exception):
                self._engine.endLoop()
            raise TtsError(f"pyttsx3 loop error: {exc}") from exc
        errors = [e for kind, e in self._events if kind == "error"]
        if errors:
            raise TtsError(f"pyttsx3 reported an error: {errors[0]}")
        current = str(self._engine.getProperty("voice") or "").lower()
        if current != self._voice_ids[language]:
            raise VoiceNotFound(voice, [current])
        if not finished:
            raise TtsError(f"no finished-utterance within {self._timeout} s")
        try:
            data = path.read_bytes()
        except FileNotFoundError as exc:
            raise TtsError("finished-utterance fired but the WAV file is missing") from exc
        finally:
            path.unlink(missing_ok=True)
        pcm, sr = read_wav(data)
        if pcm.size == 0:
            raise TtsError("empty audio")
        return pcm, sr


# --------------------------------------------------------------------------
# espeak-ng command line


class EspeakCliEngine:
    """Runs ``espeak-ng --stdout`` per job: slower to start, but independent."""

    def __init__(
        self,
        voices: dict[str, str],
        rates: dict[str, int],
        home: str | None = None,
        timeout: float = 20.0,
        executable: str = "espeak-ng",
    ) -> None:
        exe = shutil.which(executable)
        if exe is None:
            raise TtsUnavailable("the espeak-ng command is not installed: install the Debian package 'espeak-ng'")
        self._exe = exe
        self._env = {**os.environ, **private_env(home)}
        self._timeout = timeout
        self._voices = dict(voices)
        self._rates = dict(rates)
        listing = subprocess.run(
            [exe, "--voices"], capture_output=True, text=True, check=True, timeout=timeout, env=self._env
        ).stdout
        known = set()
        for line in listing.splitlines()[1:]:
            cols = line.split()
            if len(cols) >= 5:
                known.add(cols[1].lower())
                known.add(cols[4].lower().rsplit("/", 1)[-1])
        for voice in voices.values():
            if voice.lower() not in known:
                raise VoiceNotFound(voice, sorted(known))

    def synthesize(self, text: str, language: str) -> tuple[Pcm, int]:
        if language not in self._voices:
            raise TtsError(f"no voice configured for language {language!r}")
        if not text.strip():
            raise TtsError("nothing to say")
        cmd = [self._exe, "-v", self._voices[language], "-s", str(self._rates.get(language, 175)), "--stdout"]
        proc = subprocess.run(
            cmd, input=text.encode("utf-8"), capture_output=True, timeout=self._timeout, env=self._env, check=False
        )
        if proc.returncode != 0:
            raise TtsError(f"espeak-ng exited {proc.returncode}: {proc.stderr.decode(errors='replace').strip()}")
        pcm, rate = read_wav(proc.stdout)
        if pcm.size == 0:
            raise TtsError("empty audio")
        return pcm, rate


class RoutingEngine:
    """Sends each language to its own engine (e.g. zh-CN → pyttsx3, en → piper)."""

    def __init__(self, by_language: dict[str, TtsEngine]) -> None:
        self.by_language = dict(by_language)

    def synthesize(self, text: str, language: str) -> tuple[Pcm, int]:
        engine = self.by_language.get(language)
        if engine is None:
            raise TtsError(f"no engine configured for language {language!r}")
        return engine.synthesize(text, language)


def _build_one(kind: str, spec: EngineSpec, languages: list[str]) -> TtsEngine:
    voices = {lang: v for lang, v in spec.voices.items() if lang in languages}
    rates = {lang: r for lang, r in spec.rates.items() if lang in languages}
    if kind == "pyttsx3":
        return Pyttsx3Engine(voices, rates, spec.home, spec.timeout)
    if kind == "espeak-ng":
        return EspeakCliEngine(voices, rates, spec.home, spec.timeout)
    if kind == "piper":
        from .engine_piper import LANGUAGES as PIPER_LANGUAGES
        from .engine_piper import PiperEngine

        unsupported = [lang for lang in languages if lang not in PIPER_LANGUAGES]
        if unsupported:
            raise TtsUnavailable(f"the piper engine speaks English only, not {', '.join(unsupported)}")
        return PiperEngine(spec.home, spec.threads)
    raise TtsUnavailable(f"unknown TTS engine {kind!r}; expected one of {', '.join(ENGINES)}")


def build_engine(spec: EngineSpec) -> TtsEngine:
    """Construct the engine ``spec`` names (in the calling process)."""
    if not spec.overrides:
        return _build_one(spec.kind, spec, list(spec.voices))
    kinds: dict[str, list[str]] = {}
    for lang in spec.voices:
        kinds.setdefault(spec.overrides.get(lang, spec.kind), []).append(lang)
    engines = {kind: _build_one(kind, spec, langs) for kind, langs in kinds.items()}
    return RoutingEngine({lang: engines[kind] for kind, langs in kinds.items() for lang in langs})
