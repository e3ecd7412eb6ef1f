"""Creating tenants and their keys; the sandbox tenant, ready to call at once."""

from __future__ import annotations

from dataclasses import dataclass

from voicebridge.store import ledger
from voicebridge.store.sqlite import Row, SqliteStore
from voicebridge.store.tenants import (
    TENANT_SCOPES,
    add_pool_numbers,
    audit,
    create_key,
    create_tenant,
    issue_number,
    set_step,
)

SANDBOX_BALANCE_FEN = 10_000
# The simulator's own pool: Beijing fixed lines that only the built-in simulator answers for.
SIMULATOR_POOL = tuple((f"+8610588800{n:02d}", "Beijing") for n in range(1, 21))
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
            await add_pool_numbers(tx, list(SIMULATOR_POOL))
            issued = await issue_number(tx, tenant["id"], "call_notify")
            if issued is None:
                raise RuntimeError("the number pool is empty: load numbers before creating sandbox tenants")
            number = issued["e164"]
            await ledger.add_entry(tx, tenant["id"], ledger.TOPUP, SANDBOX_BALANCE_FEN, f"sandbox:{tenant['id']}",
                                   reason="sandbox trial balance")
        await audit(tx, actor, tenant["id"], "tenant.create", {"name": name, "sandbox": sandbox, "number": number})
    return NewTenant(tenant, api_key, number)


async def operator_key(store: SqliteStore, secret: bytes, actor: str = "cli") -> str:
    async with store.transaction() as tx:
        key = await create_key(tx, None, ("operator",), secret)
        await audit(tx, actor, None, "operator_key.create", {})
    return key
