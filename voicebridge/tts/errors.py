"""Exceptions raised by the TTS package, under the project's root error."""

from __future__ import annotations

from voicebridge.errors import VoicebridgeError


class TtsError(VoicebridgeError):
    """A prompt could not be rendered."""


class TtsUnavailable(TtsError):
    """No usable speech engine: the message names the missing package."""


class VoiceNotFound(TtsError):
    """The configured voice does not exist in the engine."""

    def __init__(self, voice: str, available: list[str]) -> None:
        self.voice = voice
        self.available = available
        shown = ", ".join(available[:12])
        super().__init__(f"voice {voice!r} not found (available include: {shown})")

    def __reduce__(self) -> tuple[type[VoiceNotFound], tuple[str, list[str]]]:
        # Raised in worker processes: must survive pickling.
        return (VoiceNotFound, (self.voice, self.available))
