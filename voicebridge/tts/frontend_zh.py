"""Mandarin text front end for espeak-ng's ``cmn-latn-pinyin`` voice.

espeak-ng 1.51 reads Mandarin text with several faults (measured, issue 4):
numbers with Western grouping (10086 → 十千…), wrong polyphones (重听 read
zhòng, 银行 xíng), ``#``/``*``/``%`` and Latin words in English, and characters
outside the BMP as their code points. This module rewrites the text so the
voice reads it right:

1. non-BMP characters are dropped;
2. numbers are read with ``cn2an``; runs of 5+ digits and codes with a leading
   zero are read digit by digit, like phone numbers (1 as 幺);
3. Latin brand names come from :data:`BRANDS`, short upper-case acronyms are
   spelled letter by letter;
4. symbols become words (井号, 星号, 百分之…);
5. last, :data:`POLYPHONES` replaces words with inline tone-numbered pinyin
   (``chong2ting1``), which the ``cmn-latn-pinyin`` voice reads as written.
"""

from __future__ import annotations

import logging
import re
import warnings

logger = logging.getLogger(__name__)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import cn2an

#: Words espeak-ng reads with the wrong tone or initial; checked with
#: ``espeak-ng -v cmn-latn-pinyin -x``. Longest match wins.
POLYPHONES: dict[str, str] = {
    "重听": "chong2ting1",
    "重播": "chong2bo1",
    "重拨": "chong2bo1",
    "重新": "chong2xin1",
    "重复": "chong2fu4",
    "重庆": "chong2qing4",
    "银行": "yin2hang2",
    "行长": "hang2zhang3",
    "行业": "hang2ye4",
    "会计": "kuai4ji4",
    "还款": "huan2kuan3",
    "归还": "gui1huan2",
    "了解": "liao3jie3",
    "音乐": "yin1yue4",
    "便宜": "pian2yi5",
    "调整": "tiao2zheng3",
    "调休": "tiao2xiu1",
    "长大": "zhang3da4",
    "校对": "jiao4dui4",
    "传记": "zhuan4ji4",
}

#: Latin names and how to say them (tone-numbered pinyin, Hanzi, or English
#: words, which the voice switches to English for). Matched case-insensitively.
BRANDS: dict[str, str] = {
    "WeLink": "wei1 link",
    "WeChat": "微信",
    "Huawei": "华为",
    "WiFi": "wai1 fai1",
    "Wi-Fi": "wai1 fai1",
    "iPhone": "ai1 feng4",
    "email": "邮件",
    "e-mail": "邮件",
    "OK": "ou1 kei4",
    "App": "A P P",
}

SYMBOLS: dict[str, str] = {
    "#": "井号",
    "*": "星号",
    "%": "百分号",
    "&": "和",
    "@": "艾特",
    "+": "加",
    "=": "等于",
    "￥": "人民币",
    "¥": "人民币",
    "$": "美元",
    "℃": "摄氏度",
    "°": "度",
}

_DIGIT_BY_DIGIT = str.maketrans("0123456789", "零幺二三四五六七八九")
_YEAR_DIGITS = str.maketrans("0123456789", "零一二三四五六七八九")

_NON_BMP = re.compile("[\U00010000-\U0010ffff]")
_THOUSANDS = re.compile(r"(?<![\d.])(\d{1,3})((?:,\d{3})+)(?![\d,]*\d)")
_TIME = re.compile(r"(?<!\d)([01]?\d|2[0-3]):([0-5]\d)(?!\d)")
_YEAR = re.compile(r"(?<!\d)(\d{4})(?=年)")
_NUMBER = re.compile(r"(?<![\d.])(-)?(\d+)(\.\d+)?(%)?")
_RANGE = re.compile(r"(?<![\d.])(\d+)[-~～](\d+)(?![\d.])")
_ACRONYM = re.compile(r"(?<![A-Za-z])([A-Z]{2,6})(?![A-Za-z])")


def _brand_pattern() -> re.Pattern[str]:
    names = sorted(BRANDS, key=len, reverse=True)
    return re.compile(
        r"(?<![A-Za-z])(" + "|".join(re.escape(n) for n in names) + r")(?![A-Za-z])", re.IGNORECASE
    )


_BRAND = _brand_pattern()
_BRAND_LOOKUP = {k.lower(): v for k, v in BRANDS.items()}
_POLYPHONE = re.compile("|".join(re.escape(w) for w in sorted(POLYPHONES, key=len, reverse=True)))


def read_digits(digits: str) -> str:
    """Read a digit string one digit at a time, as for a phone number."""
    return digits.translate(_DIGIT_BY_DIGIT)


def _number(match: re.Match[str], minus: bool) -> str:
    _sign, integer, fraction, percent = match.groups()
    if fraction is None and (len(integer) >= 5 or (len(integer) > 1 and integer[0] == "0")):
        spoken = read_digits(integer)
        return ("负" if minus else "") + spoken + ("百分号" if percent else "")
    spoken = cn2an.an2cn(integer + (fraction or ""))
    if minus:
        spoken = "负" + spoken
    if percent:
        spoken = "百分之" + spoken
    return spoken


def _minus_sign(text: str, start: int) -> bool:
    """A '-' is a minus sign only where no word or number comes before it."""
    return start == 0 or not text[start - 1].isalnum()


def _range(match: re.Match[str]) -> str:
    left, right = match.groups()
    if len(left) <= 3 and len(right) <= 3 and not (left + right).startswith("0"):
        return f"{left}到{right}"  # 3-5天
    return f"{left} {right}"  # 010-12345678: a pause between groups


def _numbers(text: str) -> str:
    text = _RANGE.sub(_range, text)
    text = _THOUSANDS.sub(lambda m: m.group(1) + m.group(2).replace(",", ""), text)
    text = _YEAR.sub(lambda m: m.group(1).translate(_YEAR_DIGITS), text)
    text = _TIME.sub(
        lambda m: cn2an.an2cn(m.group(1)) + "点" + ("" if m.group(2) == "00" else cn2an.an2cn(m.group(2)) + "分"),
        text,
    )

    def sub(match: re.Match[str]) -> str:
        if match.group(1) and not _minus_sign(text, match.start()):
            # "A-1": the dash is a separator, keep it as a pause.
            return " " + _number(match, minus=False)
        return _number(match, minus=bool(match.group(1)))

    return _NUMBER.sub(sub, text)


def _symbols(text: str) -> str:
    text = text.replace("#号", "#").replace("*号", "*")
    return "".join(SYMBOLS.get(ch, ch) for ch in text)


def to_spoken_zh(text: str) -> str:
    """Rewrite cleaned Mandarin text so ``cmn-latn-pinyin`` reads it right."""
    text = _NON_BMP.sub("", text)
    # Numbers first: brand and polyphone pinyin carries tone digits of its own.
    # Before symbols too: "50%" is 百分之五十, not 五十百分号.
    text = _numbers(text)
    text = _BRAND.sub(lambda m: f" {_BRAND_LOOKUP[m.group(1).lower()]} ", text)
    text = _ACRONYM.sub(lambda m: " " + " ".join(m.group(1)) + " ", text)
    text = _symbols(text)
    text = _POLYPHONE.sub(lambda m: f" {POLYPHONES[m.group(0)]} ", text)
    return re.sub(r"\s+", " ", text).strip()
