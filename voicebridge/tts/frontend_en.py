"""English text front end: keypad symbols as an IVR says them.

espeak-ng's English voices read numbers, percentages and most symbols well;
only the keypad keys need words ("#" is "hash", "*" is "asterisk" otherwise),
and long digit runs are read one digit at a time like phone numbers.
"""

from __future__ import annotations

import re

SYMBOLS: dict[str, str] = {"#": " pound ", "*": " star ", "&": " and ", "@": " at "}
_LONG_DIGITS = re.compile(r"(?<![\d.,])\d{5,}(?![\d.,]*\d)")


def to_spoken_en(text: str) -> str:
    """Rewrite cleaned English text for an espeak-ng English voice."""
    text = _LONG_DIGITS.sub(lambda m: " ".join(m.group(0)), text)
    text = "".join(SYMBOLS.get(ch, ch) for ch in text)
    return re.sub(r"\s+", " ", text).strip()
