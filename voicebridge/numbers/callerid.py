"""Caller-ID choice: which of a tenant's numbers a reminder call shows."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, Sequence

from voicebridge.numbers.e164 import city_of

__all__ = ["OwnedNumber", "NumberLike", "city_key", "choose_caller", "choose_caller_for_reminder"]


@dataclass(frozen=True)
class OwnedNumber:
    """One of the tenant's in-use ``call_notify`` numbers."""

    e164: str
    city: str  # as loaded by the operator ("北京", "Beijing", "江苏省连云港市" …); may be empty
    issued_at: datetime


class NumberLike(Protocol):
    """Anything with the fields of :class:`OwnedNumber` (a store row will do)."""

    @property
    def e164(self) -> str: ...

    @property
    def city(self) -> str: ...

    @property
    def issued_at(self) -> datetime: ...


_PROVINCES = (
    "河北|山西|辽宁|吉林|黑龙江|江苏|浙江|安徽|福建|江西|山东|河南|湖北|湖南|广东|海南|四川|贵州"
    "|云南|陕西|甘肃|青海|台湾|内蒙古|广西|西藏|宁夏|新疆"
)
_ZH_PROVINCE = re.compile(rf"^(?:{_PROVINCES})(?:省|壮族自治区|回族自治区|维吾尔自治区|自治区)?")
_ZH_AUTONOMOUS = re.compile(
    r"(?:(?:朝鲜|土家|苗|藏|羌|彝|哈尼|壮|傣|白|景颇|傈僳|布依|侗|蒙古|回|哈萨克|柯尔克孜)族?)*自治[州县旗]$"
)
_ZH_SUFFIX = re.compile(r"(?:特别行政区|地区|林区|市|盟)$")
_CJK = re.compile(r"[\u4e00-\u9fff]")


def city_key(place: str) -> str:
    """A comparable key for a place name in English or Chinese.

    ``"Lianyungang, Jiangsu"`` → ``"lianyungang"``; ``"江苏省连云港市"`` → ``"连云港"``;
    ``"云南省红河哈尼族彝族自治州"`` → ``"红河"``; ``""`` → ``""``.
    """
    text = place.strip()
    if not text:
        return ""
    if _CJK.search(text):
        text = re.split(r"[、,，/ ]", text)[0]
        text = _ZH_AUTONOMOUS.sub("", text) or text
        if len(text) > 2:
            text = _ZH_SUFFIX.sub("", text)
        rest = _ZH_PROVINCE.sub("", text)
        return rest if len(rest) >= 2 else text
    text = re.split(r"[,/]", text)[0].lower()
    text = re.sub(r"\s+city$", "", text.strip())
    return re.sub(r"[^0-9a-z]", "", text)


def _callee_keys(callee_e164: str) -> set[str]:
    return {k for k in (city_key(city_of(callee_e164, "en")), city_key(city_of(callee_e164, "zh"))) if k}


def _number_key(number: NumberLike) -> str:
    return city_key(number.city or city_of(number.e164, "zh"))


def _order(number: NumberLike) -> tuple[datetime, str]:
    return (number.issued_at, number.e164)


def choose_caller(numbers: Sequence[NumberLike], callee_e164: str) -> str | None:
    """The number to show when calling ``callee_e164``; ``None`` if there is none.

    ``numbers`` are the tenant's in-use ``call_notify`` numbers. The first
    issued number in the callee's city wins; otherwise the first issued of all.
    """
    if not numbers:
        return None
    keys = _callee_keys(callee_e164)
    local = [n for n in numbers if keys and _number_key(n) in keys]
    return min(local or numbers, key=_order).e164


def choose_caller_for_reminder(numbers: Sequence[NumberLike], callees_e164: Sequence[str]) -> str | None:
    """One number for every call of a reminder: the one in the city of most callees.

    Ties (and no city match at all) go to the first issued number.
    """
    if not numbers:
        return None
    if len({_number_key(n) for n in numbers}) == 1:
        return min(numbers, key=_order).e164  # one city (or one number): nothing to choose, skip geocoding
    callee_keys = [_callee_keys(c) for c in callees_e164]
    best = min(numbers, key=lambda n: (-sum(_number_key(n) in ks for ks in callee_keys), *_order(n)))
    return best.e164
