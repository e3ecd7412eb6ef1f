"""Unified social credit code (统一社会信用代码, GB 32100-2015): format and check digit."""

from __future__ import annotations

__all__ = ["USCC_ALPHABET", "check_char", "normalize_uscc", "validate_uscc"]

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
"""The 31 code characters (I, O, S, V and Z are never used), in value order."""

_VALUE = {ch: i for i, ch in enumerate(USCC_ALPHABET)}
_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))  # 1, 3, 9, 27, 19, 26, 16, …
_AUTHORITIES = "123456789ANY"  # registration authority codes (first character)


def check_char(body: str) -> str:
    """The check character for the first 17 characters of a code.

    Raises ``ValueError`` if ``body`` is not 17 code characters.
    """
    if len(body) != 17 or any(ch not in _VALUE for ch in body):
        raise ValueError("body must be 17 characters from the USCC alphabet")
    total = sum(_VALUE[ch] * w for ch, w in zip(body, _WEIGHTS))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def normalize_uscc(code: str) -> str:
    """Strip spaces and hyphens and upper-case: what a user typed, ready to validate."""
    return "".join(ch for ch in code if ch not in " \t-\u3000").upper()


def validate_uscc(code: str) -> str | None:
    """``None`` if ``code`` is a valid 18-character code, else why not.

    Checks length, alphabet, the registration authority code, the 6-digit
    administrative division code and the check digit (the last character).
    Input is taken as is: call :func:`normalize_uscc` first for user input.
    """
    if not isinstance(code, str):
        return "licence code must be text"
    if len(code) != 18:
        return f"licence code must be 18 characters, got {len(code)}"
    for pos, ch in enumerate(code, start=1):
        if ch not in _VALUE:
            return (
                f"licence code has {ch!r} at position {pos}: only digits and "
                "upper-case letters other than I, O, S, V, Z are allowed"
            )
    if code[0] not in _AUTHORITIES:
        return f"licence code starts with {code[0]!r}, not a registration authority code (1-9, A, N or Y)"
    if not code[2:8].isdigit():
        return "licence code positions 3-8 must be digits (administrative division code)"
    expected = check_char(code[:17])
    if code[17] != expected:
        return f"licence code check digit is {code[17]!r}, expected {expected!r}"
    return None
