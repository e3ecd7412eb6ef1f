"""Scheduled jobs (apscheduler, in process): rent, arrears and retention.

The scheduler decides *when* a job runs (real time); the job takes *now* from an
injectable clock, so tests drive the same job code through months of simulated
time. Every job is idempotent: rent periods and arrears transitions are keyed
in the store, so overlapping or repeated runs change nothing twice.

Retention: a tenant ``released`` more than ``retention_days`` ago (by the
``at`` of its last ``tenant.arrears`` → ``released`` audit row) loses its
reminders, calls, CDRs, ledger entries, outbox rows and idempotency rows. The
ledger entries collapse into one ``adjustment`` that carries the balance
forward (``retention:<tenant>:<released at>``), so the tenant stays released
and a later top-up still settles what it owes. Each purge that removed rows is
audited (``tenant.purge``); running it again removes nothing and writes nothing.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

from voicebridge.billing.accounts import Listener, Transition, settle_all
from voicebridge.billing.rent_charges import RentCharge, charge_rent
from voicebridge.domain import iso, parse_iso, utcnow
from voicebridge.onboarding.documents import remove_unreferenced_files
from voicebridge.store import ledger
from voicebridge.store.sqlite import SqliteStore, Tx
from voicebridge.store.tenants import audit

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class JobSettings:
    """The ``[billing]`` settings section."""

    enabled: bool = True
    rent_interval: float = 3600.0  # seconds between rent runs
    arrears_interval: float = 600.0  # seconds between arrears checks
    first_run_delay: float = 1.0  # after start-up: catch up soon
    retention_days: int = 180  # after release, a tenant's CDRs, ledger, reminders … are purged
    retention_interval: float = 86400.0  # seconds between retention runs


RETENTION_ACTOR = "retention"
PURGE_ACTION = "tenant.purge"
PURGED_TABLES = ("calls", "reminders", "cdrs", "outbox", "idempotency")  # and the ledger, carried forward


@dataclass(frozen=True)
class Purge:
    tenant_id: str
    released_at: str
    deleted: dict[str, int]
    carried_fen: int


async def released_at(store: SqliteStore | Tx, tenant_id: str) -> datetime | None:
    """When the tenant last entered ``released`` (the transition's own clock), or None."""
    rows = await store.fetchall(
        "SELECT detail FROM audit WHERE tenant_id = ? AND action = 'tenant.arrears' ORDER BY id DESC", (tenant_id,))
    for row in rows:
        try:
            detail = json.loads(row["detail"])
        except ValueError:
            continue
        if detail.get("to") == "released" and detail.get("at"):
            return parse_iso(detail["at"])
    return None


async def purge_tenant(tx: Tx, tenant_id: str, released: datetime, now: datetime) -> Purge | None:
    """Delete one released tenant's records (see the module's notes); None if nothing was left."""
    deleted: dict[str, int] = {}
    for table in PURGED_TABLES:
        deleted[table] = await tx.execute(f"DELETE FROM {table} WHERE tenant_id = ?", (tenant_id,))
    carry_ref = f"retention:{tenant_id}:{iso(released)}"
    total = await ledger.balance(tx, tenant_id)
    deleted["ledger"] = await tx.execute(
        "DELETE FROM ledger WHERE tenant_id = ? AND NOT (kind = ? AND reference = ?)",
        (tenant_id, ledger.ADJUSTMENT, carry_ref))
    if deleted["ledger"]:
        await tx.execute("DELETE FROM ledger WHERE kind = ? AND reference = ?", (ledger.ADJUSTMENT, carry_ref))
        await ledger.add_entry(tx, tenant_id, ledger.ADJUSTMENT, total, carry_ref,
                               reason="retention purge: balance carried forward", at=iso(now))
        await ledger.recount(tx, tenant_id)  # the running balance follows the deleted entries
    if not any(deleted.values()):
        return None
    purge = Purge(tenant_id, iso(released) or "", deleted, total)
    await audit(tx, RETENTION_ACTOR, tenant_id, PURGE_ACTION,
                {"released_at": purge.released_at, "at": iso(now), "deleted": deleted, "carried_fen": total})
    return purge


async def purge_released(store: SqliteStore, now: datetime, retention_days: int) -> list[Purge]:
    """Purge every tenant still ``released`` whose release is ``retention_days`` or more before ``now``."""
    cutoff = now - timedelta(days=retention_days)
    made: list[Purge] = []
    for row in await store.fetchall("SELECT id FROM tenants WHERE arrears_state = 'released' ORDER BY id"):
        async with store.transaction() as tx:
            # re-read inside the transaction: a top-up may have made the tenant active meanwhile
            tenant = await tx.fetchone("SELECT arrears_state FROM tenants WHERE id = ?", (row["id"],))
            if tenant is None or tenant["arrears_state"] != "released":
                continue
            released = await released_at(tx, row["id"])
            if released is None or released > cutoff:
                continue
            purge = await purge_tenant(tx, row["id"], released, now)
        if purge is not None:
            log.info("retention: purged tenant %s (released %s): %s", purge.tenant_id, purge.released_at,
                     purge.deleted)
            made.append(purge)
    return made


class BillingJobs:
    """The rent job, the arrears job and the retention job over one store.

    ``data_dir`` is where uploaded documents live (``<data_dir>/documents``);
    by default the store file's folder. After a run that released tenants, the
    files of their deleted documents go (unless another tenant's row still
    names the same bytes); the retention run also sweeps older unreferenced files.
    """

    def __init__(
        self,
        store: SqliteStore,
        settings: JobSettings = JobSettings(),
        clock: Clock = utcnow,
        listeners: Sequence[Listener] = (),
        data_dir: Path | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.listeners = list(listeners)
        self.data_dir = data_dir if data_dir is not None else Path(store.path).parent
        self.scheduler: "AsyncIOScheduler | None" = None
        self.runs = {"rent": 0, "arrears": 0, "retention": 0}

    async def run_rent(self) -> list[RentCharge]:
        """Charge every rent period begun by the clock's now (and settle arrears)."""
        charges, transitions = await charge_rent(self.store, self.clock(), listeners=self.listeners)
        await self._remove_document_files(transitions)
        self.runs["rent"] += 1
        return charges

    async def run_arrears(self) -> list[Transition]:
        """Move tenants along grace → retention → release as time passes."""
        made = await settle_all(self.store, self.clock(), listeners=self.listeners)
        await self._remove_document_files(made)
        self.runs["arrears"] += 1
        return made

    async def run_retention(self) -> list[Purge]:
        """Purge tenants released ``retention_days`` ago or more; sweep orphaned document files."""
        made = await purge_released(self.store, self.clock(), self.settings.retention_days)
        await remove_unreferenced_files(self.store, self.data_dir)
        self.runs["retention"] += 1
        return made

    async def _remove_document_files(self, transitions: Sequence[Transition]) -> None:
        hashes = [h for t in transitions for h in t.deleted_documents]
        if hashes:
            await remove_unreferenced_files(self.store, self.data_dir, hashes)

    async def _guarded(self, name: str) -> None:
        try:
            if name == "rent":
                await self.run_rent()
            elif name == "retention":
                await self.run_retention()
            else:
                await self.run_arrears()
        except Exception:  # noqa: BLE001 - a failed run is retried at the next tick
            log.exception("%s job failed", name)

    def start(self) -> None:
        """Start the scheduler on the running event loop (jobs run first soon after)."""
        if not self.settings.enabled:
            return
        from apscheduler.schedulers.asyncio import AsyncIOScheduler

        scheduler = AsyncIOScheduler(timezone=timezone.utc)
        soon = utcnow() + timedelta(seconds=self.settings.first_run_delay)
        # rent first, so the first arrears check sees the rent it may owe
        scheduler.add_job(self._guarded, "interval", args=["rent"], id="rent", seconds=self.settings.rent_interval,
                          next_run_time=soon, max_instances=1, coalesce=True, misfire_grace_time=None)
        scheduler.add_job(self._guarded, "interval", args=["arrears"], id="arrears",
                          seconds=self.settings.arrears_interval,
                          next_run_time=soon + timedelta(seconds=min(1.0, self.settings.arrears_interval)),
                          max_instances=1, coalesce=True, misfire_grace_time=None)
        scheduler.add_job(self._guarded, "interval", args=["retention"], id="retention",
                          seconds=self.settings.retention_interval,
                          next_run_time=soon + timedelta(seconds=min(2.0, self.settings.arrears_interval)),
                          max_instances=1, coalesce=True, misfire_grace_time=None)
        scheduler.start()
        self.scheduler = scheduler
        log.info("billing jobs: rent every %.0f s, arrears every %.0f s, retention (%d days) every %.0f s",
                 self.settings.rent_interval, self.settings.arrears_interval, self.settings.retention_days,
                 self.settings.retention_interval)

    async def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None
