"""``voicebridge tts say TEXT --lang L -o FILE.wav``: hear a prompt.

The lead wires argparse; this module only renders and writes the file.
"""

from __future__ import annotations

import logging
from pathlib import Path

from voicebridge.domain import Prompt

from .engine import wav_bytes
from .service import TtsService, TtsSettings, render_wav

logger = logging.getLogger(__name__)


async def say(
    text: str,
    language: str,
    out_path: Path | str,
    data_dir: Path | str,
    settings: TtsSettings | None = None,
    original_rate: bool = False,
) -> Prompt:
    """Render ``text`` and write it as a WAV file.

    :param text: what to say, as is (use :func:`.templates.prompt_text` to
        build the reminder sentence).
    :param language: ``"zh-CN"`` or ``"en"``.
    :param out_path: the WAV file to write.
    :param data_dir: the service data directory (cache, engine HOME).
    :param settings: TTS settings; defaults to :class:`TtsSettings()`.
    :param original_rate: write the engine's own rate instead of the 8 kHz
        telephone audio the callee hears.
    :returns: the rendered 8 kHz prompt.
    """
    out = Path(out_path)
    async with TtsService(settings or TtsSettings(), Path(data_dir)) as tts:
        prompt = await tts.render(text, language)
        if original_rate:
            pcm, rate = await tts.render_pcm(text, language)
            data = wav_bytes(pcm, rate)
        else:
            data = render_wav(prompt)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    logger.info("wrote %s: %.2f s, %s", out, prompt.duration_s, prompt.language)
    return prompt
