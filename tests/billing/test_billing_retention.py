"""Release deletes a tenant's documents; the retention job purges its records
``billing.retention_days`` later. A real SQLite file, real files, a controlled clock."""

from __future__ import annotations

import json
import os
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from voicebridge.billing.statements import reconcile_tenant
from voicebridge.config import Settings
from voicebridge.domain import iso
from voicebridge.jobs import BillingJobs, JobSettings
from voicebridge.onboarding.documents import (
    delete_tenant_documents,
    document_path,
    remove_unreferenced_files,
    save_document,
)
from voicebridge.store import ledger
from voicebridge.store.tenants import get_tenant

PDF_SHARED = b"%PDF-1.4\n% shared licence\n%%EOF\n"
PDF_OWN = b"%PDF-1.4\n% only tenant A\n%%EOF\n"
PNG_B = b"\x89PNG\r\n\x1a\n" + b"\x01" * 32
PURGED = ("reminders", "calls", "cdrs", "ledger", "outbox", "idempotency")


async def add_records(store: Any, tid: str, tag: str, at: Any) -> None:
    """One reminder with one call and its CDR, a charge, an outbox row and an idempotency row."""
    ts = iso(at)
    async with store.transaction() as tx:
        await tx.execute(
            "INSERT INTO reminders(id, tenant_id, group_id, message_id, sender_user_id, sender_name, text, language, "
            "caller, prompt_text, status, created_at) VALUES (?, ?, 'g', ?, 'u0', 'Zhang', 'hi', 'en', '+861058880000', "
            "'hi', 'completed', ?)", (f"rm_{tag}", tid, f"m_{tag}", ts))
        await tx.execute(
            "INSERT INTO calls(id, reminder_id, tenant_id, seq, user_id, phone, status, updated_at) "
            "VALUES (?, ?, ?, 0, 'u1', '+8613800138000', 'completed', ?)", (f"ca_{tag}", f"rm_{tag}", tid, ts))
        await tx.execute(
            "INSERT INTO cdrs(call_id, attempt, tenant_id, reminder_id, recipient_user_id, session_id, caller, callee, "
            "start_at, end_at, duration_ms, billable_ms, status, cause, hangup_by, billable_minutes, rate_fen_per_min, "
            "charge_fen, created_at) VALUES (?, 1, ?, ?, 'u1', ?, '+861058880000', '+8613800138000', ?, ?, 30000, "
            "20000, 'answered', 'normal', 'callee', 1, 18, 18, ?)",
            (f"ca_{tag}", tid, f"rm_{tag}", f"sess-{tag}", ts, ts, ts))
        cdr = await tx.fetchone("SELECT id FROM cdrs WHERE call_id = ?", (f"ca_{tag}",))
        await ledger.add_entry(tx, tid, ledger.CALL_CHARGE, -18, f"cdr:{cdr['id']}", at=ts)
        await tx.execute(
            "INSERT INTO outbox(event_id, tenant_id, url, event, payload, state, next_attempt_at, created_at, "
            "expires_at) VALUES (?, ?, 'http://127.0.0.1:9/hook', 'call.completed', '{}', 'dead', ?, ?, ?)",
            (f"ev_{tag}", tid, ts, ts, ts))
        await tx.execute(
            "INSERT INTO idempotency(tenant_id, key, body_hash, status, response, created_at) "
            "VALUES (?, ?, 'h', 202, '{}', ?)", (tid, f"k_{tag}", ts))


async def counts(store: Any, tid: str) -> dict[str, int]:
    out = {}
    for table in PURGED:
        row = await store.fetchone(f"SELECT COUNT(*) AS n FROM {table} WHERE tenant_id = ?", (tid,))
        out[table] = row["n"]
    return out


async def actions(store: Any, tid: str, action: str) -> list[dict[str, Any]]:
    rows = await store.fetchall("SELECT detail FROM audit WHERE tenant_id = ? AND action = ? ORDER BY id", (tid, action))
    return [json.loads(r["detail"]) for r in rows]


async def release(store: Any, jobs: BillingJobs, clock: Any, tid: str) -> Any:
    """Tip the tenant below zero now, then run the arrears job past its V1 on-demand release (0 + 7 days)."""
    async with store.transaction() as tx:
        owed = await ledger.balance(tx, tid) + 100
        await ledger.add_entry(tx, tid, ledger.ADJUSTMENT, -owed, f"tip:{tid}", reason="test: into arrears",
                               at=iso(clock()))
    await jobs.run_arrears()
    assert (await get_tenant(store, tid))["arrears_state"] == "retention"  # V1: 0 grace days
    clock.advance(days=7, seconds=1)
    made = await jobs.run_arrears()
    assert (await get_tenant(store, tid))["arrears_state"] == "released"
    return made


async def test_release_deletes_documents_and_keeps_shared_files(
    store: Any, make_tenant: Any, clock: Any, tmp_path: Path
) -> None:
    a = await make_tenant(level="V1", balance=1000)
    b = await make_tenant(level="V1", balance=1000)
    jobs = BillingJobs(store, JobSettings(enabled=False), clock=clock)
    assert jobs.data_dir == tmp_path  # the store file's folder by default
    own = await save_document(store, tmp_path, a, PDF_OWN, "application/pdf", kind="licence", actor="k_a")
    shared_a = await save_document(store, tmp_path, a, PDF_SHARED, "application/pdf", kind="other", actor="k_a")
    shared_b = await save_document(store, tmp_path, b, PDF_SHARED, "application/pdf", kind="licence", actor="k_b")
    b_only = await save_document(store, tmp_path, b, PNG_B, "image/png", kind="id_image", actor="k_b")
    assert shared_a["sha256"] == shared_b["sha256"]
    made = await release(store, jobs, clock, a)
    (moved,) = [t for t in made if t.tenant_id == a]
    assert sorted(moved.deleted_documents) == sorted([own["sha256"], shared_a["sha256"]])
    assert moved.as_dict()["deleted_documents"] == 2
    # A's rows are gone; the file only A used is gone; the bytes B also uploaded stay, as do B's rows
    assert await store.fetchall("SELECT id FROM documents WHERE tenant_id = ?", (a,)) == []
    assert not document_path(tmp_path, own["sha256"]).exists()
    assert document_path(tmp_path, shared_b["sha256"]).read_bytes() == PDF_SHARED
    assert document_path(tmp_path, b_only["sha256"]).exists()
    rows = await store.fetchall("SELECT id FROM documents WHERE tenant_id = ? ORDER BY id", (b,))
    assert sorted(r["id"] for r in rows) == sorted([shared_b["id"], b_only["id"]])
    (deleted,) = await actions(store, a, "document.delete")
    assert sorted(deleted["ids"]) == sorted([own["id"], shared_a["id"]]) and deleted["reason"] == "released"
    # the release audit row is in the same transaction: it names the numbers and the document count
    last = (await actions(store, a, "tenant.arrears"))[-1]
    assert (last["to"], last["deleted_documents"]) == ("released", 2)
    # idempotent: another run changes nothing
    assert await jobs.run_arrears() == []
    assert len(await actions(store, a, "document.delete")) == 1


async def test_rolled_back_release_keeps_rows_and_files(store: Any, make_tenant: Any, tmp_path: Path) -> None:
    a = await make_tenant()
    doc = await save_document(store, tmp_path, a, PDF_OWN, "application/pdf", actor="k")

    class Boom(Exception):
        pass

    hashes: list[str] = []
    try:
        async with store.transaction() as tx:
            hashes = await delete_tenant_documents(tx, a, actor="test")
            raise Boom
    except Boom:
        pass
    assert hashes == [doc["sha256"]]
    # the caller removes files only after a commit; even if it tried, a row still names the bytes
    assert await remove_unreferenced_files(store, tmp_path, hashes) == []
    assert document_path(tmp_path, doc["sha256"]).exists()
    assert await store.fetchone("SELECT id FROM documents WHERE id = ?", (doc["id"],)) is not None


async def test_sweep_removes_only_old_unreferenced_files(store: Any, make_tenant: Any, tmp_path: Path) -> None:
    a = await make_tenant()
    kept = await save_document(store, tmp_path, a, PDF_OWN, "application/pdf", actor="k")
    folder = tmp_path / "documents"
    old_orphan = folder / ("a" * 64)
    new_orphan = folder / ("b" * 64)
    not_ours = folder / "notes.txt"
    for f in (old_orphan, new_orphan, not_ours):
        f.write_bytes(b"x")
    long_ago = time.time() - 7200
    for f in (old_orphan, not_ours, document_path(tmp_path, kept["sha256"])):
        os.utime(f, (long_ago, long_ago))
    assert await remove_unreferenced_files(store, tmp_path) == ["a" * 64]
    assert not old_orphan.exists() and new_orphan.exists() and not_ours.exists()
    assert document_path(tmp_path, kept["sha256"]).exists()
    assert await remove_unreferenced_files(store, tmp_path, ["../../etc/passwd", "b" * 64]) == ["b" * 64]


async def test_retention_purges_after_retention_days_exactly_once(
    store: Any, make_tenant: Any, clock: Any, tmp_path: Path
) -> None:
    a = await make_tenant(level="V1", balance=1000)
    b = await make_tenant(level="V1", balance=1000)
    jobs = BillingJobs(store, JobSettings(enabled=False, retention_days=180), clock=clock)
    for i in range(3):
        await add_records(store, a, f"a{i}", clock())
    await add_records(store, b, "b0", clock())
    await release(store, jobs, clock, a)
    released = clock()
    balance = await ledger.balance(store, a)
    assert balance < 0
    before_b = await counts(store, b)
    before_a = await counts(store, a)
    assert before_a == {"reminders": 3, "calls": 3, "cdrs": 3, "ledger": 5, "outbox": 3, "idempotency": 3}

    clock.set(released + timedelta(days=180) - timedelta(seconds=1))
    assert await jobs.run_retention() == []
    assert await counts(store, a) == before_a  # kept for finance until retention_days have passed

    clock.set(released + timedelta(days=180))
    (purge,) = await jobs.run_retention()
    assert purge.tenant_id == a and purge.released_at == iso(released)
    assert purge.deleted == {"calls": 3, "reminders": 3, "cdrs": 3, "outbox": 3, "idempotency": 3, "ledger": 5}
    after = await counts(store, a)
    assert after == {"reminders": 0, "calls": 0, "cdrs": 0, "ledger": 1, "outbox": 0, "idempotency": 0}
    (carry,) = await ledger.entries(store, a)
    assert (carry["kind"], carry["amount_fen"]) == ("adjustment", balance)  # the balance, carried forward
    assert carry["reference"] == f"retention:{a}:{iso(released)}"
    assert await counts(store, b) == before_b  # another tenant is untouched
    (audited,) = await actions(store, a, "tenant.purge")
    assert audited["deleted"]["cdrs"] == 3 and audited["carried_fen"] == balance

    # idempotent: later runs (and the arrears job) change nothing; the tenant stays released
    clock.advance(days=1)
    assert await jobs.run_retention() == []
    assert await jobs.run_arrears() == []
    assert (await get_tenant(store, a))["arrears_state"] == "released"
    assert len(await actions(store, a, "tenant.purge")) == 1
    assert await ledger.entries(store, a) == [carry]
    report = await reconcile_tenant(store, await get_tenant(store, a), now=clock())
    assert report.ok, report.problems
    assert jobs.runs["retention"] == 3


async def test_a_tenant_topped_up_after_release_is_not_purged(store: Any, make_tenant: Any, clock: Any) -> None:
    from voicebridge.billing.accounts import settle

    a = await make_tenant(level="V1", balance=1000)
    jobs = BillingJobs(store, JobSettings(enabled=False, retention_days=30), clock=clock)
    await add_records(store, a, "a0", clock())
    await release(store, jobs, clock, a)
    async with store.transaction() as tx:
        await ledger.add_entry(tx, a, ledger.TOPUP, 10_000, "pay-after-release", at=iso(clock()))
        await settle(tx, a, clock())
    assert (await get_tenant(store, a))["arrears_state"] == "active"
    clock.advance(days=365)
    assert await jobs.run_retention() == []
    assert (await counts(store, a))["cdrs"] == 1


async def test_retention_days_setting(tmp_path: Path) -> None:
    assert Settings.load(env={}).billing.retention_days == 180
    env = {"VOICEBRIDGE_BILLING__RETENTION_DAYS": "30"}
    assert Settings.load(env=env).billing.retention_days == 30
    cfg = tmp_path / "vb.toml"
    cfg.write_text("[billing]\nretention_days = 90\n")
    assert Settings.load(cfg, env={}).billing.retention_days == 90
