"""Scheduled jobs (apscheduler, in process): rent and arrears.

The scheduler decides *when* a job runs (real time); the job takes *now* from an
injectable clock, so tests drive the same job code through months of simulated
time. Both jobs are idempotent: rent periods and arrears transitions are keyed
in the store, so overlapping or repeated runs change nothing twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Callable, Sequence

from voicebridge.billing.accounts import Listener, Transition, settle_all
from voicebridge.billing.rent_charges import RentCharge, charge_rent
from voicebridge.domain import utcnow
from voicebridge.store.sqlite import SqliteStore

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


class BillingJobs:
    """The rent job and the arrears job over one store."""

    def __init__(
        self,
        store: SqliteStore,
        settings: JobSettings = JobSettings(),
        clock: Clock = utcnow,
        listeners: Sequence[Listener] = (),
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.listeners = list(listeners)
        self.scheduler: "AsyncIOScheduler | None" = None
        self.runs = {"rent": 0, "arrears": 0}

    async def run_rent(self) -> list[RentCharge]:
        """Charge every rent period begun by the clock's now (and settle arrears)."""
        charges, _ = await charge_rent(self.store, self.clock(), listeners=self.listeners)
        self.runs["rent"] += 1
        return charges

    async def run_arrears(self) -> list[Transition]:
        """Move tenants along grace → retention → release as time passes."""
        made = await settle_all(self.store, self.clock(), listeners=self.listeners)
        self.runs["arrears"] += 1
        return made

    async def _guarded(self, name: str) -> None:
        try:
            if name == "rent":
                await self.run_rent()
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
        scheduler.start()
        self.scheduler = scheduler
        log.info("billing jobs: rent every %.0f s, arrears every %.0f s",
                 self.settings.rent_interval, self.settings.arrears_interval)

    async def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None
