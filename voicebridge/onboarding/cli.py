"""The operator's onboarding and pool commands: ``onboarding …`` and ``pool …``.

Registered on the main parser by :func:`add_commands`; each takes ``--config``
and ``--data-dir``. A refused action (a 409 or 422 over HTTP) prints its reason
on stderr and exits 1.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from typing import Any, Callable

from voicebridge.errors import Problem
from voicebridge.store.sqlite import SqliteStore

ACTOR = "cli"


def add_commands(sub: Any, store_flags: Callable[[argparse.ArgumentParser], None]) -> None:
    from voicebridge.onboarding.service import LEVELS
    from voicebridge.onboarding.steps import STEPS

    p = sub.add_parser("onboarding", help="operator: review tenants' onboarding steps, set tenant settings")
    osub = p.add_subparsers(dest="onboarding_command", metavar="ACTION")
    q = osub.add_parser("queue", help="steps waiting for review, oldest first")
    store_flags(q)
    q.add_argument("--step", choices=STEPS)
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_queue)
    s = osub.add_parser("show", help="a tenant's steps and onboarding history")
    store_flags(s)
    s.add_argument("tenant_id")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_show)
    for verdict in ("approve", "reject"):
        d = osub.add_parser(verdict, help=f"{verdict} a submitted step"
                            + (" (a number order issues its numbers)" if verdict == "approve" else ""))
        store_flags(d)
        d.add_argument("tenant_id")
        d.add_argument("step", choices=STEPS)
        d.add_argument("--reason", required=verdict == "reject", help="what the tenant must correct")
        d.add_argument("--json", action="store_true")
        d.set_defaults(func=cmd_decide, approve=verdict == "approve")
    t = osub.add_parser("settings", help="set a tenant's customer level, time zone, region, fixed-line permission")
    store_flags(t)
    t.add_argument("tenant_id")
    t.add_argument("--level", choices=LEVELS)
    t.add_argument("--timezone", metavar="TZ", help="IANA name, e.g. Asia/Shanghai")
    t.add_argument("--region", metavar="CC", help="default region for phone numbers, e.g. CN")
    t.add_argument("--allow-fixed-line", dest="allow_fixed_line", action=argparse.BooleanOptionalAction, default=None,
                   help="may reminders call fixed lines")
    t.add_argument("--json", action="store_true")
    t.set_defaults(func=cmd_settings)

    p = sub.add_parser("pool", help="operator: the number pool")
    psub = p.add_subparsers(dest="pool_command", metavar="ACTION")
    ld = psub.add_parser("load", help="load carrier numbers from a CSV file of number,city lines")
    store_flags(ld)
    ld.add_argument("file", metavar="FILE.csv", help="'-' for stdin")
    ld.set_defaults(func=cmd_pool_load)
    ls = psub.add_parser("list", help="numbers still in the pool")
    store_flags(ls)
    ls.add_argument("--city")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=cmd_pool_list)


def _run(args: argparse.Namespace, fn: Callable[[SqliteStore], Any]) -> Any:
    import asyncio

    from voicebridge.cli import load_settings

    settings = load_settings(args)

    async def run() -> Any:
        async with SqliteStore.open(settings.db_path) as store:
            return await fn(store)

    return asyncio.run(run())


def _refused(args: argparse.Namespace, problem: Problem) -> int:
    detail = problem.detail or problem.title
    print(f"voicebridge {args.command}: {detail}", file=sys.stderr)
    return 1


def _print(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


def cmd_queue(args: argparse.Namespace) -> int:
    from voicebridge.onboarding.service import queue

    items = _run(args, lambda store: queue(store, args.step))
    if args.json:
        _print(items)
    else:
        for i in items:
            print(f"{i['submitted_at'] or i['updated_at']}  {i['tenant_id']}  {i['step']:<13} {i['tenant_name']}")
        print(f"{len(items)} waiting", file=sys.stderr)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from voicebridge.onboarding.service import history, tenant_steps
    from voicebridge.store.tenants import get_tenant

    async def show(store: SqliteStore) -> dict[str, Any] | None:
        if await get_tenant(store, args.tenant_id) is None:
            return None
        return {"steps": await tenant_steps(store, args.tenant_id), "history": await history(store, args.tenant_id)}

    data = _run(args, show)
    if data is None:
        from voicebridge.cli import UsageError

        raise UsageError(f"no tenant {args.tenant_id}")
    if args.json:
        _print(data)
    else:
        for s in data["steps"]:
            extra = f"  ({s['reason']})" if s["reason"] else ""
            print(f"{s['step']:<13} {s['state']:<11}{extra}")
        for h in data["history"]:
            print(f"  {h['at']}  {h['actor']:<28} {h['action']}")
    return 0


def cmd_decide(args: argparse.Namespace) -> int:
    from voicebridge.onboarding.service import review

    try:
        out = _run(args, lambda store: review(store, args.tenant_id, args.step, ACTOR, approve=args.approve,
                                              reason=args.reason))
    except Problem as problem:
        return _refused(args, problem)
    if args.json:
        _print(out)
    else:
        print(f"{args.step} {out['state']}")
        for n in out.get("numbers", []):
            print(f"issued {n['e164']}  {n['city']}  {n['app_name']}")
    return 0


def cmd_settings(args: argparse.Namespace) -> int:
    from voicebridge.onboarding.service import update_tenant

    changes = {k: getattr(args, k) for k in ("level", "timezone", "region", "allow_fixed_line")
               if getattr(args, k) is not None}
    try:
        row = _run(args, lambda store: update_tenant(store, args.tenant_id, changes, ACTOR))
    except Problem as problem:
        if problem.errors:
            problem.detail = "; ".join(f"--{e.field.replace('_', '-')}: {e.message}" for e in problem.errors)
        return _refused(args, problem)
    view = {k: row[k] for k in ("id", "level", "timezone", "region", "allow_fixed_line")}
    view["allow_fixed_line"] = bool(view["allow_fixed_line"])
    if args.json:
        _print(view)
    else:
        print("  ".join(f"{k} {v}" for k, v in view.items()))
    return 0


def cmd_pool_load(args: argparse.Namespace) -> int:
    from voicebridge.cli import UsageError
    from voicebridge.numbers.e164 import InvalidPhone, parse_phone
    from voicebridge.store.tenants import add_pool_numbers, audit

    fh = sys.stdin if args.file == "-" else open(args.file, encoding="utf-8-sig", newline="")
    parsed: list[tuple[str, str]] = []
    with fh:
        for lineno, row in enumerate(csv.reader(fh), start=1):
            if not row or not row[0].strip() or row[0].strip().lower() == "number":
                continue
            try:
                parsed.append((parse_phone(row[0], "CN", allow_any_type=True), (row[1] if len(row) > 1 else "").strip()))
            except InvalidPhone as exc:
                raise UsageError(f"{args.file} line {lineno}: {exc}") from None
    if not parsed:
        raise UsageError(f"{args.file}: no numbers")

    async def load(store: SqliteStore) -> int:
        async with store.transaction() as tx:
            added = await add_pool_numbers(tx, parsed)
            await audit(tx, ACTOR, None, "pool.load", {"count": added, "offered": len(parsed)})
        return added

    added = _run(args, load)
    print(f"added {added} of {len(parsed)} numbers ({len(parsed) - added} already known)")
    return 0


def cmd_pool_list(args: argparse.Namespace) -> int:
    from voicebridge.onboarding.pool import pool_numbers

    rows = _run(args, lambda store: pool_numbers(store, args.city))
    if args.json:
        _print([{"e164": r["e164"], "city": r["city"], "number_type": r["number_type"]} for r in rows])
    else:
        for r in rows:
            print(f"{r['e164']}  {r['city']}  {r['number_type']}")
        print(f"{len(rows)} in the pool", file=sys.stderr)
    return 0
