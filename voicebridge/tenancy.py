"""Creating tenants and their keys; the sandbox tenant, ready to call at once."""

from __future__ import annotations

from dataclasses import dataclass

from voicebridge.errors import Problem
from voicebridge.store import ledger
from voicebridge.store.sqlite import Row, SqliteStore, Tx
from voicebridge.store.tenants import (
    TENANT_SCOPES,
    add_pool_numbers,
    audit,
    create_key,
    create_tenant,
    issue_numbers,
    set_step,
)

SANDBOX_BALANCE_FEN = 10_000
# Sandbox tenants call from the simulator's own numbers, Beijing fixed lines
# +86 10 5888 0001 … 9999, one per sandbox tenant; never from a carrier's number.
SIMULATOR_PREFIX = "+86105888"
SIMULATOR_NUMBERS = 9999
ONBOARDING_STEPS = ("activation", "filing", "number_order")


@dataclass(frozen=True)
class NewTenant:
    tenant: Row
    api_key: str
    number: str | None


async def new_tenant(
    store: SqliteStore, secret: bytes, name: str, *, sandbox: bool = False, actor: str = "operator",
    level: str = "V1", timezone: str = "Asia/Shanghai",
) -> NewTenant:
    """A tenant and its first key (all tenant scopes). With ``sandbox``: the three
    onboarding steps approved, one call_notify number issued, 10000 fen balance."""
    if not name.strip():
        raise ValueError("name must not be empty")
    async with store.transaction() as tx:
        tenant = await create_tenant(tx, name.strip(), sandbox=sandbox, level=level, timezone=timezone)
        api_key = await create_key(tx, tenant["id"], TENANT_SCOPES, secret)
        number = None
        if sandbox:
            for step in ONBOARDING_STEPS:
                await set_step(tx, tenant["id"], step, "approved", {"sandbox": True})
            number = await _free_simulator_number(tx)
            await add_pool_numbers(tx, [(number, "Beijing")])
            await issue_numbers(tx, tenant["id"], [number], "call_notify")
            await ledger.add_entry(tx, tenant["id"], ledger.TOPUP, SANDBOX_BALANCE_FEN, f"sandbox:{tenant['id']}",
                                   reason="sandbox trial balance")
        await audit(tx, actor, tenant["id"], "tenant.create", {"name": name, "sandbox": sandbox, "number": number})
    return NewTenant(tenant, api_key, number)


async def _free_simulator_number(tx: Tx) -> str:
    rows = await tx.fetchall("SELECT e164 FROM numbers WHERE e164 LIKE ? AND status != 'pool'",
                             (SIMULATOR_PREFIX + "%",))
    taken = {r["e164"] for r in rows}
    for n in range(1, SIMULATOR_NUMBERS + 1):
        e164 = f"{SIMULATOR_PREFIX}{n:04d}"
        if e164 not in taken:
            return e164
    raise Problem(409, "No sandbox numbers left", f"all {SIMULATOR_NUMBERS} simulator numbers are issued",
                  type="https://voicebridge.dev/problems/pool-empty")


async def operator_key(store: SqliteStore, secret: bytes, actor: str = "cli") -> str:
    async with store.transaction() as tx:
        key = await create_key(tx, None, ("operator",), secret)
        await audit(tx, actor, None, "operator_key.create", {})
    return key
