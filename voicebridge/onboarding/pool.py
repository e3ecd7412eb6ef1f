"""The operator's number pool and a tenant's numbers: issue, pause, resume, release.

Numbers are E.164 rows in ``numbers``: ``pool`` (loaded by the operator, no
tenant) → ``in_use`` (issued; rent starts on ``issued_at``) ⇄ ``paused`` →
``released`` (``released_at``; rent stops from the next period). Releasing is
final: a released number is not handed out again by this module.
"""

from __future__ import annotations

from typing import Any

from voicebridge.domain import iso, utcnow
from voicebridge.errors import Problem
from voicebridge.numbers.callerid import city_key
from voicebridge.numbers.e164 import city_of
from voicebridge.store.sqlite import Row, SqliteStore, Tx
from voicebridge.store.tenants import SERVICE_TYPES, audit, issue_numbers

__all__ = ["SERVICE_TYPES", "NUMBER_ACTIONS", "number_keys", "allocate", "change_status", "list_numbers",
           "pool_numbers", "NUMBER_FIELDS"]

NUMBER_STATUSES = ("pool", "in_use", "paused", "released")
NUMBER_ACTIONS: dict[str, tuple[frozenset[str], str]] = {
    "pause": (frozenset({"in_use"}), "paused"),
    "resume": (frozenset({"paused"}), "in_use"),
    "release": (frozenset({"in_use", "paused"}), "released"),
}
"""action → (statuses it may start from, status it ends in)."""
NUMBER_FIELDS = ("e164", "city", "number_type", "app_name", "service_type", "status", "ordered_at", "issued_at",
                 "released_at")


def number_keys(e164: str, city: str) -> set[str]:
    """Comparable city keys of a pool number: its loaded city and its geocoded
    city in English and Chinese, so an order for "北京" finds "Beijing" numbers."""
    return {k for k in (city_key(city), city_key(city_of(e164, "en")), city_key(city_of(e164, "zh"))) if k}


async def allocate(
    tx: Tx, tenant_id: str, *, app_name: str, number_type: str, city: str, quantity: int,
    ordered_at: str | None, actor: str,
) -> list[Row]:
    """Issue ``quantity`` pool numbers of ``number_type`` in ``city`` to the tenant,
    all or none; a 409 Problem when the pool lacks them. Stamps ``issued_at``."""
    want = city_key(city)
    rows = await tx.fetchall(
        "SELECT e164, city FROM numbers WHERE status = 'pool' AND tenant_id IS NULL AND number_type = ? ORDER BY e164",
        (number_type,),
    )
    found = [r["e164"] for r in rows if want and want in number_keys(r["e164"], r["city"])]
    if len(found) < quantity:
        raise Problem(
            409, "Not enough pool numbers",
            f"the pool holds {len(found)} {number_type} number(s) in {city}, the order needs {quantity}: "
            "load numbers into the pool first",
            type="https://voicebridge.dev/problems/pool-empty",
            extra={"city": city, "available": len(found), "quantity": quantity},
        )
    taken = found[:quantity]
    await issue_numbers(tx, tenant_id, taken, app_name, ordered_at)
    await audit(tx, actor, tenant_id, "number.issue", {"numbers": taken, "app_name": app_name, "city": city})
    marks = ", ".join("?" for _ in taken)
    return await tx.fetchall(f"SELECT * FROM numbers WHERE e164 IN ({marks}) ORDER BY e164", tuple(taken))


async def change_status(store: SqliteStore, tenant_id: str, e164: str, action: str, actor: str) -> Row:
    """Pause, resume or release one of the tenant's numbers; 404 for a number
    the tenant does not hold, 409 when the number's status forbids the action."""
    if action not in NUMBER_ACTIONS:
        raise ValueError(f"unknown number action {action!r}")
    allowed, new = NUMBER_ACTIONS[action]
    async with store.transaction() as tx:
        row = await tx.fetchone("SELECT * FROM numbers WHERE e164 = ? AND tenant_id = ?", (e164, tenant_id))
        if row is None or row["status"] == "pool":
            raise Problem(404, "Not found", "no such number", type="https://voicebridge.dev/problems/not-found")
        if row["status"] not in allowed:
            raise Problem(409, "Number status forbids this",
                          f"the number is {row['status']}: {action} needs it {' or '.join(sorted(allowed))}",
                          type="https://voicebridge.dev/problems/number-status", extra={"status": row["status"]})
        now = iso(utcnow())
        await tx.execute(
            "UPDATE numbers SET status = ?, released_at = CASE WHEN ? = 'released' THEN ? ELSE released_at END "
            "WHERE e164 = ?",
            (new, new, now, e164),
        )
        await audit(tx, actor, tenant_id, f"number.{action}", {"number": e164, "from": row["status"], "to": new})
        out = await tx.fetchone("SELECT * FROM numbers WHERE e164 = ?", (e164,))
    assert out is not None
    return out


async def list_numbers(
    store: SqliteStore, tenant_id: str, *, status: str | None = None, app_name: str | None = None,
) -> list[Row]:
    sql = "SELECT * FROM numbers WHERE tenant_id = ? AND status != 'pool'"
    params: list[Any] = [tenant_id]
    if status:
        sql += " AND status = ?"
        params.append(status)
    if app_name:
        sql += " AND app_name = ?"
        params.append(app_name)
    return await store.fetchall(sql + " ORDER BY issued_at, e164", params)


async def pool_numbers(store: SqliteStore, city: str | None = None) -> list[Row]:
    """The numbers still in the pool (optionally in ``city``, by the same matching as orders)."""
    rows = await store.fetchall("SELECT * FROM numbers WHERE status = 'pool' ORDER BY city, e164")
    if city:
        want = city_key(city)
        rows = [r for r in rows if want and want in number_keys(r["e164"], r["city"])]
    return rows
