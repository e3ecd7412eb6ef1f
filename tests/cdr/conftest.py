"""CDR fixtures: write synthetic CDRs (and their ledger charges) straight into
the service's store, as the dispatcher would."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import pytest

from voicebridge.billing.rating import rate_call
from voicebridge.domain import iso
from voicebridge.store import ledger
from voicebridge.store.calls import insert_cdr

T0 = datetime(2026, 3, 1, 0, 0, tzinfo=timezone.utc)
STATUSES = ("answered", "answered", "busy", "no_answer", "answered", "rejected", "unreachable")
_seq = itertools.count(1)


def cdr_row(tenant_id: str, n: int, start: datetime, *, callee: str | None = None, status: str | None = None,
            talk_ms: int | None = None, reminder_id: str = "rm_1", rate: int = 18) -> dict[str, Any]:
    status = status or STATUSES[n % len(STATUSES)]
    talk = (talk_ms if talk_ms is not None else (n * 7919) % 200_000) if status == "answered" else 0
    answered = start + timedelta(seconds=2) if status == "answered" else None
    end = (answered + timedelta(milliseconds=talk)) if answered else start + timedelta(seconds=5)
    charge = rate_call(talk, rate)
    return {
        "call_id": f"call_{tenant_id[-6:]}_{next(_seq)}", "attempt": 1, "tenant_id": tenant_id,
        "reminder_id": reminder_id, "recipient_user_id": f"u{n}", "app_name": "call_notify",
        "session_id": f"sess-{tenant_id[-6:]}-{n}", "caller": "+861058880001",
        "callee": callee or f"+86138{n % 1000:08d}", "start_at": iso(start),
        "alerting_at": iso(start + timedelta(seconds=1)), "answer_at": iso(answered), "end_at": iso(end),
        "duration_ms": int((end - start).total_seconds() * 1000), "billable_ms": talk, "status": status,
        "cause": "prompt_finished" if answered else status, "sip_code": 200 if answered else 486, "q850": None,
        "hangup_by": "caller", "digits": "", "replays": 0, "billable_minutes": charge.minutes,
        "rate_fen_per_min": rate, "charge_fen": charge.fen, "created_at": iso(end),
    }


async def write_cdrs(store: Any, rows: list[dict[str, Any]]) -> list[int]:
    """Each CDR with its ledger charge, in one transaction, as the dispatcher does."""
    ids = []
    async with store.transaction() as tx:
        for row in rows:
            cdr_id = await insert_cdr(tx, row)
            ids.append(cdr_id)
            if row["charge_fen"]:
                await ledger.add_entry(tx, row["tenant_id"], ledger.CALL_CHARGE, -row["charge_fen"],
                                       f"cdr:{row['call_id']}:{row['attempt']}", at=row["created_at"])
    return ids


@pytest.fixture
def cdrs() -> Callable[..., Any]:
    """``await cdrs(store, tenant_id, count, start=T0, step=timedelta(minutes=7), **row)`` → ids."""

    async def make(store: Any, tenant_id: str, count: int, start: datetime = T0,
                   step: timedelta = timedelta(minutes=7), **over: Any) -> list[int]:
        rows = [cdr_row(tenant_id, i, start + i * step, **over) for i in range(count)]
        return await write_cdrs(store, rows)

    return make


@pytest.fixture
def services(service: Any) -> Any:
    from voicebridge.api.keys import SERVICES

    return service.server.app[SERVICES]


def auth(key: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **extra}


@pytest.fixture(name="auth")
def auth_fixture() -> Callable[..., dict[str, str]]:
    return auth
