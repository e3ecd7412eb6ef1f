"""The prepaid ledger: append-only entries in integer fen; the balance is their sum."""

from __future__ import annotations

from voicebridge.domain import Fen, LedgerKind, iso, utcnow
from voicebridge.store.sqlite import Row, SqliteStore, Tx

TOPUP = LedgerKind.TOPUP.value
CALL_CHARGE = LedgerKind.CALL_CHARGE.value
RENT = LedgerKind.RENT.value
ADJUSTMENT = LedgerKind.ADJUSTMENT.value
KINDS = tuple(k.value for k in LedgerKind)


async def add_entry(
    tx: Tx, tenant_id: str, kind: str, amount_fen: Fen, reference: str, reason: str = "", at: str | None = None
) -> bool:
    """Append one entry. Returns False (and adds nothing) if (kind, reference)
    was already entered: that is what makes every charge happen exactly once."""
    if kind not in KINDS:
        raise ValueError(f"unknown ledger kind {kind!r}")
    if not isinstance(amount_fen, int) or isinstance(amount_fen, bool):
        raise TypeError("amount_fen must be an int (fen)")
    changed = await tx.execute(
        "INSERT OR IGNORE INTO ledger(tenant_id, kind, amount_fen, reference, reason, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        (tenant_id, kind, amount_fen, reference, reason, at or iso(utcnow())),
    )
    if changed == 1:
        await tx.execute("UPDATE tenants SET balance_fen = balance_fen + ? WHERE id = ?", (amount_fen, tenant_id))
    return changed == 1


async def balance(store: SqliteStore | Tx, tenant_id: str) -> Fen:
    """The running balance kept with every entry (one row read, whatever the history)."""
    row = await store.fetchone("SELECT balance_fen FROM tenants WHERE id = ?", (tenant_id,))
    return int(row["balance_fen"]) if row else 0


async def summed_balance(store: SqliteStore | Tx, tenant_id: str) -> Fen:
    """The balance as the sum of the entries: the truth the running balance must equal."""
    row = await store.fetchone("SELECT COALESCE(SUM(amount_fen), 0) AS b FROM ledger WHERE tenant_id = ?", (tenant_id,))
    return int(row["b"]) if row else 0


async def recount(tx: Tx, tenant_id: str) -> Fen:
    """Set the running balance from the entries (after entries are deleted by a purge)."""
    total = await summed_balance(tx, tenant_id)
    await tx.execute("UPDATE tenants SET balance_fen = ? WHERE id = ?", (total, tenant_id))
    return total


async def entries(store: SqliteStore | Tx, tenant_id: str) -> list[Row]:
    return await store.fetchall("SELECT * FROM ledger WHERE tenant_id = ? ORDER BY id", (tenant_id,))
