"""The three onboarding steps: their fields, their validation and their state machine.

Pure: no I/O. A step's record moves ``not_started → draft → submitted →
approved | rejected``; a rejected step can be edited (back to draft) or
resubmitted as is; an approved number order can be followed by a new order.
A step can only be submitted once the step before it is approved.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

from voicebridge.errors import FieldError
from voicebridge.numbers.e164 import InvalidPhone, parse_phone
from voicebridge.numbers.uscc import normalize_uscc, validate_uscc

__all__ = [
    "STEPS", "STATES", "ACTIONS", "Field", "FIELDS", "StepConflict",
    "earlier_step", "blocking_step", "next_state", "validate_data", "document_refs", "diff",
]

STEPS = ("activation", "filing", "number_order")
STATES = ("not_started", "draft", "submitted", "approved", "rejected")
ACTIONS = ("edit", "submit", "approve", "reject")

BUSINESS_TYPES = ("voice_notification", "enterprise_calling")
APP_NAMES = ("call_notify", "welink")
NUMBER_TYPES = ("fixed_line",)
MAX_ORDER_QUANTITY = 20
MAX_ID_IMAGES = 4

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_DOC_ID = re.compile(r"^doc_[0-9a-f]{20}$")


@dataclass(frozen=True)
class Field:
    """One field of a step. ``kind`` picks the check and the stored form:

    ``text`` (trimmed), ``email``, ``phone`` (mobile or fixed line, stored
    E.164), ``mobile`` (stored E.164), ``uscc`` (normalised licence code),
    ``enum``, ``int``, ``document`` (an uploaded document's id) and
    ``documents`` (a list of them).
    """

    name: str
    kind: str = "text"
    required: bool = True
    max_chars: int = 128
    choices: tuple[str, ...] = ()
    minimum: int = 1
    maximum: int = 1
    default: Any = None


FIELDS: dict[str, tuple[Field, ...]] = {
    "activation": (
        Field("business_type", "enum", choices=BUSINESS_TYPES),
        Field("contact_name", max_chars=64),
        Field("contact_email", "email", max_chars=254),
        Field("contact_phone", "phone"),
        Field("enterprise_name", max_chars=128),
        Field("carrier_note", required=False, max_chars=500),
        Field("enterprise_nature", max_chars=64),
        Field("industry", max_chars=64),
        Field("scenario", max_chars=500),
        Field("script", max_chars=500),
    ),
    "filing": (
        Field("enterprise_name", max_chars=128),
        Field("licence_code", "uscc"),
        Field("legal_person", max_chars=64),
        Field("legal_person_id_document", "document"),
        Field("unit_phone", "phone"),
        Field("scenario", max_chars=500),
        Field("script", max_chars=500),
        Field("handler_name", max_chars=64),
        Field("handler_mobile", "mobile"),
        Field("handler_address", max_chars=256),
        Field("licence_document", "document"),
        Field("commitment_letter_document", "document"),
        Field("application_letter_document", "document"),
        Field("id_images", "documents", minimum=1, maximum=MAX_ID_IMAGES),
    ),
    "number_order": (
        Field("enterprise_name", max_chars=128),
        Field("app_name", "enum", choices=APP_NAMES),
        Field("number_type", "enum", choices=NUMBER_TYPES, default="fixed_line"),
        Field("city", max_chars=64),
        Field("quantity", "int", minimum=1, maximum=MAX_ORDER_QUANTITY, default=1),
    ),
}


class StepConflict(Exception):
    """A transition the state machine refuses (HTTP 409). ``missing_step`` names
    the earlier step that must be approved first, when that is the reason."""

    def __init__(self, detail: str, missing_step: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.missing_step = missing_step


def earlier_step(step: str) -> str | None:
    i = STEPS.index(step)
    return STEPS[i - 1] if i else None


def blocking_step(step: str, states: Mapping[str, str]) -> str | None:
    """The first step before ``step`` that is not approved, else ``None``."""
    for earlier in STEPS[: STEPS.index(step)]:
        if states.get(earlier, "not_started") != "approved":
            return earlier
    return None


_MOVES: dict[tuple[str, str], str] = {
    ("not_started", "edit"): "draft",
    ("draft", "edit"): "draft",
    ("rejected", "edit"): "draft",
    ("draft", "submit"): "submitted",
    ("rejected", "submit"): "submitted",
    ("submitted", "approve"): "approved",
    ("submitted", "reject"): "rejected",
}


def next_state(step: str, state: str, action: str, states: Mapping[str, str] | None = None) -> str:
    """The state after ``action`` on a step in ``state``; raises :class:`StepConflict`.

    ``states`` (every step's state) is needed for ``submit``: the earlier steps
    must be approved.
    """
    if step not in STEPS:
        raise ValueError(f"unknown step {step!r}")
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    if action == "edit" and state == "approved" and step == "number_order":
        return "draft"  # a further order once the last one was approved
    new = _MOVES.get((state, action))
    if new is None:
        raise StepConflict(_refusal(step, state, action))
    if action == "submit":
        missing = blocking_step(step, states or {})
        if missing is not None:
            raise StepConflict(f"the {missing} step must be approved before {step} can be submitted", missing)
    return new


def _refusal(step: str, state: str, action: str) -> str:
    if action == "edit":
        if state == "submitted":
            return f"the {step} step is submitted and under review; it can be changed if the operator rejects it"
        return f"the {step} step is approved and can no longer be changed"
    if action == "submit":
        if state == "not_started":
            return f"the {step} step has no draft: PUT its fields first"
        if state == "submitted":
            return f"the {step} step is already submitted and awaits review"
        return f"the {step} step is already approved"
    return f"the {step} step is {state.replace('_', ' ')}, not submitted: only a submitted step can be reviewed"


def validate_data(step: str, data: Any, region: str = "CN", *, complete: bool = False) -> tuple[dict[str, Any], list[FieldError]]:
    """Check a step's fields. Returns (normalised data, problems).

    A draft may leave fields out (``complete=False``); a submission must hold
    every required field (``complete=True``, which also fills defaults).
    Phone numbers are parsed with the tenant's ``region`` and stored as E.164.
    A ``null`` value removes the field from a draft.
    """
    if not isinstance(data, dict):
        return {}, [FieldError("", "the body must be a JSON object of the step's fields", "type")]
    spec = {f.name: f for f in FIELDS[step]}
    errors: list[FieldError] = []
    clean: dict[str, Any] = {}
    for key in data:
        if key not in spec:
            errors.append(FieldError(key, f"is not a field of the {step} step", "unknown"))
    for f in FIELDS[step]:
        value = data.get(f.name)
        if value is None:
            if complete and f.default is not None:
                clean[f.name] = f.default
            elif complete and f.required:
                errors.append(FieldError(f.name, "is required", "required"))
            continue
        checked = _check(f, value, region, errors)
        if checked is not None:
            clean[f.name] = checked
    return clean, errors


def _check(f: Field, value: Any, region: str, errors: list[FieldError]) -> Any:
    def bad(message: str, code: str = "invalid", where: str = f.name) -> None:
        errors.append(FieldError(where, message, code))

    if f.kind == "int":
        if not isinstance(value, int) or isinstance(value, bool):
            return bad("must be a whole number", "type")
        if not f.minimum <= value <= f.maximum:
            return bad(f"must be from {f.minimum} to {f.maximum}", "range")
        return value
    if f.kind == "documents":
        if not isinstance(value, list):
            return bad("must be a list of document ids", "type")
        if not f.minimum <= len(value) <= f.maximum:
            return bad(f"must list {f.minimum} to {f.maximum} documents", "size")
        ok = True
        for i, item in enumerate(value):
            if not isinstance(item, str) or not _DOC_ID.match(item):
                bad("must be a document id from POST /v1/documents", "format", f"{f.name}/{i}")
                ok = False
        return list(value) if ok else None
    if not isinstance(value, str):
        return bad("must be a string", "type")
    text = value.strip()
    if not text:
        return bad("must not be empty", "required")
    if len(text) > f.max_chars:
        return bad(f"must be at most {f.max_chars} characters", "too_long")
    if f.kind == "text":
        return text
    if f.kind == "enum":
        if text not in f.choices:
            return bad(f"must be one of {', '.join(f.choices)}", "enum")
        return text
    if f.kind == "email":
        if not _EMAIL.match(text):
            return bad("is not an email address", "format")
        return text
    if f.kind in ("phone", "mobile"):
        try:
            return parse_phone(text, region, allow_fixed_line=f.kind == "phone")
        except InvalidPhone as exc:
            return bad(str(exc), exc.reason)
    if f.kind == "uscc":
        code = normalize_uscc(text)
        why = validate_uscc(code)
        if why is not None:
            return bad(why, "licence_code")
        return code
    if f.kind == "document":
        if not _DOC_ID.match(text):
            return bad("must be a document id from POST /v1/documents", "format")
        return text
    raise AssertionError(f"unknown field kind {f.kind!r}")


def document_refs(step: str, data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Every (field path, document id) the step's data refers to."""
    out: list[tuple[str, str]] = []
    for f in FIELDS[step]:
        value = data.get(f.name)
        if f.kind == "document" and isinstance(value, str):
            out.append((f.name, value))
        elif f.kind == "documents" and isinstance(value, list):
            out.extend((f"{f.name}/{i}", v) for i, v in enumerate(value) if isinstance(v, str))
    return out


def diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, list[Any]]:
    """What changed, for the audit trail: ``{field: [before, after]}``."""
    return {k: [old.get(k), new.get(k)] for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)}
