"""Tenants, API keys, numbers and onboarding steps in the store."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import uuid
from typing import Any

from voicebridge.domain import iso, utcnow
from voicebridge.store.sqlite import Row, SqliteStore, Tx

KEY_PREFIX = "vb_"
TENANT_SCOPES = ("reminders", "admin", "finance")
OPERATOR_SCOPE = "operator"


def new_id(kind: str) -> str:
    return f"{kind}_{uuid.uuid4().hex[:20]}"


def hash_key(secret: str, server_secret: bytes) -> str:
    """Keys are stored as HMAC-SHA256 with the server's secret, never in clear."""
    return hmac.new(server_secret, secret.encode(), hashlib.sha256).hexdigest()


async def create_tenant(tx: Tx, name: str, *, sandbox: bool = False, **fields: Any) -> Row:
    tenant_id = new_id("tn")
    now = iso(utcnow())
    cols = {"id": tenant_id, "name": name, "sandbox": int(sandbox), "created_at": now, **fields}
    await tx.execute(
        f"INSERT INTO tenants({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
        tuple(cols.values()),
    )
    row = await tx.fetchone("SELECT * FROM tenants WHERE id = ?", (tenant_id,))
    assert row is not None
    return row


async def create_key(tx: Tx, tenant_id: str | None, scopes: tuple[str, ...], server_secret: bytes) -> str:
    """Make an API key; returns the secret, which is shown once and never stored."""
    return (await make_key(tx, tenant_id, scopes, server_secret))[1]


async def make_key(tx: Tx, tenant_id: str | None, scopes: tuple[str, ...], server_secret: bytes) -> tuple[Row, str]:
    """Make an API key; returns its stored row and the secret (shown once, never stored)."""
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key_id = new_id("key")
    await tx.execute(
        "INSERT INTO api_keys(id, tenant_id, prefix, key_hash, scopes, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        (key_id, tenant_id, secret[:10], hash_key(secret, server_secret), " ".join(scopes), iso(utcnow())),
    )
    row = await tx.fetchone("SELECT * FROM api_keys WHERE id = ?", (key_id,))
    assert row is not None
    return row, secret


async def key_lookup(store: SqliteStore, secret: str, server_secret: bytes) -> Row | None:
    return await store.fetchone(
        "SELECT * FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL", (hash_key(secret, server_secret),)
    )


async def get_tenant(store: SqliteStore | Tx, tenant_id: str) -> Row | None:
    return await store.fetchone("SELECT * FROM tenants WHERE id = ?", (tenant_id,))


async def set_step(tx: Tx, tenant_id: str, step: str, state: str, data: dict[str, Any], reason: str | None = None) -> None:
    await tx.execute(
        "INSERT INTO onboarding_steps(tenant_id, step, state, data, reason, updated_at) VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(tenant_id, step) DO UPDATE SET state = excluded.state, data = excluded.data, "
        "reason = excluded.reason, updated_at = excluded.updated_at",
        (tenant_id, step, state, json.dumps(data, ensure_ascii=False), reason, iso(utcnow())),
    )


async def steps(store: SqliteStore | Tx, tenant_id: str) -> dict[str, Row]:
    rows = await store.fetchall("SELECT * FROM onboarding_steps WHERE tenant_id = ?", (tenant_id,))
    return {r["step"]: r for r in rows}


async def add_pool_numbers(tx: Tx, numbers: list[tuple[str, str]], number_type: str = "fixed_line") -> int:
    """Load numbers (E.164, city) from the carrier into the operator's pool."""
    added = 0
    for e164, city in numbers:
        added += await tx.execute(
            "INSERT OR IGNORE INTO numbers(e164, city, number_type, status) VALUES (?, ?, ?, 'pool')",
            (e164, city, number_type),
        )
    return added


SERVICE_TYPES = {"call_notify": "voice_notification", "welink": "enterprise_calling"}


async def issue_numbers(tx: Tx, tenant_id: str, e164s: list[str], app_name: str, ordered_at: str | None = None) -> int:
    """Issue these pool numbers to the tenant and stamp the issue time (rent starts
    that day). Returns how many were still in the pool and are now issued."""
    now = iso(utcnow())
    issued = 0
    for e164 in e164s:
        issued += await tx.execute(
            "UPDATE numbers SET tenant_id = ?, app_name = ?, service_type = ?, status = 'in_use', ordered_at = ?, "
            "issued_at = ?, released_at = NULL WHERE e164 = ? AND status = 'pool'",
            (tenant_id, app_name, SERVICE_TYPES[app_name], ordered_at or now, now, e164),
        )
    return issued


async def tenant_numbers(store: SqliteStore | Tx, tenant_id: str, status: str | None = None) -> list[Row]:
    if status is None:
        return await store.fetchall("SELECT * FROM numbers WHERE tenant_id = ? ORDER BY issued_at, e164", (tenant_id,))
    return await store.fetchall(
        "SELECT * FROM numbers WHERE tenant_id = ? AND status = ? ORDER BY issued_at, e164", (tenant_id, status)
    )


async def audit(tx: Tx, actor: str, tenant_id: str | None, action: str, detail: dict[str, Any]) -> None:
    await tx.execute(
        "INSERT INTO audit(actor, tenant_id, action, detail, created_at) VALUES (?, ?, ?, ?, ?)",
        (actor, tenant_id, action, json.dumps(detail, ensure_ascii=False, default=str), iso(utcnow())),
    )
