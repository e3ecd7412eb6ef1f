"""Charging number rent into the ledger: idempotent, catching up after downtime.

Each number a tenant holds owes ``rent_fen_per_number`` for the period that
starts on its issue date and for each monthly anniversary after it
(:func:`voicebridge.billing.rent.rent_periods`), dates taken in the tenant's
time zone. A period is charged once: the ledger reference
``rent:{tenant}:{e164}:{period start}`` is unique, so running the job twice, or
again after a crash, charges nothing twice, and after downtime it charges
every period that began meanwhile. A released number owes the periods that
began before its release and none after. Sandbox tenants (trial tenants on the
simulator's numbers) pay no rent.

The entry is dated at the period's start (the issue moment for the first), not
at the run, so a statement puts caught-up rent in the month it was due.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Sequence
from zoneinfo import ZoneInfo

from voicebridge.billing.accounts import Listener, Transition, settle
from voicebridge.billing.rent import rent_periods
from voicebridge.domain import iso, parse_iso
from voicebridge.store import ledger
from voicebridge.store.sqlite import SqliteStore, Tx

log = logging.getLogger(__name__)

__all__ = ["RentCharge", "charge_rent", "rent_reference"]


@dataclass(frozen=True)
class RentCharge:
    tenant_id: str
    e164: str
    period_start: date
    amount_fen: int
    at: str


def rent_reference(tenant_id: str, e164: str, period_start: date) -> str:
    return f"rent:{tenant_id}:{e164}:{period_start.isoformat()}"


def parse_rent_reference(reference: str) -> tuple[str, str, date] | None:
    parts = reference.split(":")
    if len(parts) != 4 or parts[0] != "rent":
        return None
    try:
        return parts[1], parts[2], date.fromisoformat(parts[3])
    except ValueError:
        return None


async def _charge_tenant(tx: Tx, tenant: dict, numbers: list[dict], now: datetime) -> list[RentCharge]:
    tz = ZoneInfo(tenant["timezone"] or "UTC")
    fen = int(tenant["rent_fen_per_number"])
    made: list[RentCharge] = []
    if fen <= 0:
        return made
    for number in numbers:
        issued = parse_iso(number["issued_at"])
        assert issued is not None
        released = parse_iso(number["released_at"])
        prefix = f"rent:{tenant['id']}:{number['e164']}:"
        done = {
            r["reference"]
            for r in await tx.fetchall(
                "SELECT reference FROM ledger WHERE kind = 'rent' AND reference >= ? AND reference < ?",
                (prefix, prefix[:-1] + ";"),
            )
        }
        for start in rent_periods(issued.astimezone(tz).date(), now.astimezone(tz).date()):
            begins = max(datetime.combine(start, time(0), tz), issued)
            if begins > now or (released is not None and begins >= released):
                continue
            reference = rent_reference(tenant["id"], number["e164"], start)
            if reference in done:
                continue
            at = iso(begins) or ""
            if await ledger.add_entry(tx, tenant["id"], ledger.RENT, -fen, reference,
                                      reason=f"rent {number['e164']} from {start.isoformat()}", at=at):
                made.append(RentCharge(tenant["id"], number["e164"], start, fen, at))
    return made


async def charge_rent(
    store: SqliteStore, now: datetime, *, tenant_id: str | None = None, listeners: Sequence[Listener] = ()
) -> tuple[list[RentCharge], list[Transition]]:
    """Charge every rent period begun by ``now``; then settle each charged tenant's arrears.

    One transaction per tenant: its rent and its arrears change commit together.
    """
    sql = (
        "SELECT n.e164, n.tenant_id, n.issued_at, n.released_at FROM numbers n JOIN tenants t ON t.id = n.tenant_id "
        "WHERE t.sandbox = 0 AND n.issued_at IS NOT NULL AND n.status IN ('in_use', 'paused', 'released')"
    )
    params: tuple[str, ...] = ()
    if tenant_id is not None:
        sql += " AND n.tenant_id = ?"
        params = (tenant_id,)
    by_tenant: dict[str, list[dict]] = {}
    for row in await store.fetchall(sql + " ORDER BY n.tenant_id, n.e164", params):
        by_tenant.setdefault(row["tenant_id"], []).append(row)
    charges: list[RentCharge] = []
    transitions: list[Transition] = []
    for tid, numbers in by_tenant.items():
        async with store.transaction() as tx:
            tenant = await tx.fetchone("SELECT * FROM tenants WHERE id = ?", (tid,))
            if tenant is None:
                continue
            made = await _charge_tenant(tx, tenant, numbers, now)
            if made:
                transition = await settle(tx, tid, now, cause_kind=ledger.RENT, listeners=listeners)
                if transition is not None:
                    transitions.append(transition)
        charges.extend(made)
    if charges:
        log.info("rent: charged %d periods for %d tenants", len(charges), len({c.tenant_id for c in charges}))
    return charges, transitions
