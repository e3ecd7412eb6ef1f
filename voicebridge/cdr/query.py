"""CDR search: filters, keyset cursors, pages (newest first) and exports.

A page is ordered by ``(start_at, id)`` descending and continues after an opaque
cursor that encodes the last row's ``(start_at, id)``; a CDR inserted while a
client pages never shifts or repeats rows it has not yet seen, because the
position is a value, not an offset. Exports walk the same index in ascending
order in keyset batches, so memory stays constant and no read statement stays
open for the length of the export (a long open statement on the shared reader
connection would pin every other read to an old snapshot).

Times are compared as stored: ISO 8601 UTC text with milliseconds, which sorts
as it reads.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from typing import Any, AsyncIterator, Mapping, Sequence
from zoneinfo import ZoneInfo

import phonenumbers

from voicebridge.domain import Outcome, iso
from voicebridge.errors import FieldError, invalid
from voicebridge.store.sqlite import Row, SqliteStore

__all__ = [
    "CDR_STATUSES",
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "CdrQuery",
    "decode_cursor",
    "encode_cursor",
    "export_rows",
    "page",
    "parse_query",
]

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
EXPORT_BATCH = 2000
CDR_STATUSES = tuple(o.value for o in Outcome) + ("blocked",)
QUERY_PARAMS = (
    "from", "to", "caller", "callee", "session_id", "status", "app_name", "reminder_id",
    "limit", "cursor", "format", "bom",
)  # fmt: skip
_NUMBER = re.compile(r"^\+?[0-9]{1,20}$")
_TOP = "\U0010ffff"  # sorts after every character: the upper bound of a prefix range

VIEW_COLUMNS = (
    "id", "call_id", "attempt", "reminder_id", "recipient_user_id", "app_name", "session_id", "caller",
    "callee", "start_at", "alerting_at", "answer_at", "end_at", "duration_ms", "billable_ms", "status",
    "cause", "sip_code", "q850", "hangup_by", "digits", "replays", "billable_minutes", "rate_fen_per_min",
    "charge_fen", "created_at",
)  # fmt: skip


@dataclass(frozen=True)
class Match:
    """A caller/callee filter: exact, or a prefix (written with a trailing ``*``)."""

    value: str
    prefix: bool = False


@dataclass(frozen=True)
class CdrQuery:
    """One tenant's CDR search. ``start``/``end`` are UTC ISO text; end exclusive."""

    tenant_id: str
    start: str
    end: str
    caller: Match | None = None
    callee: Match | None = None
    session_id: str | None = None
    statuses: tuple[str, ...] = ()
    app_name: str | None = None
    reminder_id: str | None = None
    limit: int = DEFAULT_LIMIT
    after: tuple[str, int] | None = None  # (start_at, id) of the last row seen

    def where(self, *, descending: bool = True) -> tuple[str, list[Any]]:
        """The WHERE clause and its parameters (keyset position included)."""
        # A session or reminder id picks a handful of rows: keep the planner off
        # the time index (unary +) so it seeks by id instead of walking the range.
        off = "+" if (self.session_id or self.reminder_id) else ""
        lower, upper = f"{off}start_at >= ?", f"{off}start_at < ?"
        lo, hi = self.start, self.end
        if self.after is not None:
            # Keyset position (start_at, id) beyond the cursor, spelled so that the
            # index range itself is narrowed: SQLite uses one bound per side, and a
            # row value alone would only filter rows while walking from the end.
            mark = self.after[0]
            if descending and mark < hi:
                upper, hi = f"{off}start_at <= ?", mark
            elif not descending and mark >= lo:
                lower, lo = f"{off}start_at >= ?", mark
        clauses = [f"{off}tenant_id = ?", lower, upper]
        params: list[Any] = [self.tenant_id, lo, hi]
        for column, match in (("caller", self.caller), ("callee", self.callee)):
            if match is None:
                continue
            if match.prefix:
                clauses.append(f"{column} >= ? AND {column} < ?")
                params += [match.value, match.value + _TOP]
            else:
                clauses.append(f"{column} = ?")
                params.append(match.value)
        for column, value in (("session_id", self.session_id), ("app_name", self.app_name),
                              ("reminder_id", self.reminder_id)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if self.statuses:
            clauses.append(f"status IN ({', '.join('?' for _ in self.statuses)})")
            params += list(self.statuses)
        if self.after is not None:
            op = "<" if descending else ">"
            clauses.append(f"({off}start_at {op} ? OR id {op} ?)")
            params += [self.after[0], self.after[1]]
        return " AND ".join(clauses), params


def encode_cursor(start_at: str, cdr_id: int) -> str:
    raw = json.dumps([start_at, cdr_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str) -> tuple[str, int]:
    """The (start_at, id) a cursor names; ValueError if it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        start_at, cdr_id = json.loads(raw)
        datetime.fromisoformat(start_at)
    except (ValueError, TypeError) as exc:
        raise ValueError("is not a cursor this API returned") from exc
    if not isinstance(start_at, str) or not isinstance(cdr_id, int) or isinstance(cdr_id, bool) \
            or not 0 <= cdr_id < 2**63:
        raise ValueError("is not a cursor this API returned")
    return start_at, cdr_id


def parse_instant(text: str, tz: ZoneInfo) -> datetime:
    """ISO 8601 with an offset, or a bare date (midnight in the tenant's time zone)."""
    text = text.strip()
    if len(text) == 10:
        return _in_range(datetime.combine(date.fromisoformat(text), time(0), tz))
    ts = datetime.fromisoformat(text)
    if ts.tzinfo is None or ts.utcoffset() is None:
        raise ValueError("needs a UTC offset, e.g. 2026-01-01T00:00:00+08:00 (or a bare date)")
    return _in_range(ts)


def _in_range(ts: datetime) -> datetime:
    """Call records live between 1970 and 2999; outside that, say so (and never
    overflow shifting a year-1 time to UTC)."""
    if not 1970 <= ts.year <= 2999:
        raise ValueError("must be a time between 1970 and 2999")
    return ts


def _number_match(name: str, raw: str, region: str, errors: list[FieldError]) -> Match | None:
    prefix = raw.endswith("*")
    digits = raw[:-1] if prefix else raw
    digits = digits.replace(" ", "").replace("-", "")
    if not _NUMBER.match(digits):
        errors.append(FieldError(name, "must be a phone number (digits, optional leading +), "
                                       "or a prefix ending in *", "format"))
        return None
    if not digits.startswith("+"):
        # a national number: stored numbers are E.164, so add the country code
        code = phonenumbers.country_code_for_region(region) or 86
        digits = f"+{code}{digits.removeprefix('0')}"
    return Match(digits, prefix)


def parse_query(params: Mapping[str, str], tenant: Row, *, getall: Any = None) -> CdrQuery:
    """Validate the query string of ``GET /v1/cdrs``; a 422 Problem naming each bad field.

    :param params: the query parameters (one value each)
    :param tenant: the tenant row (id, timezone, region)
    :param getall: optional ``name -> list`` to detect repeated parameters
    """
    errors: list[FieldError] = []
    for name in params:
        if name not in QUERY_PARAMS:
            errors.append(FieldError(name, f"is not a known parameter; known: {', '.join(QUERY_PARAMS)}", "unknown"))
        elif getall is not None and len(getall(name)) > 1:
            errors.append(FieldError(name, "is given more than once", "duplicate"))
    tz = ZoneInfo(tenant.get("timezone") or "UTC")
    bounds: dict[str, datetime] = {}
    for name in ("from", "to"):
        raw = params.get(name)
        if raw is None or not raw.strip():
            errors.append(FieldError(name, "is required: an ISO 8601 time with offset, or a date", "required"))
            continue
        try:
            bounds[name] = parse_instant(raw, tz)
        except ValueError as exc:
            detail = str(exc) if "offset" in str(exc) else "must be ISO 8601, e.g. 2026-01-01T00:00:00+08:00"
            errors.append(FieldError(name, detail, "format"))
    if len(bounds) == 2 and bounds["to"] <= bounds["from"]:
        errors.append(FieldError("to", "must be after from", "range"))
    region = tenant.get("region") or "CN"
    caller = callee = None
    if params.get("caller"):
        caller = _number_match("caller", params["caller"], region, errors)
    if params.get("callee"):
        callee = _number_match("callee", params["callee"], region, errors)
    statuses: tuple[str, ...] = ()
    if params.get("status"):
        statuses = tuple(s.strip() for s in params["status"].split(",") if s.strip())
        bad = [s for s in statuses if s not in CDR_STATUSES]
        if bad or not statuses:
            errors.append(FieldError("status", f"must be one or more of {', '.join(CDR_STATUSES)} "
                                               "(comma separated)", "enum"))
    texts: dict[str, str | None] = {}
    for name in ("session_id", "app_name", "reminder_id"):
        value = params.get(name)
        if value is not None and not 1 <= len(value) <= 256:
            errors.append(FieldError(name, "must be 1 to 256 characters", "format"))
        texts[name] = value or None
    limit = DEFAULT_LIMIT
    if params.get("limit") is not None:
        raw = params["limit"]
        if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_LIMIT:
            errors.append(FieldError("limit", f"must be a whole number from 1 to {MAX_LIMIT}", "range"))
        else:
            limit = int(raw)
    after = None
    if params.get("cursor"):
        try:
            after = decode_cursor(params["cursor"])
        except ValueError as exc:
            errors.append(FieldError("cursor", str(exc), "format"))
    if params.get("format") not in (None, "json", "csv"):
        errors.append(FieldError("format", "must be json or csv", "enum"))
    if params.get("bom") not in (None, "0", "1", "true", "false"):
        errors.append(FieldError("bom", "must be 1 or 0", "enum"))
    if errors:
        raise invalid(errors)
    return CdrQuery(
        tenant_id=tenant["id"], start=iso(bounds["from"]) or "", end=iso(bounds["to"]) or "",
        caller=caller, callee=callee, session_id=texts["session_id"], statuses=statuses,
        app_name=texts["app_name"], reminder_id=texts["reminder_id"], limit=limit, after=after,
    )


async def page(store: SqliteStore, query: CdrQuery, columns: Sequence[str] = VIEW_COLUMNS) -> tuple[list[Row], str | None]:
    """One page, newest first, and the cursor of the next page (None at the end)."""
    where, params = query.where(descending=True)
    rows = await store.fetchall(
        f"SELECT {', '.join(columns)} FROM cdrs WHERE {where} ORDER BY start_at DESC, id DESC LIMIT ?",
        [*params, query.limit + 1],
    )
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    cursor = encode_cursor(rows[-1]["start_at"], rows[-1]["id"]) if more else None
    return rows, cursor


async def count(store: SqliteStore, query: CdrQuery) -> int:
    where, params = replace(query, after=None).where()
    row = await store.fetchone(f"SELECT COUNT(*) AS n FROM cdrs WHERE {where}", params)
    return int(row["n"]) if row else 0


async def export_rows(
    store: SqliteStore, query: CdrQuery, columns: Sequence[str] = VIEW_COLUMNS, batch: int = EXPORT_BATCH
) -> AsyncIterator[list[Row]]:
    """Every matching CDR, oldest first, in batches of ``batch`` rows (keyset)."""
    cols = list(columns)
    for needed in ("start_at", "id"):
        if needed not in cols:
            cols.append(needed)
    q = replace(query, after=None)
    while True:
        where, params = q.where(descending=False)
        rows = await store.fetchall(
            f"SELECT {', '.join(cols)} FROM cdrs WHERE {where} ORDER BY start_at, id LIMIT ?", [*params, batch]
        )
        if not rows:
            return
        yield rows
        if len(rows) < batch:
            return
        q = replace(q, after=(rows[-1]["start_at"], rows[-1]["id"]))


def view(row: Row) -> dict[str, Any]:
    """A CDR as the API shows it."""
    return {k: row[k] for k in VIEW_COLUMNS if k in row}
