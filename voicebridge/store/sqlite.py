"""The SQLite store: one file in WAL mode, reached through aiosqlite.

Two connections: one writer, used only inside :meth:`SqliteStore.transaction`
(``BEGIN IMMEDIATE`` under an asyncio lock, so every multi-row change is one
transaction and writers never interleave), and one reader, which in WAL mode sees
only committed data. Numbered migrations under ``migrations/`` are applied at
open, each in its own transaction, and recorded in ``schema_migrations``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import warnings
from importlib import resources
from pathlib import Path
from typing import Any, AsyncIterator, Iterable, Sequence

import aiosqlite

from voicebridge.domain import iso, utcnow

log = logging.getLogger(__name__)

Row = dict[str, Any]


class Tx:
    """A transaction on the writer connection."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> int:
        """Run one statement; returns the number of rows changed."""
        cur = await self._conn.execute(sql, params)
        count = cur.rowcount
        await cur.close()
        return count

    async def insert(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> int:
        cur = await self._conn.execute(sql, params)
        rowid = cur.lastrowid
        await cur.close()
        return int(rowid or 0)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        await self._conn.executemany(sql, rows)

    async def fetchone(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Row | None:
        async with self._conn.execute(sql, params) as cur:
            row = await cur.fetchone()
        return dict(row) if row is not None else None

    async def fetchall(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Row]:
        async with self._conn.execute(sql, params) as cur:
            rows = await cur.fetchall()
        return [dict(r) for r in rows]


class SqliteStore:
    """Persistence for every part of voicebridge. Use ``async with SqliteStore.open(path)``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()
        self._closed = False

    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, path: str | Path) -> AsyncIterator["SqliteStore"]:
        store = cls(Path(path))
        await store.connect()
        try:
            yield store
        finally:
            await store.close()

    async def connect(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = await self._connect()
        await self._writer.execute("PRAGMA journal_mode=WAL")
        await self._migrate()
        self._reader = await self._connect()
        await self._reader.execute("PRAGMA query_only=ON")

    async def _connect(self) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(self.path, isolation_level=None, timeout=30)
        conn.row_factory = aiosqlite.Row
        await conn.execute("PRAGMA foreign_keys=ON")
        await conn.execute("PRAGMA synchronous=NORMAL")
        await conn.execute("PRAGMA busy_timeout=30000")
        return conn

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for conn in (self._reader, self._writer):
            if conn is not None:
                await conn.close()
        self._reader = self._writer = None

    def __del__(self) -> None:
        if not self._closed and self._writer is not None:
            warnings.warn(f"unclosed store {self.path}", ResourceWarning, stacklevel=1)

    # -- migrations -------------------------------------------------------

    async def _migrate(self) -> None:
        assert self._writer is not None
        await self._writer.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        async with self._writer.execute("SELECT version FROM schema_migrations") as cur:
            done = {row[0] for row in await cur.fetchall()}
        for version, name, sql in _migrations():
            if version in done:
                continue
            log.info("applying migration %04d %s", version, name)
            async with self.transaction() as tx:
                for statement in _split_sql(sql):
                    await tx.execute(statement)
                await tx.execute(
                    "INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, ?)",
                    (version, name, iso(utcnow())),
                )

    async def schema_version(self) -> int:
        row = await self.fetchone("SELECT MAX(version) AS v FROM schema_migrations")
        return int(row["v"] or 0) if row else 0

    # -- access -------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """One write transaction: all of it commits, or none of it."""
        if self._writer is None:
            raise RuntimeError("store is closed")
        async with self._lock:
            await self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield Tx(self._writer)
            except BaseException:
                await self._writer.execute("ROLLBACK")
                raise
            else:
                await self._writer.execute("COMMIT")

    async def fetchone(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Row | None:
        if self._reader is None:
            raise RuntimeError("store is closed")
        async with self._reader.execute(sql, params) as cur:
            row = await cur.fetchone()
        return dict(row) if row is not None else None

    async def fetchall(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Row]:
        if self._reader is None:
            raise RuntimeError("store is closed")
        async with self._reader.execute(sql, params) as cur:
            rows = await cur.fetchall()
        return [dict(r) for r in rows]

    async def iterate(
        self, sql: str, params: Sequence[Any] | dict[str, Any] = (), batch: int = 500
    ) -> AsyncIterator[Row]:
        """Stream rows in batches: constant memory for exports of any size."""
        if self._reader is None:
            raise RuntimeError("store is closed")
        async with self._reader.execute(sql, params) as cur:
            while True:
                rows = await cur.fetchmany(batch)
                if not rows:
                    return
                for row in rows:
                    yield dict(row)

    async def writable(self) -> bool:
        """For /readyz: can we take the write lock and write?"""
        try:
            async with self.transaction() as tx:
                await tx.execute("CREATE TEMP TABLE IF NOT EXISTS _ready(x)")
            return True
        except Exception:  # noqa: BLE001 - readiness reports, never raises
            log.exception("store not writable")
            return False


def _migrations() -> list[tuple[int, str, str]]:
    found = []
    for entry in resources.files("voicebridge.store").joinpath("migrations").iterdir():
        name = entry.name
        if not name.endswith(".sql"):
            continue
        number, _, rest = name.partition("_")
        found.append((int(number), rest.removesuffix(".sql"), entry.read_text(encoding="utf-8")))
    return sorted(found)


def _split_sql(sql: str) -> list[str]:
    """Split a migration file into statements, the way the sqlite3 shell does
    (``complete_statement`` knows about strings, comments and triggers)."""
    statements, buf = [], ""
    for line in sql.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                statements.append(buf.strip())
            buf = ""
    if buf.strip() and not all(l.strip().startswith("--") or not l.strip() for l in buf.splitlines()):
        raise ValueError(f"incomplete SQL statement at the end of a migration: {buf.strip()[:80]!r}")
    return statements
