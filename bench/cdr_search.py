"""CDR search and CSV export at scale, against ``sqlite3 -csv`` in the same run.

    python bench/cdr_search.py                 # 1,000,000 CDRs (about a minute)
    python bench/cdr_search.py --rows 10000000 # the full run (about ten minutes)

Fills a temporary SQLite file (the real schema, every migration) with N CDRs by
``executemany``: 80 % of them one big tenant's, over one year; then

* search: ``GET /v1/cdrs`` pages (the real query code, :func:`voicebridge.cdr.query.page`,
  through aiosqlite) for the big tenant over the whole year: the first page,
  deep pages at random cursors, exact callee, callee prefix, status, session id;
  p50 / p99 per kind;
* export: the CSV export code (:func:`export_rows` + :func:`encode_rows`) over one
  month of the big tenant, rows per second, against the ``sqlite3 -csv`` shell
  writing the same rows (same columns, same order) to a file: prints the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from voicebridge.cdr import csvout  # noqa: E402
from voicebridge.cdr.query import CdrQuery, Match, export_rows, page  # noqa: E402
from voicebridge.store.sqlite import SqliteStore  # noqa: E402

T0 = datetime(2025, 1, 1, tzinfo=timezone.utc)
YEAR_S = 365 * 86400
BIG = "tn_big"
STATUSES = ("answered",) * 6 + ("busy", "no_answer", "rejected", "unreachable")
COLS = (
    "call_id", "attempt", "tenant_id", "reminder_id", "recipient_user_id", "app_name", "session_id", "caller",
    "callee", "start_at", "alerting_at", "answer_at", "end_at", "duration_ms", "billable_ms", "status", "cause",
    "sip_code", "q850", "hangup_by", "digits", "replays", "billable_minutes", "rate_fen_per_min", "charge_fen",
    "created_at",
)  # fmt: skip


def ts(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat(timespec="milliseconds")


def rows(n: int, seed: int = 7):
    rnd = random.Random(seed)
    step = YEAR_S / n
    for i in range(n):
        tenant = BIG if rnd.random() < 0.8 else f"tn_{rnd.randrange(50):02d}"
        start = i * step + rnd.random() * step
        status = STATUSES[rnd.randrange(len(STATUSES))]
        talk = rnd.randrange(1, 180_000) if status == "answered" else 0
        answer = start + 4 if talk else None
        end = (answer + talk / 1000) if answer else start + 6
        minutes = -(-talk // 60_000)
        yield (
            f"call_{i:09d}", 1, tenant, f"rm_{i // 20:08d}", f"u{i % 5000}", "call_notify", f"sess-{i:09d}",
            "+861058880001", f"+86138{rnd.randrange(10**8):08d}", ts(start), ts(start + 2),
            ts(answer) if answer else None, ts(end), int((end - start) * 1000), talk, status,
            "prompt_finished" if talk else status, 200 if talk else 486, None, "caller", "", 0, minutes, 18,
            minutes * 18, ts(end),
        )


def fill(path: Path, n: int) -> float:
    """Bulk load with the indexes dropped, then rebuild them (as a restore would)."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    indexes = conn.execute("SELECT name, sql FROM sqlite_master WHERE type='index' AND tbl_name='cdrs' "
                           "AND sql IS NOT NULL").fetchall()
    for name, _ in indexes:
        conn.execute(f"DROP INDEX {name}")
    began = time.perf_counter()
    sql = f"INSERT INTO cdrs({', '.join(COLS)}) VALUES ({', '.join('?' for _ in COLS)})"
    gen = rows(n)
    done = 0
    while done < n:
        chunk = [next(gen) for _ in range(min(200_000, n - done))]
        conn.execute("BEGIN")
        conn.executemany(sql, chunk)
        conn.execute("COMMIT")
        done += len(chunk)
        print(f"\r  filled {done:,}/{n:,}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    for _, create in indexes:
        conn.execute(create)
    conn.execute("ANALYZE")
    conn.commit()
    conn.close()
    return time.perf_counter() - began


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def search(path: Path, iterations: int) -> dict[str, list[float]]:
    rnd = random.Random(11)
    out: dict[str, list[float]] = {}
    async with SqliteStore.open(path) as store:
        callees = [r["callee"] for r in await store.fetchall(
            "SELECT callee FROM cdrs WHERE tenant_id = ? AND id % 997 = 0 LIMIT 500", (BIG,))]
        sessions = [r["session_id"] for r in await store.fetchall(
            "SELECT session_id FROM cdrs WHERE tenant_id = ? AND id % 991 = 0 LIMIT 500", (BIG,))]
        year = CdrQuery(BIG, ts(0), ts(YEAR_S + 86400))

        def kinds() -> dict[str, CdrQuery]:
            at = rnd.uniform(0, YEAR_S)
            return {
                "first page": year,
                "deep page (cursor)": CdrQuery(BIG, year.start, year.end, after=(ts(at), 10**12)),
                "callee exact": CdrQuery(BIG, year.start, year.end, callee=Match(rnd.choice(callees))),
                "callee prefix": CdrQuery(BIG, year.start, year.end,
                                          callee=Match(f"+86138{rnd.randrange(1000):03d}", prefix=True)),
                "status=busy": CdrQuery(BIG, year.start, year.end, statuses=("busy",)),
                "status=rejected,unreachable": CdrQuery(BIG, year.start, year.end,
                                                        statuses=("rejected", "unreachable")),
                "session id": CdrQuery(BIG, year.start, year.end, session_id=rnd.choice(sessions)),
            }

        for _ in range(3):  # warm the page cache
            for q in kinds().values():
                await page(store, q)
        for _ in range(iterations):
            for name, q in kinds().items():
                began = time.perf_counter()
                got, _ = await page(store, q)
                out.setdefault(name, []).append((time.perf_counter() - began) * 1000)
                assert got or name in ("callee prefix",), name
    return out


async def export_ours(path: Path, start: str, end: str, dest: Path) -> tuple[int, float]:
    async with SqliteStore.open(path) as store:
        query = CdrQuery(BIG, start, end)
        began = time.perf_counter()
        n = 0
        with open(dest, "wb") as fh:
            fh.write(csvout.header())
            async for batch in export_rows(store, query, csvout.SQL_COLUMNS):
                fh.write(csvout.encode_rows(batch))
                n += len(batch)
        return n, time.perf_counter() - began


def export_sqlite3(path: Path, start: str, end: str, dest: Path) -> tuple[int, float]:
    cols = ", ".join(csvout.SQL_COLUMNS)
    sql = (f"SELECT {cols} FROM cdrs WHERE tenant_id = '{BIG}' AND start_at >= '{start}' AND start_at < '{end}' "
           "ORDER BY start_at, id;")
    began = time.perf_counter()
    with open(dest, "wb") as fh:
        subprocess.run(["sqlite3", "-csv", "-header", str(path), sql], stdout=fh, check=True)
    elapsed = time.perf_counter() - began
    with open(dest, "rb") as fh:
        n = sum(1 for _ in fh) - 1
    return n, elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--iterations", type=int, default=200, help="searches per kind")
    parser.add_argument("--export-days", type=int, default=30, help="days of the big tenant to export")
    parser.add_argument("--keep", metavar="DIR", help="keep the SQLite file here")
    args = parser.parse_args()
    if shutil.which("sqlite3") is None:
        print("needs the sqlite3 shell (Debian: sqlite3)", file=sys.stderr)
        return 2
    tmp = Path(args.keep or tempfile.mkdtemp(prefix="cdr-bench-"))
    path = tmp / "bench.sqlite3"
    try:
        asyncio.run(_migrate(path))
        print(f"filling {args.rows:,} CDRs into {path} ...", file=sys.stderr)
        fill_s = fill(path, args.rows)
        size = os.path.getsize(path) / 1e6
        print(f"fill: {args.rows:,} rows in {fill_s:.1f} s ({args.rows / fill_s:,.0f} rows/s, indexes rebuilt "
              f"and analysed), file {size:,.0f} MB")
        lat = asyncio.run(search(path, args.iterations))
        allv: list[float] = []
        print(f"search, one page of 50, big tenant ({int(args.rows * 0.8):,} CDRs) over a year, "
              f"{args.iterations} runs each:")
        for name, values in lat.items():
            allv += values
            print(f"  {name:30} p50 {statistics.median(values):7.2f} ms   p99 {pct(values, 0.99):7.2f} ms")
        print(f"  {'all':30} p50 {statistics.median(allv):7.2f} ms   p99 {pct(allv, 0.99):7.2f} ms")
        start, end = ts(100 * 86400), ts((100 + args.export_days) * 86400)
        n_ref, s_ref = export_sqlite3(path, start, end, tmp / "ref.csv")
        n_ours, s_ours = export_ours_sync(path, start, end, tmp / "ours.csv")
        assert n_ours == n_ref, (n_ours, n_ref)
        print(f"export, {args.export_days} days of the big tenant ({n_ours:,} rows, same columns and order):")
        print(f"  voicebridge CSV export   {n_ours / s_ours:12,.0f} rows/s  ({s_ours:.2f} s)")
        print(f"  sqlite3 -csv             {n_ref / s_ref:12,.0f} rows/s  ({s_ref:.2f} s)")
        print(f"  ratio voicebridge / sqlite3 = {(n_ours / s_ours) / (n_ref / s_ref):.2f}")
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


def export_ours_sync(path: Path, start: str, end: str, dest: Path) -> tuple[int, float]:
    return asyncio.run(export_ours(path, start, end, dest))


async def _migrate(path: Path) -> None:
    async with SqliteStore.open(path):
        pass


if __name__ == "__main__":
    raise SystemExit(main())
