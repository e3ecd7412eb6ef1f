"""Language-independent text clean-up before synthesis.

Removes what a speech engine would read badly or not at all: control
characters, emoji and pictographs, characters outside the Basic Multilingual
Plane (espeak-ng reads them as code points), and URLs, which are spoken as one
word ("链接" / "a link"). Mentions keep the name and drop the "@". Whitespace
is folded to single spaces.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Callable

URL_WORD: dict[str, str] = {"zh-CN": "链接", "en": "a link"}
EMAIL_WORD: dict[str, str] = {"zh-CN": "邮箱地址", "en": "an email address"}

# ASCII characters a URL may contain (RFC 3986); stops at the first CJK character.
_URL = re.compile(r"(?i)(?<![A-Za-z0-9])(?:https?://|ftp://|www\.)[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")
_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+(?![A-Za-z0-9\-])")
_MENTION = re.compile(r"(?<![\w.])[@＠](?=\w)")
_URL_TRAILING = ".,;:!?)]'"
_WS = re.compile(r"\s+")
_SPACE_BEFORE_PUNCT = re.compile(r" ([,.;:!?，。；：！？、])")
# Categories dropped outright: format (ZWJ, bidi marks), surrogates, private
# use, unassigned, and "other symbol" (emoji, dingbats, pictographs).
_DROP_CATEGORIES = frozenset({"Cf", "Cs", "Co", "Cn", "So", "Sk"})
_KEEP_SYMBOLS = frozenset("°©®")


def _replace_url(word: str) -> Callable[[re.Match[str]], str]:
    def sub(match: re.Match[str]) -> str:
        url = match.group(0)
        stripped = url.rstrip(_URL_TRAILING)
        return f" {word} " + url[len(stripped) :]

    return sub


def _keep(ch: str) -> bool:
    if ord(ch) > 0xFFFF:
        return False
    if ch in _KEEP_SYMBOLS:
        return True
    cat = unicodedata.category(ch)
    if cat in _DROP_CATEGORIES:
        return False
    if cat == "Mn" and 0xFE00 <= ord(ch) <= 0xFE0F:  # variation selectors
        return False
    return True


def clean_text(text: str, language: str) -> str:
    """Return ``text`` ready for the language front end.

    :param text: any user-supplied text.
    :param language: ``"zh-CN"`` or ``"en"``; picks the word spoken for URLs.
    """
    text = unicodedata.normalize("NFKC", text)
    text = _URL.sub(_replace_url(URL_WORD[language]), text)
    text = _EMAIL.sub(f" {EMAIL_WORD[language]} ", text)
    text = _MENTION.sub("", text)
    out = []
    for ch in text:
        if unicodedata.category(ch) == "Cc":
            out.append(" ")
        elif _keep(ch):
            out.append(ch)
    text = _WS.sub(" ", "".join(out)).strip()
    return _SPACE_BEFORE_PUNCT.sub(r"\1", text)
