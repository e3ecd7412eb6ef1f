"""Finance from the command line: ``cdr export``, ``statement``, ``reconcile``.

Registered on the main parser by :func:`add_commands`; each command takes
``--config`` and ``--data-dir`` like every command that touches the store.
Output goes to stdout (or ``-o FILE``); progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any, Callable, TextIO

from voicebridge.store.sqlite import Row, SqliteStore

PROGRESS_EVERY = 50_000  # rows between progress lines on stderr


def add_commands(sub: Any, store_flags: Callable[[argparse.ArgumentParser], None]) -> None:
    p = sub.add_parser("cdr", help="finance: call detail records")
    csub = p.add_subparsers(dest="cdr_command", metavar="ACTION")
    e = csub.add_parser("export", help="write a tenant's CDRs as CSV (oldest first)")
    store_flags(e)
    e.add_argument("--tenant", required=True, metavar="ID")
    e.add_argument("--from", dest="start", required=True, metavar="TIME",
                   help="ISO 8601 with offset, or a date in the tenant's time zone (inclusive)")
    e.add_argument("--to", dest="end", required=True, metavar="TIME", help="exclusive")
    e.add_argument("--callee", help="exact, or a prefix ending in *")
    e.add_argument("--caller", help="exact, or a prefix ending in *")
    e.add_argument("--status", help="comma separated statuses")
    e.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    e.add_argument("--bom", action="store_true", help="start with a UTF-8 byte order mark (spreadsheets)")
    e.add_argument("--quiet", action="store_true", help="no progress on stderr")
    e.set_defaults(func=cmd_cdr_export)

    p = sub.add_parser("statement", help="finance: a tenant's monthly statement")
    store_flags(p)
    p.add_argument("--tenant", required=True, metavar="ID")
    p.add_argument("--month", required=True, metavar="YYYY-MM")
    p.add_argument("--csv", action="store_true", help="CSV instead of a table")
    p.add_argument("--json", action="store_true", help="JSON instead of a table")
    p.set_defaults(func=cmd_statement)

    p = sub.add_parser("reconcile", help="audit: prove balances, charges and statements add up (exit 1 if not)")
    store_flags(p)
    p.add_argument("--tenant", metavar="ID", help="one tenant (default: all)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_reconcile)


def _run(args: argparse.Namespace, fn: Callable[[SqliteStore], Any]) -> Any:
    import asyncio

    from voicebridge.cli import load_settings

    settings = load_settings(args)
    if not settings.db_path.exists():
        from voicebridge.cli import UsageError

        raise UsageError(f"no store at {settings.db_path} (check --data-dir / --config)")

    async def run() -> Any:
        async with SqliteStore.open(settings.db_path) as store:
            return await fn(store)

    return asyncio.run(run())


async def _tenant(store: SqliteStore, tenant_id: str) -> Row:
    from voicebridge.cli import UsageError
    from voicebridge.store.tenants import get_tenant

    tenant = await get_tenant(store, tenant_id)
    if tenant is None:
        raise UsageError(f"--tenant: no tenant {tenant_id}")
    return tenant


def cmd_cdr_export(args: argparse.Namespace) -> int:
    from voicebridge.cdr import csvout
    from voicebridge.cdr.query import count, export_rows, parse_query
    from voicebridge.cli import UsageError
    from voicebridge.errors import Problem

    async def export(store: SqliteStore) -> int:
        tenant = await _tenant(store, args.tenant)
        params = {"from": args.start, "to": args.end}
        for name in ("callee", "caller", "status"):
            if getattr(args, name):
                params[name] = getattr(args, name)
        try:
            query = parse_query(params, tenant)
        except Problem as exc:
            raise UsageError("; ".join(f"--{e.field}: {e.message}" for e in exc.errors)) from None
        total = await count(store, query)
        out = open(args.output, "wb") if args.output else sys.stdout.buffer
        written = 0
        started = time.monotonic()
        next_report = PROGRESS_EVERY
        try:
            out.write(csvout.header(args.bom))
            async for rows in export_rows(store, query, csvout.SQL_COLUMNS):
                out.write(csvout.encode_rows(rows))
                written += len(rows)
                if not args.quiet and written >= next_report:
                    _progress(sys.stderr, written, total, started)
                    next_report += PROGRESS_EVERY
        finally:
            if args.output:
                out.close()
            else:
                out.flush()
        if not args.quiet:
            _progress(sys.stderr, written, total, started, done=True)
        return written

    _run(args, export)
    return 0


def _progress(err: TextIO, done_rows: int, total: int, started: float, done: bool = False) -> None:
    elapsed = max(time.monotonic() - started, 1e-6)
    pct = 100 * done_rows // total if total else 100
    width = 30
    bar = "#" * (width * pct // 100) + "-" * (width - width * pct // 100)
    end = "\n" if done or not err.isatty() else "\r"
    err.write(f"[{bar}] {done_rows}/{total} CDRs ({pct}%) {done_rows / elapsed:,.0f} rows/s{end}")
    err.flush()


def cmd_statement(args: argparse.Namespace) -> int:
    from voicebridge.billing.statements import parse_month, statement
    from voicebridge.cdr.csvout import encode_lines
    from voicebridge.cli import UsageError

    try:
        first = parse_month(args.month)
    except ValueError as exc:
        raise UsageError(f"--month {exc}") from None

    async def make(store: SqliteStore) -> Any:
        return await statement(store, await _tenant(store, args.tenant), first)

    st = _run(args, make)
    if args.csv:
        sys.stdout.buffer.write(encode_lines(st.csv_lines()))
        sys.stdout.flush()
    elif args.json:
        print(json.dumps(st.as_dict(), ensure_ascii=False, indent=2))
    else:
        print(f"statement {st.month}  tenant {st.tenant_id}  ({st.timezone}; {st.period_start} .. {st.period_end})")
        print(f"  opening balance   {st.opening_balance_fen:>12} fen")
        print(f"  + top-ups         {st.topups_fen:>12} fen")
        print(f"  - call charges    {st.call_charges_fen:>12} fen  ({st.calls_charged} calls)")
        for r in st.rent:
            print(f"  - rent {r['number']:<14} {r['amount_fen']:>7} fen  (periods from {', '.join(r['periods'])})")
        print(f"  - rent total      {st.rent_fen:>12} fen")
        print(f"  + adjustments     {st.adjustments_fen:>12} fen")
        print(f"  closing balance   {st.closing_balance_fen:>12} fen")
    return 0


def cmd_reconcile(args: argparse.Namespace) -> int:
    from voicebridge.billing.statements import reconcile_tenant

    async def check(store: SqliteStore) -> list[Any]:
        if args.tenant:
            tenants = [await _tenant(store, args.tenant)]
        else:
            tenants = await store.fetchall("SELECT * FROM tenants ORDER BY created_at, id")
        return [await reconcile_tenant(store, t) for t in tenants]

    results = _run(args, check)
    bad = [r for r in results if not r.ok]
    if args.json:
        print(json.dumps([{"tenant_id": r.tenant_id, "ok": r.ok, "figures": r.figures, "months": r.months,
                           "problems": r.problems} for r in results], ensure_ascii=False, indent=2))
    else:
        for r in results:
            f = r.figures
            print(f"tenant {r.tenant_id}: {'OK' if r.ok else 'DISCREPANCY'}")
            print(f"  balance {f['balance_fen']} fen = top-ups {f['topups_fen']} - call charges "
                  f"{f['call_charges_fen']} - rent {f['rent_fen']} + adjustments {f['adjustments_fen']} "
                  f"(= {f['computed_balance_fen']})")
            print(f"  CDRs {f['cdrs']}, rated {f['cdr_charges_fen']} fen; ledger entries {f['ledger_entries']}")
            for m in r.months:
                print(f"  {m['month']}: opening {m['opening']} + top-ups {m['topups']} - calls {m['call_charges']} "
                      f"(CDRs {m['cdr_charges']}) - rent {m['rent']} + adj {m['adjustments']} = closing {m['closing']}")
            for problem in r.problems:
                print(f"  ! {problem}")
        print(f"{len(results)} tenants, {len(bad)} with discrepancies")
    return 1 if bad else 0


__all__ = ["add_commands", "cmd_cdr_export", "cmd_reconcile", "cmd_statement"]
