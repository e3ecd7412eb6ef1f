"""Phone numbers: parse real-world input to E.164, format, mask, locate.

Pure functions over ``phonenumbers``; no I/O. Every number that enters
voicebridge goes through :func:`parse_phone` and is stored as E.164.
"""

from __future__ import annotations

import unicodedata

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber, PhoneNumberFormat, PhoneNumberType
from phonenumbers import ValidationResult, geocoder

__all__ = [
    "InvalidPhone",
    "REASONS",
    "parse_phone",
    "national",
    "mask",
    "city_of",
    "region_of",
]

REASONS: dict[str, str] = {
    "not_a_number": "is not a phone number",
    "too_short": "is too short",
    "too_long": "is too long",
    "invalid_country_code": "has no valid country code",
    "invalid": "is not a valid number",
    "has_extension": "has an extension, which cannot be dialled",
    "premium_rate": "is a premium-rate or shared-cost number",
    "not_mobile": "is not a mobile number",
    "fixed_line_not_allowed": "is a fixed-line number and only mobile numbers are allowed",
}
"""Every ``InvalidPhone.reason`` and the message it carries."""

MAX_INPUT_CHARS = 64

# Characters that may appear in a written phone number besides decimal digits.
# Letters (vanity numbers, "ext", "x") are refused up front: phonenumbers would
# otherwise turn "1-800-FLOWERS" into digits or drop trailing text.
_PUNCTUATION = frozenset(" \t\u00a0\u3000+-.()/\uff0b\uff0d\uff08\uff09\u2010\u2011\u2012\u2013\u2014\u2212\uff0e\uff0f")

_PREMIUM = frozenset({PhoneNumberType.PREMIUM_RATE, PhoneNumberType.SHARED_COST})
_MOBILE = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})


class InvalidPhone(ValueError):
    """A phone number that voicebridge will not store or dial.

    ``reason`` is a stable key from :data:`REASONS`; ``raw`` the input as given.
    ``str(exc)`` is a human message such as ``"'12345' is too short"``.
    """

    def __init__(self, raw: str, reason: str) -> None:
        if reason not in REASONS:
            raise ValueError(f"unknown InvalidPhone reason {reason!r}")
        self.raw = raw
        self.reason = reason
        self.message = f"{raw!r} {REASONS[reason]}"
        super().__init__(self.message)

    def __reduce__(self) -> tuple[type[InvalidPhone], tuple[str, str]]:
        return (InvalidPhone, (self.raw, self.reason))


def _is_allowed_char(ch: str) -> bool:
    return ch in _PUNCTUATION or unicodedata.category(ch) == "Nd"


def _length_reason(num: PhoneNumber, mobile_only: bool) -> str:
    """Why a number that is not valid fails: too short, too long or invalid.

    Judged against mobile lengths when only mobiles are wanted, else against
    mobile and fixed-line lengths together (both must agree).
    """
    kinds = (PhoneNumberType.MOBILE,) if mobile_only else (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE)
    reasons = {_REASON_OF.get(phonenumbers.is_possible_number_for_type_with_reason(num, k), "invalid") for k in kinds}
    return reasons.pop() if len(reasons) == 1 else "invalid"


_REASON_OF: dict[int, str] = {
    ValidationResult.TOO_SHORT: "too_short",
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "too_short",
    ValidationResult.TOO_LONG: "too_long",
    ValidationResult.INVALID_COUNTRY_CODE: "invalid_country_code",
}


def parse_phone(
    raw: str,
    region: str = "CN",
    *,
    allow_fixed_line: bool = False,
    allow_any_type: bool = False,
) -> str:
    """Parse a written phone number and return it as E.164 (``+8613812345678``).

    ``region`` is the default region for numbers written without a country
    code. By default only mobile numbers pass; ``allow_fixed_line`` also lets
    fixed lines through; ``allow_any_type`` (pool and caller numbers) accepts
    every valid type. Premium-rate and shared-cost numbers are always refused.
    Raises :class:`InvalidPhone` and nothing else.
    """
    if not isinstance(raw, str):
        raise InvalidPhone(repr(raw), "not_a_number")
    text = raw.strip()
    if not text or not any(unicodedata.category(ch) == "Nd" for ch in text):
        raise InvalidPhone(raw, "not_a_number")
    if not all(_is_allowed_char(ch) for ch in text):
        raise InvalidPhone(raw, "not_a_number")
    if len(text) > MAX_INPUT_CHARS:
        raise InvalidPhone(raw, "too_long")
    try:
        num = phonenumbers.parse(text, region)
    except NumberParseException as exc:
        raise InvalidPhone(raw, _PARSE_ERRORS.get(exc.error_type, "not_a_number")) from None
    if num.extension:
        raise InvalidPhone(raw, "has_extension")
    if not phonenumbers.is_valid_number(num):
        mobile_only = not (allow_any_type or allow_fixed_line)
        raise InvalidPhone(raw, _length_reason(num, mobile_only))
    kind = phonenumbers.number_type(num)
    if kind in _PREMIUM:
        raise InvalidPhone(raw, "premium_rate")
    if not allow_any_type and kind not in _MOBILE:
        if kind == PhoneNumberType.FIXED_LINE:
            if not allow_fixed_line:
                raise InvalidPhone(raw, "fixed_line_not_allowed")
        else:
            raise InvalidPhone(raw, "not_mobile")
    return phonenumbers.format_number(num, PhoneNumberFormat.E164)


_PARSE_ERRORS: dict[int, str] = {
    NumberParseException.INVALID_COUNTRY_CODE: "invalid_country_code",
    NumberParseException.NOT_A_NUMBER: "not_a_number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too_short",
    NumberParseException.TOO_SHORT_NSN: "too_short",
    NumberParseException.TOO_LONG: "too_long",
}


def _from_e164(e164: str) -> PhoneNumber:
    if not isinstance(e164, str) or not e164.startswith("+"):
        raise InvalidPhone(str(e164), "invalid_country_code")
    try:
        return phonenumbers.parse(e164, None)
    except NumberParseException as exc:
        raise InvalidPhone(e164, _PARSE_ERRORS.get(exc.error_type, "not_a_number")) from None


def national(e164: str) -> str:
    """National format for the console and CSV: ``138 1234 5678``, ``010 1234 5678``.

    Raises :class:`InvalidPhone` if ``e164`` is not an E.164 string.
    """
    return phonenumbers.format_number(_from_e164(e164), PhoneNumberFormat.NATIONAL)


def mask(e164: str) -> str:
    """Masked for logs: ``+86 138****5678``. Never raises.

    Keeps the country code and, of the national number, the first 3 and last 4
    digits (10 digits or more), the first 2 and last 2 (7 to 9 digits), or the
    last 2. Text that is not E.164 keeps only its last 2 digits.
    """
    try:
        num = _from_e164(e164)
    except InvalidPhone:
        digits = "".join(ch for ch in str(e164) if ch in "0123456789")
        if len(digits) <= 2:
            return "****"
        return "*" * (len(digits) - 2) + digits[-2:]
    nsn = phonenumbers.national_significant_number(num)
    if len(nsn) >= 10:
        body = nsn[:3] + "*" * (len(nsn) - 7) + nsn[-4:]
    elif len(nsn) >= 7:
        body = nsn[:2] + "*" * (len(nsn) - 4) + nsn[-2:]
    else:
        body = "*" * max(len(nsn) - 2, 2) + nsn[-2:]
    return f"+{num.country_code} {body}"


def city_of(e164: str, lang: str = "en") -> str:
    """The geocoder's place for the number (``Beijing``, ``江苏省连云港市``).

    Empty when unknown, when the number is invalid, or when only the country is
    known (a new mobile range): a country is not a city.
    """
    try:
        num = _from_e164(e164)
    except InvalidPhone:
        return ""
    place = geocoder.description_for_number(num, lang)
    if not place or place == geocoder.country_name_for_number(num, lang):
        return ""
    return place


def region_of(e164: str) -> str:
    """ISO 3166 region of the number (``CN``, ``HK``); empty when unknown."""
    try:
        num = _from_e164(e164)
    except InvalidPhone:
        return ""
    region = phonenumbers.region_code_for_number(num)
    return "" if region in (None, "ZZ", "001") else region
