"""A tenant's arrears state in the store: check it after each charge and on a timer.

The pure timeline is :mod:`voicebridge.billing.arrears`; this module applies it.
When the balance first goes below zero the tenant gets ``negative_since`` (the
moment it was seen) and a column of the arrears table: ``subscription`` if a
rent charge tipped it, ``on_demand`` otherwise. Every change of state writes an
audit row with action ``tenant.arrears`` in the same transaction (the point
where a webhook outbox picks transitions up), and entering ``released`` releases
the tenant's numbers and deletes its uploaded documents' rows (the files go
after the commit: :func:`voicebridge.onboarding.documents.remove_unreferenced_files`;
CDRs and the ledger stay for ``billing.retention_days``, then the retention job
purges them). A balance back at zero or above returns the tenant to ``active``
at once, from any state.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Awaitable, Callable, Sequence

from voicebridge.billing.arrears import ON_DEMAND, SUBSCRIPTION, ArrearsPolicy, ArrearsState
from voicebridge.domain import iso, parse_iso, utcnow
from voicebridge.onboarding.documents import delete_tenant_documents
from voicebridge.store import ledger
from voicebridge.store.sqlite import Row, SqliteStore, Tx
from voicebridge.store.tenants import audit

log = logging.getLogger(__name__)

AUDIT_ACTION = "tenant.arrears"
ACTOR = "billing"


@dataclass(frozen=True)
class Transition:
    tenant_id: str
    old: ArrearsState
    new: ArrearsState
    balance_fen: int
    negative_since: str | None
    column: str | None
    at: str
    released_numbers: tuple[str, ...] = ()
    deleted_documents: tuple[str, ...] = ()  # content hashes whose rows were deleted on release

    def as_dict(self) -> dict[str, Any]:
        return {
            "from": self.old.value, "to": self.new.value, "balance_fen": self.balance_fen,
            "negative_since": self.negative_since, "column": self.column, "at": self.at,
            "released_numbers": list(self.released_numbers),
            "deleted_documents": len(self.deleted_documents),
        }


Listener = Callable[[Tx, Transition], Awaitable[None]]


async def _column_for(tx: Tx, tenant_id: str, cause_kind: str | None) -> str:
    kind = cause_kind
    if kind is None:
        row = await tx.fetchone(
            "SELECT kind FROM ledger WHERE tenant_id = ? AND amount_fen < 0 ORDER BY created_at DESC, id DESC LIMIT 1",
            (tenant_id,),
        )
        kind = row["kind"] if row else None
    return SUBSCRIPTION if kind == ledger.RENT else ON_DEMAND


async def release_numbers(tx: Tx, tenant_id: str, at: str, actor: str = ACTOR) -> list[str]:
    """Release every number the tenant still holds (status ``released``)."""
    rows = await tx.fetchall(
        "SELECT e164 FROM numbers WHERE tenant_id = ? AND status IN ('in_use', 'paused') ORDER BY e164", (tenant_id,)
    )
    for row in rows:
        await tx.execute("UPDATE numbers SET status = 'released', released_at = ? WHERE e164 = ?", (at, row["e164"]))
        await audit(tx, actor, tenant_id, "number.release", {"e164": row["e164"], "reason": "arrears"})
    return [r["e164"] for r in rows]


async def settle(
    tx: Tx,
    tenant_id: str,
    now: datetime,
    *,
    cause_kind: str | None = None,
    actor: str = ACTOR,
    listeners: Sequence[Listener] = (),
) -> Transition | None:
    """Bring the tenant's stored arrears state up to date at ``now``.

    :param cause_kind: the ledger kind just charged (``rent`` → subscription column)
    :returns: the transition made, or None if the state did not change
    """
    tenant = await tx.fetchone("SELECT * FROM tenants WHERE id = ?", (tenant_id,))
    if tenant is None:
        return None
    balance = await ledger.balance(tx, tenant_id)
    old = ArrearsState(tenant["arrears_state"])
    since: str | None = tenant["negative_since"]
    column: str | None = tenant["arrears_column"]
    if balance >= 0:
        new, since, column = ArrearsState.ACTIVE, None, None
    else:
        if since is None:
            since = iso(now)
            column = await _column_for(tx, tenant_id, cause_kind)
        column = column or ON_DEMAND
        new = ArrearsPolicy(tenant["level"], column).state(parse_iso(since), now)
        if old is ArrearsState.RELEASED:
            new = old  # release is final while the balance stays negative
    if (since, column) != (tenant["negative_since"], tenant["arrears_column"]) or new is not old:
        await tx.execute(
            "UPDATE tenants SET arrears_state = ?, negative_since = ?, arrears_column = ? WHERE id = ?",
            (new.value, since, column, tenant_id),
        )
    if new is old:
        return None
    at = iso(now) or ""
    released: list[str] = []
    deleted_docs: list[str] = []
    if new is ArrearsState.RELEASED:
        released = await release_numbers(tx, tenant_id, at, actor)
        # rows now, in this transaction; the files after commit (remove_unreferenced_files)
        deleted_docs = await delete_tenant_documents(tx, tenant_id, actor=actor)
    transition = Transition(tenant_id, old, new, balance, since, column, at, tuple(released), tuple(deleted_docs))
    await audit(tx, actor, tenant_id, AUDIT_ACTION, transition.as_dict())
    for listener in listeners:
        await listener(tx, transition)
    log.info("tenant %s arrears %s -> %s (balance %d fen)", tenant_id, old.value, new.value, balance)
    return transition


async def settle_all(
    store: SqliteStore, now: datetime, *, listeners: Sequence[Listener] = ()
) -> list[Transition]:
    """The periodic check: every tenant that is negative or not active."""
    rows = await store.fetchall(
        "SELECT t.id FROM tenants t WHERE t.arrears_state != 'active' OR "
        "t.balance_fen < 0 ORDER BY t.id"
    )
    made: list[Transition] = []
    for row in rows:
        async with store.transaction() as tx:
            transition = await settle(tx, row["id"], now, listeners=listeners)
        if transition is not None:
            made.append(transition)
    return made


class ArrearsHook:
    """A dispatcher :class:`~voicebridge.reminders.dispatcher.CallHook`: after a
    charged attempt (``call.completed`` with a CDR above 0 fen), settle the
    tenant's arrears in the same transaction as the charge."""

    def __init__(self, clock: Callable[[], datetime] = utcnow, listeners: Sequence[Listener] = ()) -> None:
        self.clock = clock
        self.listeners = list(listeners)

    async def call_event(self, tx: Tx, job: Row, event: str, data: dict[str, Any]) -> None:
        if event != "call.completed":
            return
        cdr = data.get("cdr") or {}
        if int(cdr.get("charge_fen") or 0) > 0:
            await settle(tx, job["tenant_id"], self.clock(), cause_kind=ledger.CALL_CHARGE, listeners=self.listeners)
