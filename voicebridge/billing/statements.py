"""Usage, monthly statements and the reconciliation check, from the store.

* Usage counts CDRs by the call's start, in the tenant's time zone, per day or
  month: calls, answered calls, billable minutes, call charges.
* A statement sums the ledger over one month of the tenant's time zone:
  opening balance, top-ups, call charges, rent per number, adjustments,
  closing balance. ``opening + topups - call charges - rent + adjustments ==
  closing`` holds by construction and is checked again by :func:`reconcile_tenant`.
* Reconciliation proves, per tenant: the balance equals top-ups − call charges
  − rent + adjustments; each call charge equals its CDR's rating (re-rated from
  the CDR's billable time and rate) and every rated CDR was charged once; each
  month's statement adds up, chains to the next, and its call charges equal
  the CDR totals behind them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Iterator
from zoneinfo import ZoneInfo

from voicebridge.billing.ledger import EntryKind, LedgerEntry, reconcile, totals
from voicebridge.billing.rating import rate_call
from voicebridge.billing.rent_charges import parse_rent_reference
from voicebridge.domain import iso, parse_iso, utcnow
from voicebridge.store import ledger as ledger_store
from voicebridge.store.sqlite import Row, SqliteStore

__all__ = ["Statement", "month_range", "reconcile_tenant", "statement", "usage"]

DAY = "day"
MONTH = "month"


def _first_of_next_month(d: date) -> date:
    return date(d.year + d.month // 12, d.month % 12 + 1, 1)


def parse_month(text: str) -> date:
    """``YYYY-MM`` → the first day of that month; ValueError otherwise."""
    if len(text) != 7 or text[4] != "-" or not (text[:4] + text[5:]).isdigit():
        raise ValueError("must be a month as YYYY-MM")
    year, month = int(text[:4]), int(text[5:])
    if not 1 <= month <= 12 or year < 2000:
        raise ValueError("must be a month as YYYY-MM")
    return date(year, month, 1)


def month_range(first: date, tz: ZoneInfo) -> tuple[str, str]:
    """UTC ISO bounds [start, end) of the calendar month that begins on ``first``."""
    start = datetime.combine(first, time(0), tz)
    end = datetime.combine(_first_of_next_month(first), time(0), tz)
    return iso(start) or "", iso(end) or ""


def buckets(start: date, end: date, granularity: str) -> Iterator[tuple[date, date]]:
    """Days or calendar months covering [start, end), clipped to it."""
    cur = start
    while cur < end:
        nxt = cur + timedelta(days=1) if granularity == DAY else _first_of_next_month(cur)
        yield cur, min(nxt, end)
        cur = min(nxt, end)


async def usage(store: SqliteStore, tenant: Row, start: date, end: date, granularity: str) -> list[dict[str, Any]]:
    """Per day or month of the tenant's time zone, from ``start`` up to ``end`` (exclusive)."""
    tz = ZoneInfo(tenant["timezone"] or "UTC")
    out = []
    for lo, hi in buckets(start, end, granularity):
        row = await store.fetchone(
            "SELECT COUNT(*) AS calls, COALESCE(SUM(status = 'answered'), 0) AS answered, "
            "COALESCE(SUM(billable_minutes), 0) AS minutes, COALESCE(SUM(charge_fen), 0) AS fen, "
            "COALESCE(SUM(billable_ms), 0) AS ms "
            "FROM cdrs WHERE tenant_id = ? AND start_at >= ? AND start_at < ?",
            (tenant["id"], iso(datetime.combine(lo, time(0), tz)), iso(datetime.combine(hi, time(0), tz))),
        )
        assert row is not None
        out.append({
            "period": lo.isoformat()[: 7 if granularity == MONTH else 10],
            "from": lo.isoformat(), "to": hi.isoformat(),
            "calls": int(row["calls"]), "answered": int(row["answered"]),
            "billable_minutes": int(row["minutes"]), "billable_ms": int(row["ms"]),
            "charge_fen": int(row["fen"]),
        })
    return out


@dataclass
class Statement:
    tenant_id: str
    month: str
    timezone: str
    period_start: str
    period_end: str
    opening_balance_fen: int
    topups_fen: int
    call_charges_fen: int
    calls_charged: int
    rent_fen: int
    adjustments_fen: int
    closing_balance_fen: int
    topups: list[dict[str, Any]] = field(default_factory=list)
    rent: list[dict[str, Any]] = field(default_factory=list)
    adjustments: list[dict[str, Any]] = field(default_factory=list)

    @property
    def adds_up(self) -> bool:
        return (self.opening_balance_fen + self.topups_fen - self.call_charges_fen - self.rent_fen
                + self.adjustments_fen) == self.closing_balance_fen

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def csv_lines(self) -> list[list[Any]]:
        """section, item, reference, date, amount_fen — one line per figure."""
        lines: list[list[Any]] = [["section", "item", "reference", "at", "amount_fen"]]
        lines.append(["opening_balance", "", "", self.period_start, self.opening_balance_fen])
        for t in self.topups:
            lines.append(["topup", t["reason"], t["reference"], t["at"], t["amount_fen"]])
        lines.append(["topups_total", "", "", "", self.topups_fen])
        lines.append(["call_charges_total", f"{self.calls_charged} calls", "", "", -self.call_charges_fen])
        for r in self.rent:
            lines.append(["rent", r["number"], ",".join(r["periods"]), "", -r["amount_fen"]])
        lines.append(["rent_total", "", "", "", -self.rent_fen])
        for a in self.adjustments:
            lines.append(["adjustment", a["reason"], a["reference"], a["at"], a["amount_fen"]])
        lines.append(["adjustments_total", "", "", "", self.adjustments_fen])
        lines.append(["closing_balance", "", "", self.period_end, self.closing_balance_fen])
        return lines


async def statement(store: SqliteStore, tenant: Row, first: date) -> Statement:
    """The statement of the month that begins on ``first`` (tenant's time zone)."""
    tz = ZoneInfo(tenant["timezone"] or "UTC")
    start, end = month_range(first, tz)
    tid = tenant["id"]
    row = await store.fetchone(
        "SELECT COALESCE(SUM(amount_fen), 0) AS b FROM ledger WHERE tenant_id = ? AND created_at < ?", (tid, start)
    )
    opening = int(row["b"]) if row else 0
    sums = {k.value: (0, 0) for k in EntryKind}
    for r in await store.fetchall(
        "SELECT kind, COALESCE(SUM(amount_fen), 0) AS fen, COUNT(*) AS n FROM ledger "
        "WHERE tenant_id = ? AND created_at >= ? AND created_at < ? GROUP BY kind",
        (tid, start, end),
    ):
        sums[r["kind"]] = (int(r["fen"]), int(r["n"]))
    detail = await store.fetchall(
        "SELECT kind, amount_fen, reference, reason, created_at FROM ledger WHERE tenant_id = ? "
        "AND kind IN ('topup', 'rent', 'adjustment') AND created_at >= ? AND created_at < ? ORDER BY created_at, id",
        (tid, start, end),
    )
    rent: dict[str, dict[str, Any]] = {}
    topups, adjustments = [], []
    for d in detail:
        item = {"reference": d["reference"], "reason": d["reason"], "at": d["created_at"], "amount_fen": d["amount_fen"]}
        if d["kind"] == "topup":
            topups.append(item)
        elif d["kind"] == "adjustment":
            adjustments.append(item)
        else:
            parsed = parse_rent_reference(d["reference"])
            number = parsed[1] if parsed else d["reference"]
            entry = rent.setdefault(number, {"number": number, "periods": [], "amount_fen": 0})
            entry["periods"].append(parsed[2].isoformat() if parsed else d["created_at"][:10])
            entry["amount_fen"] += -d["amount_fen"]
    closing = opening + sum(fen for fen, _ in sums.values())
    return Statement(
        tenant_id=tid, month=first.isoformat()[:7], timezone=str(tz), period_start=start, period_end=end,
        opening_balance_fen=opening, topups_fen=sums["topup"][0], call_charges_fen=-sums["call_charge"][0],
        calls_charged=sums["call_charge"][1], rent_fen=-sums["rent"][0], adjustments_fen=sums["adjustment"][0],
        closing_balance_fen=closing, topups=topups, rent=sorted(rent.values(), key=lambda r: r["number"]),
        adjustments=adjustments,
    )


# -- reconciliation -------------------------------------------------------------


@dataclass
class Reconciliation:
    tenant_id: str
    figures: dict[str, int]
    months: list[dict[str, Any]]
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def _months_between(first: date, last: date) -> list[date]:
    out, cur = [], first
    while cur <= last:
        out.append(cur)
        cur = _first_of_next_month(cur)
    return out


async def reconcile_tenant(store: SqliteStore, tenant: Row, now: datetime | None = None) -> Reconciliation:
    """Every check for one tenant; ``problems`` is empty when the money adds up."""
    tid = tenant["id"]
    tz = ZoneInfo(tenant["timezone"] or "UTC")
    problems: list[str] = []
    entries: list[LedgerEntry] = []
    entry_at: list[tuple[str, str, int]] = []  # (created_at, reference, amount) of call charges
    async for r in store.iterate("SELECT * FROM ledger WHERE tenant_id = ? ORDER BY id", (tid,)):
        try:
            entry = LedgerEntry(EntryKind(r["kind"]), int(r["amount_fen"]), r["reference"], r["reason"],
                                parse_iso(r["created_at"]) or utcnow())
        except (ValueError, TypeError) as exc:
            problems.append(f"ledger entry {r['id']} ({r['kind']} {r['reference']}): {exc}")
            continue
        entries.append(entry)
        if entry.kind is EntryKind.CALL_CHARGE:
            entry_at.append((r["created_at"], r["reference"], entry.amount_fen))
    cdr_charges: dict[str, int] = {}
    cdr_total = cdr_count = 0
    async for c in store.iterate(
        "SELECT id, call_id, attempt, status, billable_ms, billable_minutes, rate_fen_per_min, charge_fen "
        "FROM cdrs WHERE tenant_id = ?", (tid,), batch=2000,
    ):
        ref = f"cdr:{c['call_id']}:{c['attempt']}"
        rated = rate_call(int(c["billable_ms"]) if c["status"] == "answered" else 0, int(c["rate_fen_per_min"]))
        if rated.fen != c["charge_fen"] or rated.minutes != c["billable_minutes"]:
            problems.append(f"CDR {c['id']} ({ref}): stored {c['billable_minutes']} min / {c['charge_fen']} fen, "
                            f"its rating is {rated.minutes} min / {rated.fen} fen")
        cdr_charges[ref] = int(c["charge_fen"])
        cdr_total += int(c["charge_fen"])
        cdr_count += 1
    problems += reconcile(entries, cdr_charges)
    sums = totals(entries)
    balance = await ledger_store.summed_balance(store, tid)
    running = await ledger_store.balance(store, tid)
    if running != balance:
        problems.append(f"running balance {running} fen != sum of the ledger entries {balance} fen")
    if balance != sums.balance:
        problems.append(f"balance {balance} fen != top-ups {sums.topups} - call charges {sums.call_charges} "
                        f"- rent {sums.rent} + adjustments {sums.adjustments} = {sums.balance} fen")
    if cdr_total != sums.call_charges:
        problems.append(f"CDR charges total {cdr_total} fen != ledger call charges {sums.call_charges} fen")

    # statements: every month from the first entry to now
    months: list[dict[str, Any]] = []
    first_row = await store.fetchone("SELECT MIN(created_at) AS t FROM ledger WHERE tenant_id = ?", (tid,))
    if first_row and first_row["t"]:
        first = parse_iso(first_row["t"])
        assert first is not None
        last_row = await store.fetchone("SELECT MAX(created_at) AS t FROM ledger WHERE tenant_id = ?", (tid,))
        last_at = max(now or utcnow(), parse_iso(last_row["t"] if last_row else None) or first)
        previous_closing = 0
        seen = {"topups": 0, "call_charges": 0, "rent": 0, "adjustments": 0}
        for month in _months_between(first.astimezone(tz).date().replace(day=1),
                                     last_at.astimezone(tz).date().replace(day=1)):
            st = await statement(store, tenant, month)
            start, end = st.period_start, st.period_end
            behind = [(ref, amt) for at, ref, amt in entry_at if start <= at < end]
            cdr_month = sum(cdr_charges.get(ref, 0) for ref, _ in behind)
            if not st.adds_up:
                problems.append(f"statement {st.month}: opening {st.opening_balance_fen} + top-ups {st.topups_fen} "
                                f"- calls {st.call_charges_fen} - rent {st.rent_fen} + adjustments "
                                f"{st.adjustments_fen} != closing {st.closing_balance_fen}")
            if st.opening_balance_fen != previous_closing:
                problems.append(f"statement {st.month}: opening {st.opening_balance_fen} fen != previous closing "
                                f"{previous_closing} fen")
            if st.call_charges_fen != cdr_month:
                problems.append(f"statement {st.month}: call charges {st.call_charges_fen} fen != "
                                f"its CDRs' total {cdr_month} fen")
            previous_closing = st.closing_balance_fen
            seen["topups"] += st.topups_fen
            seen["call_charges"] += st.call_charges_fen
            seen["rent"] += st.rent_fen
            seen["adjustments"] += st.adjustments_fen
            months.append({"month": st.month, "opening": st.opening_balance_fen, "topups": st.topups_fen,
                           "call_charges": st.call_charges_fen, "cdr_charges": cdr_month, "rent": st.rent_fen,
                           "adjustments": st.adjustments_fen, "closing": st.closing_balance_fen})
        if previous_closing != balance:
            problems.append(f"last statement closes at {previous_closing} fen, the balance is {balance} fen")
        if seen != {"topups": sums.topups, "call_charges": sums.call_charges, "rent": sums.rent,
                    "adjustments": sums.adjustments}:
            problems.append(f"statements total {seen} != ledger totals {sums}")
    figures = {
        "balance_fen": balance, "topups_fen": sums.topups, "call_charges_fen": sums.call_charges,
        "rent_fen": sums.rent, "adjustments_fen": sums.adjustments, "computed_balance_fen": sums.balance,
        "cdrs": cdr_count, "cdr_charges_fen": cdr_total, "ledger_entries": len(entries),
    }
    return Reconciliation(tid, figures, months, problems)
