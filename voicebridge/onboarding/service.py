"""Onboarding steps in the store: drafts, submissions, the operator's review.

Every change is one transaction that re-reads the step, asks the state machine
(:mod:`voicebridge.onboarding.steps`) and writes the step with an audit row
(who, when, what changed). Approving a number order issues its numbers from the
pool in the same transaction, so an order is approved with its numbers or not
at all.
"""

from __future__ import annotations

import json
import zoneinfo
from typing import Any

import phonenumbers

from voicebridge.domain import iso, utcnow
from voicebridge.errors import FieldError, Problem, invalid
from voicebridge.onboarding import pool
from voicebridge.onboarding.documents import owned_ids
from voicebridge.onboarding.steps import (
    STEPS, StepConflict, blocking_step, diff, document_refs, next_state, validate_data,
)
from voicebridge.store.sqlite import Row, SqliteStore, Tx
from voicebridge.store.tenants import audit, get_tenant

__all__ = ["LEVELS", "step_view", "tenant_steps", "save_draft", "submit", "review", "queue", "history",
           "update_tenant", "check_step"]

LEVELS = ("V0", "V1", "V2", "V3", "V4", "V5")
MAX_REASON_CHARS = 500


def check_step(step: str) -> str:
    if step not in STEPS:
        raise Problem(404, "Not found", f"no onboarding step {step!r}: one of {', '.join(STEPS)}",
                      type="https://voicebridge.dev/problems/not-found")
    return step


def _conflict(exc: StepConflict) -> Problem:
    extra = {"missing_step": exc.missing_step} if exc.missing_step else {}
    kind = "step-order" if exc.missing_step else "step-state"
    return Problem(409, "Onboarding step conflict", exc.detail, type=f"https://voicebridge.dev/problems/{kind}",
                   extra=extra)


async def _rows(db: SqliteStore | Tx, tenant_id: str) -> dict[str, Row]:
    rows = await db.fetchall("SELECT * FROM onboarding_steps WHERE tenant_id = ?", (tenant_id,))
    return {r["step"]: r for r in rows}


def _states(rows: dict[str, Row]) -> dict[str, str]:
    return {s: rows[s]["state"] if s in rows else "not_started" for s in STEPS}


def step_view(step: str, row: Row | None, states: dict[str, str]) -> dict[str, Any]:
    """A step as the API shows it (also for steps never started)."""
    state = row["state"] if row else "not_started"
    return {
        "step": step,
        "state": state,
        "data": json.loads(row["data"]) if row else {},
        "reason": row["reason"] if row else None,
        "revision": row.get("revision", 0) if row else 0,
        "updated_at": row["updated_at"] if row else None,
        "submitted_at": row.get("submitted_at") if row else None,
        "reviewed_at": row.get("reviewed_at") if row else None,
        "blocked_by": blocking_step(step, states) if state in ("not_started", "draft", "rejected") else None,
    }


async def tenant_steps(store: SqliteStore, tenant_id: str) -> list[dict[str, Any]]:
    rows = await _rows(store, tenant_id)
    states = _states(rows)
    return [step_view(s, rows.get(s), states) for s in STEPS]


async def _one(tx: Tx, tenant_id: str, step: str) -> dict[str, Any]:
    rows = await _rows(tx, tenant_id)
    return step_view(step, rows.get(step), _states(rows))


async def save_draft(store: SqliteStore, tenant: Row, step: str, body: Any, actor: str) -> dict[str, Any]:
    """PUT a step's fields: the whole draft is replaced by ``body``; 422 lists every bad field."""
    check_step(step)
    data, errors = validate_data(step, body, tenant.get("region") or "CN")
    refs = document_refs(step, data)
    mine = await owned_ids(store, tenant["id"], [d for _, d in refs])
    errors += [FieldError(path, "is not one of your documents", "unknown_document") for path, d in refs if d not in mine]
    if errors:
        raise invalid(errors)
    async with store.transaction() as tx:
        rows = await _rows(tx, tenant["id"])
        row = rows.get(step)
        state = row["state"] if row else "not_started"
        try:
            new = next_state(step, state, "edit")
        except StepConflict as exc:
            raise _conflict(exc) from None
        old = json.loads(row["data"]) if row else {}
        if state == "approved":
            old = {}  # a further number order starts from nothing
        now = iso(utcnow())
        await tx.execute(
            "INSERT INTO onboarding_steps(tenant_id, step, state, data, reason, updated_at, revision) "
            "VALUES (?, ?, ?, ?, NULL, ?, 1) ON CONFLICT(tenant_id, step) DO UPDATE SET state = excluded.state, "
            "data = excluded.data, updated_at = excluded.updated_at, submitted_at = NULL, reviewed_at = NULL, "
            "reviewed_by = NULL, revision = revision + 1, "
            "reason = CASE WHEN onboarding_steps.state = 'rejected' THEN onboarding_steps.reason ELSE NULL END",
            (tenant["id"], step, new, json.dumps(data, ensure_ascii=False), now),
        )
        await audit(tx, actor, tenant["id"], f"onboarding.{step}.edit",
                    {"step": step, "from": state, "to": new, "changes": diff(old, data)})
        return await _one(tx, tenant["id"], step)


async def submit(store: SqliteStore, tenant: Row, step: str, actor: str) -> dict[str, Any]:
    """Send the saved draft for review: every required field must be there, and the
    earlier steps approved (409 naming the missing step)."""
    check_step(step)
    async with store.transaction() as tx:
        rows = await _rows(tx, tenant["id"])
        states = _states(rows)
        row = rows.get(step)
        try:
            new = next_state(step, states[step], "submit", states)
        except StepConflict as exc:
            raise _conflict(exc) from None
        assert row is not None
        old = json.loads(row["data"])
        data, errors = validate_data(step, old, tenant.get("region") or "CN", complete=True)
        if errors:
            raise invalid(errors, "the step is incomplete: " + "; ".join(f"{e.field}: {e.message}" for e in errors[:5]))
        refs = document_refs(step, data)
        ids = [d for _, d in refs]
        if ids:
            marks = ", ".join("?" for _ in ids)
            found = {r["id"] for r in await tx.fetchall(
                f"SELECT id FROM documents WHERE tenant_id = ? AND id IN ({marks})", (tenant["id"], *ids))}
            missing = [FieldError(p, "is not one of your documents", "unknown_document") for p, d in refs if d not in found]
            if missing:
                raise invalid(missing)
        now = iso(utcnow())
        await tx.execute(
            "UPDATE onboarding_steps SET state = ?, data = ?, submitted_at = ?, updated_at = ?, reviewed_at = NULL, "
            "reviewed_by = NULL WHERE tenant_id = ? AND step = ?",
            (new, json.dumps(data, ensure_ascii=False), now, now, tenant["id"], step),
        )
        await audit(tx, actor, tenant["id"], f"onboarding.{step}.submit",
                    {"step": step, "from": states[step], "to": new, "changes": diff(old, data)})
        return await _one(tx, tenant["id"], step)


async def review(
    store: SqliteStore, tenant_id: str, step: str, actor: str, *, approve: bool, reason: str | None = None,
) -> dict[str, Any]:
    """The operator's decision on a submitted step. Rejecting needs a reason.
    Approving a number order issues its numbers (409 if the pool lacks them)."""
    check_step(step)
    reason = (reason or "").strip() or None
    if not approve and reason is None:
        raise invalid([FieldError("reason", "is required when rejecting: tell the tenant what to correct", "required")])
    if reason is not None and len(reason) > MAX_REASON_CHARS:
        raise invalid([FieldError("reason", f"must be at most {MAX_REASON_CHARS} characters", "too_long")])
    async with store.transaction() as tx:
        if await get_tenant(tx, tenant_id) is None:
            raise Problem(404, "Not found", "no such tenant", type="https://voicebridge.dev/problems/not-found")
        rows = await _rows(tx, tenant_id)
        states = _states(rows)
        try:
            new = next_state(step, states[step], "approve" if approve else "reject")
        except StepConflict as exc:
            raise _conflict(exc) from None
        row = rows[step]
        data = json.loads(row["data"])
        issued: list[Row] = []
        if approve and step == "number_order":
            issued = await pool.allocate(
                tx, tenant_id, app_name=data["app_name"], number_type=data.get("number_type", "fixed_line"),
                city=data["city"], quantity=int(data.get("quantity", 1)), ordered_at=row.get("submitted_at"),
                actor=actor,
            )
            data = {**data, "issued_numbers": [n["e164"] for n in issued]}
        now = iso(utcnow())
        await tx.execute(
            "UPDATE onboarding_steps SET state = ?, reason = ?, data = ?, reviewed_at = ?, reviewed_by = ?, "
            "updated_at = ? WHERE tenant_id = ? AND step = ?",
            (new, reason, json.dumps(data, ensure_ascii=False), now, actor, now, tenant_id, step),
        )
        detail: dict[str, Any] = {"step": step, "from": states[step], "to": new}
        if reason:
            detail["reason"] = reason
        if issued:
            detail["numbers"] = [n["e164"] for n in issued]
        await audit(tx, actor, tenant_id, f"onboarding.{step}.{'approve' if approve else 'reject'}", detail)
        out = await _one(tx, tenant_id, step)
    if issued:
        out["numbers"] = [{k: n[k] for k in pool.NUMBER_FIELDS} for n in issued]
    return out


async def queue(store: SqliteStore, step: str | None = None, state: str = "submitted") -> list[dict[str, Any]]:
    """Steps waiting for the operator (oldest submission first)."""
    sql = ("SELECT s.*, t.name AS tenant_name FROM onboarding_steps s JOIN tenants t ON t.id = s.tenant_id "
           "WHERE s.state = ?")
    params: list[Any] = [state]
    if step:
        sql += " AND s.step = ?"
        params.append(check_step(step))
    rows = await store.fetchall(sql + " ORDER BY COALESCE(s.submitted_at, s.updated_at), s.tenant_id", params)
    return [{"tenant_id": r["tenant_id"], "tenant_name": r["tenant_name"], **step_view(r["step"], r, {})} for r in rows]


async def history(store: SqliteStore, tenant_id: str, step: str | None = None) -> list[dict[str, Any]]:
    """The audit trail of the tenant's onboarding: who did what, when, and what changed."""
    like = f"onboarding.{check_step(step)}.%" if step else "onboarding.%"
    rows = await store.fetchall(
        "SELECT * FROM audit WHERE tenant_id = ? AND (action LIKE ? OR action LIKE 'document.%' OR action LIKE 'number.%' "
        "OR action = 'tenant.settings') "
        "ORDER BY id",
        (tenant_id, like),
    )
    if step:
        rows = [r for r in rows if r["action"].startswith("onboarding.")]
    return [{"at": r["created_at"], "actor": r["actor"], "action": r["action"], "detail": json.loads(r["detail"])}
            for r in rows]


_POLICY_TYPES = {"retries": int, "retry_delays": list, "quiet_start": str, "quiet_end": str,
                 "max_calls_24h": int, "max_calls_30d": int}


def _check_policy(value: Any) -> tuple[dict[str, Any], list[FieldError]]:
    """The tenant's overrides of the calling policy ({} = the service's settings)."""
    from dataclasses import replace

    from voicebridge.reminders.policy import PolicySettings

    if not isinstance(value, dict):
        return {}, [FieldError("policy", f"must be an object with any of {', '.join(_POLICY_TYPES)}", "type")]
    errors = []
    for k, v in value.items():
        want = _POLICY_TYPES.get(k)
        if want is None:
            errors.append(FieldError(f"policy/{k}", "is not a policy setting", "unknown"))
        elif not isinstance(v, want) or isinstance(v, bool) or (
                want is list and not all(isinstance(d, (int, float)) and not isinstance(d, bool) for d in v)):
            errors.append(FieldError(f"policy/{k}", f"must be {'a list of seconds' if want is list else want.__name__}",
                                     "type"))
    if not errors:
        try:
            replace(PolicySettings(), **{k: tuple(v) if isinstance(v, list) else v for k, v in value.items()})
        except (ValueError, TypeError) as exc:
            errors.append(FieldError("policy", str(exc), "invalid"))
    return dict(value), errors


def _check_settings(body: Any) -> tuple[dict[str, Any], list[FieldError]]:
    if not isinstance(body, dict) or not body:
        return {}, [FieldError("", "the body must be a JSON object with at least one setting", "type")]
    errors: list[FieldError] = []
    out: dict[str, Any] = {}
    for key, value in body.items():
        if key == "level":
            if value not in LEVELS:
                errors.append(FieldError(key, f"must be one of {', '.join(LEVELS)}", "enum"))
            else:
                out[key] = value
        elif key == "timezone":
            if not isinstance(value, str) or not value or len(value) > 64:
                errors.append(FieldError(key, "must be an IANA time zone name such as Asia/Shanghai", "type"))
                continue
            try:
                zoneinfo.ZoneInfo(value)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                errors.append(FieldError(key, f"{value!r} is not a known IANA time zone", "timezone"))
            else:
                out[key] = value
        elif key == "region":
            if not isinstance(value, str) or value.upper() not in phonenumbers.SUPPORTED_REGIONS:
                errors.append(FieldError(key, "must be an ISO 3166 region code with a numbering plan, e.g. CN", "region"))
            else:
                out[key] = value.upper()
        elif key == "allow_fixed_line":
            if not isinstance(value, bool):
                errors.append(FieldError(key, "must be true or false", "type"))
            else:
                out[key] = int(value)
        elif key == "policy":
            policy, policy_errors = _check_policy(value)
            errors += policy_errors
            if not policy_errors:
                out[key] = json.dumps(policy) if policy else None
        elif key == "name":
            if not isinstance(value, str) or not value.strip() or len(value) > 128:
                errors.append(FieldError(key, "must be 1 to 128 characters", "required"))
            else:
                out[key] = value.strip()
        else:
            errors.append(FieldError(key, "is not a tenant setting", "unknown"))
    return out, errors


async def update_tenant(store: SqliteStore, tenant_id: str, body: Any, actor: str) -> Row:
    """Operator: set a tenant's customer level (V0–V5), time zone, default region,
    fixed-line permission or name. 422 lists every bad value."""
    changes, errors = _check_settings(body)
    if errors:
        raise invalid(errors)
    async with store.transaction() as tx:
        tenant = await get_tenant(tx, tenant_id)
        if tenant is None:
            raise Problem(404, "Not found", "no such tenant", type="https://voicebridge.dev/problems/not-found")
        sets = ", ".join(f"{k} = ?" for k in changes)
        await tx.execute(f"UPDATE tenants SET {sets} WHERE id = ?", (*changes.values(), tenant_id))
        await audit(tx, actor, tenant_id, "tenant.settings",
                    {"changes": {k: [tenant.get(k), v] for k, v in changes.items() if tenant.get(k) != v}})
        row = await get_tenant(tx, tenant_id)
    assert row is not None
    return row
