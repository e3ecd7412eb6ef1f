from pathlib import Path

import pytest

from voicebridge.store import ledger
from voicebridge.store.sqlite import SqliteStore
from voicebridge.store.tenants import create_tenant


async def test_migrations_apply_once_and_wal(tmp_path: Path) -> None:
    path = tmp_path / "vb.sqlite3"
    async with SqliteStore.open(path) as store:
        assert await store.schema_version() >= 1
        mode = await store.fetchone("PRAGMA journal_mode")
        assert mode is not None and list(mode.values())[0] == "wal"
    async with SqliteStore.open(path) as store:  # reopening applies nothing twice
        rows = await store.fetchall("SELECT version FROM schema_migrations")
        assert len(rows) == len({r["version"] for r in rows})


async def test_transaction_is_all_or_nothing(tmp_path: Path) -> None:
    async with SqliteStore.open(tmp_path / "vb.sqlite3") as store:
        async with store.transaction() as tx:
            tenant = await create_tenant(tx, "A")
        with pytest.raises(RuntimeError):
            async with store.transaction() as tx:
                await ledger.add_entry(tx, tenant["id"], ledger.TOPUP, 500, "t1")
                raise RuntimeError("boom")
        assert await ledger.balance(store, tenant["id"]) == 0


async def test_ledger_reference_is_charged_once(tmp_path: Path) -> None:
    async with SqliteStore.open(tmp_path / "vb.sqlite3") as store:
        async with store.transaction() as tx:
            tenant = await create_tenant(tx, "A")
            assert await ledger.add_entry(tx, tenant["id"], ledger.TOPUP, 1000, "pay-1")
            assert await ledger.add_entry(tx, tenant["id"], ledger.CALL_CHARGE, -18, "cdr:c1:1")
            assert not await ledger.add_entry(tx, tenant["id"], ledger.CALL_CHARGE, -18, "cdr:c1:1")
        assert await ledger.balance(store, tenant["id"]) == 982


async def test_ledger_refuses_float_money(tmp_path: Path) -> None:
    async with SqliteStore.open(tmp_path / "vb.sqlite3") as store:
        with pytest.raises(TypeError):
            async with store.transaction() as tx:
                tenant = await create_tenant(tx, "A")
                await ledger.add_entry(tx, tenant["id"], ledger.TOPUP, 0.18, "x")  # type: ignore[arg-type]


async def test_close_twice_is_fine(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "vb.sqlite3")
    await store.connect()
    await store.close()
    await store.close()


async def test_running_balance_follows_every_entry(tmp_path: Path) -> None:
    async with SqliteStore.open(tmp_path / "vb.sqlite3") as store:
        async with store.transaction() as tx:
            tenant = await create_tenant(tx, "A")
            await ledger.add_entry(tx, tenant["id"], ledger.TOPUP, 1000, "pay-1")
            await ledger.add_entry(tx, tenant["id"], ledger.CALL_CHARGE, -36, "cdr:c1:1")
            await ledger.add_entry(tx, tenant["id"], ledger.CALL_CHARGE, -36, "cdr:c1:1")  # a repeat adds nothing
            await ledger.add_entry(tx, tenant["id"], ledger.RENT, -3000, "rent:n1:2026-01-01")
        assert await ledger.balance(store, tenant["id"]) == await ledger.summed_balance(store, tenant["id"]) == -2036
        async with store.transaction() as tx:  # a purge deletes entries, then recounts
            await tx.execute("DELETE FROM ledger WHERE kind = 'rent'")
            assert await ledger.recount(tx, tenant["id"]) == 964
        assert await ledger.balance(store, tenant["id"]) == 964
