"""Accepting a reminder: validate everything, then store it whole in one transaction.

A request is either accepted with all its recipients or refused with every bad
field listed; nothing of a refused request is stored.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Callable

from voicebridge.domain import CallStatus, iso, parse_iso, utcnow
from voicebridge.errors import FieldError, Problem, invalid
from voicebridge.numbers.callerid import OwnedNumber, choose_caller_for_reminder
from voicebridge.numbers.e164 import InvalidPhone, parse_phone
from voicebridge.store import calls as callstore
from voicebridge.store.sqlite import Row, SqliteStore
from voicebridge.store.tenants import new_id, steps, tenant_numbers
from voicebridge.tts.templates import LANGUAGES, prompt_text

MAX_ID_CHARS = 128
MAX_NAME_CHARS = 64


@dataclass(frozen=True)
class IntakeLimits:
    max_recipients: int = 200
    max_text_chars: int = 2000  # accepted; the spoken prompt cuts the text at a boundary with "…"
    app_name: str = "WeLink"


@dataclass(frozen=True)
class Recipient:
    user_id: str
    name: str | None
    phone: str  # E.164


@dataclass(frozen=True)
class ReminderRequest:
    group_id: str
    message_id: str
    sender_user_id: str
    sender_name: str
    text: str
    language: str
    recipients: tuple[Recipient, ...]
    callback_url: str | None
    urgent: bool = False


def body_hash(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _text(body: dict[str, Any], key: str, errors: list[FieldError], *, path: str = "", max_chars: int = MAX_ID_CHARS,
          required: bool = True) -> str | None:
    where = f"{path}{key}"
    value = body.get(key)
    if value is None:
        if required:
            errors.append(FieldError(where, "is required", "required"))
        return None
    if not isinstance(value, str):
        errors.append(FieldError(where, "must be a string", "type"))
        return None
    value = value.strip()
    if required and not value:
        errors.append(FieldError(where, "must not be empty", "required"))
        return None
    if len(value) > max_chars:
        errors.append(FieldError(where, f"must be at most {max_chars} characters", "too_long"))
        return None
    return value


def parse_request(body: Any, limits: IntakeLimits, region: str = "CN", *, allow_fixed_line: bool = False) -> ReminderRequest:
    """Check a POST /v1/reminders body; raises a 422 Problem listing every bad field.

    Recipients must be mobile numbers unless the tenant may call fixed lines."""
    if not isinstance(body, dict):
        raise invalid([FieldError("", "the body must be a JSON object", "type")])
    errors: list[FieldError] = []
    known = {"group_id", "message_id", "sender", "text", "recipients", "language", "callback_url", "urgent"}
    for key in body:
        if key not in known:
            errors.append(FieldError(key, "is not a known field", "unknown"))
    group_id = _text(body, "group_id", errors)
    message_id = _text(body, "message_id", errors)
    text = _text(body, "text", errors, max_chars=limits.max_text_chars)
    language = body.get("language", "zh-CN")
    if language not in LANGUAGES:
        errors.append(FieldError("language", f"must be one of {', '.join(LANGUAGES)}", "enum"))
    sender = body.get("sender")
    sender_id = sender_name = None
    if not isinstance(sender, dict):
        errors.append(FieldError("sender", "is required: an object with user_id and name", "required"))
    else:
        sender_id = _text(sender, "user_id", errors, path="sender/")
        sender_name = _text(sender, "name", errors, path="sender/", max_chars=MAX_NAME_CHARS)
    urgent = body.get("urgent", False)
    if not isinstance(urgent, bool):
        errors.append(FieldError("urgent", "must be true or false", "type"))
    callback_url = body.get("callback_url")
    if callback_url is not None:
        if not isinstance(callback_url, str) or not callback_url.startswith(("http://", "https://")) or len(callback_url) > 2048:
            errors.append(FieldError("callback_url", "must be an http(s) URL of at most 2048 characters", "format"))
    recipients: list[Recipient] = []
    raw = body.get("recipients")
    if not isinstance(raw, list):
        errors.append(FieldError("recipients", "is required: a list of {user_id, name?, phone}", "required"))
    elif not 1 <= len(raw) <= limits.max_recipients:
        errors.append(FieldError("recipients", f"must hold 1 to {limits.max_recipients} recipients", "size"))
    else:
        seen: dict[str, int] = {}
        for i, item in enumerate(raw):
            path = f"recipients/{i}/"
            if not isinstance(item, dict):
                errors.append(FieldError(f"recipients/{i}", "must be an object", "type"))
                continue
            for key in item:
                if key not in ("user_id", "name", "phone"):
                    errors.append(FieldError(f"{path}{key}", "is not a known field", "unknown"))
            user_id = _text(item, "user_id", errors, path=path)
            name = _text(item, "name", errors, path=path, max_chars=MAX_NAME_CHARS, required=False)
            phone_raw = _text(item, "phone", errors, path=path, max_chars=32)
            phone = None
            if phone_raw is not None:
                try:
                    phone = parse_phone(phone_raw, region, allow_fixed_line=allow_fixed_line)
                except InvalidPhone as exc:
                    errors.append(FieldError(f"{path}phone", str(exc), exc.reason))
            if user_id is not None:
                if user_id in seen:
                    errors.append(FieldError(f"{path}user_id", f"repeats recipients/{seen[user_id]}", "duplicate"))
                seen.setdefault(user_id, i)
            if user_id is not None and phone is not None:
                recipients.append(Recipient(user_id, name, phone))
    if errors:
        raise invalid(errors)
    assert group_id and message_id and text and sender_id and sender_name
    return ReminderRequest(
        group_id, message_id, sender_id, sender_name, text, language, tuple(recipients), callback_url, urgent is True
    )


async def ready_to_call(store: SqliteStore, tenant: Row) -> list[Row]:
    """The tenant's in-use call_notify numbers; a 409 Problem naming what is missing."""
    if tenant["arrears_state"] in ("retention", "released"):
        raise Problem(409, "Service suspended for arrears",
                      f"the tenant is in {tenant['arrears_state']}: top up the balance to call again",
                      type="https://voicebridge.dev/problems/arrears", extra={"arrears_state": tenant["arrears_state"]})
    numbers = [n for n in await tenant_numbers(store, tenant["id"], "in_use") if n["app_name"] == "call_notify"]
    if numbers:
        return numbers
    done = await steps(store, tenant["id"])
    for step in ("activation", "filing", "number_order"):
        if done.get(step, {}).get("state") != "approved":
            missing = step
            break
    else:
        missing = "number_order"
        # every step approved, but its numbers were released or paused
        raise Problem(409, "No calling number", "the tenant has no call_notify number in use: resume a paused number "
                      "or submit a new number_order", type="https://voicebridge.dev/problems/not-ready",
                      extra={"missing_step": missing})
    raise Problem(409, "No calling number", f"the tenant has no call_notify number in use: the {missing} step is not approved",
                  type="https://voicebridge.dev/problems/not-ready", extra={"missing_step": missing})


async def accept(
    store: SqliteStore, tenant: Row, body: Any, limits: IntakeLimits, idempotency_key: str | None = None,
    admit: Callable[[int], None] | None = None,
) -> tuple[int, dict[str, Any], Row | None]:
    """Validate and store a reminder. Returns (HTTP status, response body, reminder row or None if replayed)."""
    key_hash = body_hash(body)
    if idempotency_key is not None:
        earlier = await callstore.get_idempotent(store, tenant["id"], idempotency_key)
        if earlier is not None:
            if earlier["body_hash"] != key_hash:
                raise Problem(409, "Idempotency key reused", "this Idempotency-Key was used with another body",
                              [FieldError("Idempotency-Key", "was used with another body", "conflict")],
                              type="https://voicebridge.dev/problems/idempotency")
            return int(earlier["status"]), json.loads(earlier["response"]), None
    request = parse_request(body, limits, tenant["region"], allow_fixed_line=bool(tenant.get("allow_fixed_line")))
    if admit is not None:
        admit(len(request.recipients))  # rate limits: may refuse before anything is stored
    numbers = await ready_to_call(store, tenant)
    owned = [OwnedNumber(n["e164"], n["city"], parse_iso(n["issued_at"]) or utcnow()) for n in numbers]
    caller = choose_caller_for_reminder(owned, [r.phone for r in request.recipients]) or numbers[0]["e164"]
    now = iso(utcnow())
    reminder_id = new_id("rm")
    reminder = {
        "id": reminder_id,
        "tenant_id": tenant["id"],
        "group_id": request.group_id,
        "message_id": request.message_id,
        "sender_user_id": request.sender_user_id,
        "sender_name": request.sender_name,
        "text": request.text,
        "language": request.language,
        "callback_url": request.callback_url,
        "caller": caller,
        "prompt_text": prompt_text(request.sender_name, request.text, request.language, limits.app_name),
        "status": "active",
        "urgent": int(request.urgent),
        "created_at": now,
        "completed_at": None,
    }
    calls = [
        {
            "id": new_id("call"),
            "reminder_id": reminder_id,
            "tenant_id": tenant["id"],
            "seq": i,
            "user_id": r.user_id,
            "name": r.name,
            "phone": r.phone,
            "status": CallStatus.QUEUED.value,
            "attempts": 0,
            "next_attempt_at": now,
            "cause": None,
            "updated_at": now,
        }
        for i, r in enumerate(request.recipients)
    ]
    async with store.transaction() as tx:
        if idempotency_key is not None:
            # another request with the same key may have won the race meanwhile
            earlier = await callstore.get_idempotent(tx, tenant["id"], idempotency_key)
            if earlier is not None:
                if earlier["body_hash"] != key_hash:
                    raise Problem(409, "Idempotency key reused", "this Idempotency-Key was used with another body",
                                  type="https://voicebridge.dev/problems/idempotency")
                return int(earlier["status"]), json.loads(earlier["response"]), None
        # the same member is called at most once per message: later requests say duplicate
        called = await callstore.already_called(
            tx, tenant["id"], request.group_id, request.message_id, [c["user_id"] for c in calls])
        for call in calls:
            if call["user_id"] in called:
                call.update(status=CallStatus.DUPLICATE.value, next_attempt_at=None, cause="already_called")
        if all(c["status"] == CallStatus.DUPLICATE.value for c in calls):
            reminder.update(status="completed", completed_at=now)
        response = {
            "id": reminder_id,
            "status": reminder["status"],
            "created_at": now,
            "caller": caller,
            "urgent": request.urgent,
            "calls": [{"id": c["id"], "user_id": c["user_id"], "phone": c["phone"], "status": c["status"]}
                      for c in calls],
        }
        if idempotency_key is not None:
            await callstore.put_idempotent(tx, tenant["id"], idempotency_key, key_hash, 202, response)
        await callstore.insert_reminder(tx, reminder, calls)
    return 202, response, reminder

