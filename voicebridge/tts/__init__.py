"""Spoken prompts: templates, text front ends, engines, G.711 and a cache.

Public API::

    from voicebridge.tts import TtsService, TtsSettings, prompt_text, render_wav

    async with TtsService(TtsSettings(), data_dir) as tts:
        prompt = await tts.render(prompt_text("张三", "这是一条测试消息"), "zh-CN")
"""

from __future__ import annotations

from .errors import TtsError, TtsUnavailable, VoiceNotFound
from .service import TtsService, TtsSettings, pcma, render_wav, spoken_text
from .templates import LANGUAGES, TEMPLATES, normalize_language, prompt_text, validate_template

__all__ = [
    "LANGUAGES",
    "TEMPLATES",
    "TtsError",
    "TtsService",
    "TtsSettings",
    "TtsUnavailable",
    "VoiceNotFound",
    "normalize_language",
    "pcma",
    "prompt_text",
    "render_wav",
    "spoken_text",
    "validate_template",
]
