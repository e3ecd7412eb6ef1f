"""Reminders, their call jobs and the CDRs they leave, in the store."""

from __future__ import annotations

import json
from typing import Any, Sequence

from voicebridge.domain import CallStatus, iso, utcnow
from voicebridge.store.sqlite import Row, SqliteStore, Tx

LIVE_DIALLING = (CallStatus.CALLING.value, CallStatus.RINGING.value, CallStatus.ANSWERED.value)

CDR_COLUMNS = (
    "call_id", "attempt", "tenant_id", "reminder_id", "recipient_user_id", "app_name", "session_id",
    "caller", "callee", "start_at", "alerting_at", "answer_at", "end_at", "duration_ms", "billable_ms",
    "status", "cause", "sip_code", "q850", "hangup_by", "digits", "replays", "billable_minutes",
    "rate_fen_per_min", "charge_fen", "created_at",
)  # fmt: skip


async def insert_reminder(tx: Tx, reminder: dict[str, Any], calls: Sequence[dict[str, Any]]) -> None:
    cols = list(reminder)
    await tx.execute(
        f"INSERT INTO reminders({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
        tuple(reminder[c] for c in cols),
    )
    if calls:
        ccols = list(calls[0])
        await tx.executemany(
            f"INSERT INTO calls({', '.join(ccols)}) VALUES ({', '.join('?' for _ in ccols)})",
            [tuple(c[k] for k in ccols) for c in calls],
        )


async def get_reminder(store: SqliteStore | Tx, reminder_id: str, tenant_id: str | None = None) -> Row | None:
    if tenant_id is None:
        return await store.fetchone("SELECT * FROM reminders WHERE id = ?", (reminder_id,))
    return await store.fetchone("SELECT * FROM reminders WHERE id = ? AND tenant_id = ?", (reminder_id, tenant_id))


async def reminder_calls(store: SqliteStore | Tx, reminder_id: str) -> list[Row]:
    return await store.fetchall("SELECT * FROM calls WHERE reminder_id = ? ORDER BY seq", (reminder_id,))


async def get_call(store: SqliteStore | Tx, call_id: str) -> Row | None:
    return await store.fetchone("SELECT * FROM calls WHERE id = ?", (call_id,))


async def due_calls(store: SqliteStore, now: str, limit: int) -> list[Row]:
    """Queued or deferred jobs whose time has come, oldest first."""
    return await store.fetchall(
        "SELECT c.*, r.caller AS caller, r.prompt_text AS prompt_text, r.language AS language, r.urgent AS urgent, "
        "r.callback_url AS callback_url "
        "FROM calls c JOIN reminders r ON r.id = c.reminder_id "
        "WHERE c.status IN ('queued', 'deferred') AND c.next_attempt_at <= ? "
        "ORDER BY c.next_attempt_at, c.reminder_id, c.seq LIMIT ?",
        (now, limit),
    )


async def next_due_at(store: SqliteStore) -> str | None:
    row = await store.fetchone(
        "SELECT MIN(next_attempt_at) AS t FROM calls WHERE status IN ('queued', 'deferred')"
    )
    return row["t"] if row else None


async def set_status(tx: Tx, call_id: str, status: CallStatus, only_from: Sequence[str] = (), **fields: Any) -> bool:
    """Move a call to ``status`` (optionally only from the given states)."""
    sets = ["status = ?", "updated_at = ?"] + [f"{k} = ?" for k in fields]
    params: list[Any] = [status.value, iso(utcnow()), *fields.values(), call_id]
    sql = f"UPDATE calls SET {', '.join(sets)} WHERE id = ?"
    if only_from:
        sql += f" AND status IN ({', '.join('?' for _ in only_from)})"
        params.extend(only_from)
    return await tx.execute(sql, params) == 1


async def insert_cdr(tx: Tx, cdr: dict[str, Any]) -> int:
    """Write a CDR once. A second write for the same (call, attempt) is a no-op
    and returns 0, so recovery and retried writes never double a record."""
    values = [cdr.get(c) for c in CDR_COLUMNS]
    cur_id = await tx.insert(
        f"INSERT OR IGNORE INTO cdrs({', '.join(CDR_COLUMNS)}) VALUES ({', '.join('?' for _ in CDR_COLUMNS)})",
        values,
    )
    changed = await tx.fetchone("SELECT changes() AS n")
    return cur_id if changed and changed["n"] == 1 else 0


async def cdrs_for_reminder(store: SqliteStore | Tx, reminder_id: str) -> list[Row]:
    return await store.fetchall("SELECT * FROM cdrs WHERE reminder_id = ? ORDER BY id", (reminder_id,))


async def complete_reminder_if_done(tx: Tx, reminder_id: str) -> bool:
    row = await tx.fetchone(
        "SELECT COUNT(*) AS live FROM calls WHERE reminder_id = ? AND status IN "
        "('queued', 'deferred', 'calling', 'ringing', 'answered')",
        (reminder_id,),
    )
    if row and row["live"] == 0:
        changed = await tx.execute(
            "UPDATE reminders SET status = CASE status WHEN 'cancelled' THEN 'cancelled' ELSE 'completed' END, "
            "completed_at = ? WHERE id = ? AND completed_at IS NULL",
            (iso(utcnow()), reminder_id),
        )
        return changed == 1
    return False


async def in_flight(store: SqliteStore | Tx) -> list[Row]:
    """Calls that a previous process was dialling when it stopped."""
    return await store.fetchall(
        "SELECT c.*, r.caller AS caller, r.callback_url AS callback_url FROM calls c "
        "JOIN reminders r ON r.id = c.reminder_id "
        f"WHERE c.status IN ({', '.join('?' for _ in LIVE_DIALLING)})",
        LIVE_DIALLING,
    )


async def get_idempotent(store: SqliteStore | Tx, tenant_id: str, key: str) -> Row | None:
    return await store.fetchone("SELECT * FROM idempotency WHERE tenant_id = ? AND key = ?", (tenant_id, key))


async def put_idempotent(tx: Tx, tenant_id: str, key: str, body_hash: str, status: int, response: Any) -> None:
    await tx.execute(
        "INSERT INTO idempotency(tenant_id, key, body_hash, status, response, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        (tenant_id, key, body_hash, status, json.dumps(response, ensure_ascii=False), iso(utcnow())),
    )


async def already_called(tx: Tx, tenant_id: str, group_id: str, message_id: str, user_ids: Sequence[str]) -> set[str]:
    """Members of an earlier reminder for the same message (not cancelled before dialling)."""
    if not user_ids:
        return set()
    rows = await tx.fetchall(
        "SELECT DISTINCT c.user_id FROM calls c JOIN reminders r ON r.id = c.reminder_id "
        "WHERE r.tenant_id = ? AND r.group_id = ? AND r.message_id = ? AND c.status NOT IN ('cancelled', 'duplicate') "
        f"AND c.user_id IN ({', '.join('?' for _ in user_ids)})",
        (tenant_id, group_id, message_id, *user_ids),
    )
    return {r["user_id"] for r in rows}


async def recent_attempts(store: SqliteStore | Tx, tenant_id: str, callee: str, since_day: str,
                          since_month: str) -> tuple[int, int]:
    """Attempts dialled to ``callee`` since each time (finished ones from the CDRs,
    plus those in flight), in one query: (since_day, since_month)."""
    row = await store.fetchone(
        "SELECT COALESCE(SUM(start_at >= ?), 0) AS day, COUNT(*) AS month FROM cdrs "
        "WHERE tenant_id = ? AND callee = ? AND start_at >= ?",
        (since_day, tenant_id, callee, since_month),
    )
    live = await store.fetchone(
        "SELECT COUNT(*) AS n FROM calls WHERE tenant_id = ? AND phone = ? AND status IN ('calling', 'ringing', 'answered')",
        (tenant_id, callee),
    )
    n = int(live["n"]) if live else 0
    return (int(row["day"]) + n, int(row["month"]) + n) if row else (n, n)
