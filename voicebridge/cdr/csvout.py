"""CSV of CDRs, in the columns of the product's call list (业务详单).

RFC 4180 text, CRLF line ends, UTF-8; with ``bom`` a UTF-8 byte order mark
first, so a spreadsheet opens the Chinese text correctly. Seconds are written
from integer milliseconds (``61.001``), never through a float.
"""

from __future__ import annotations

import csv
import io
from typing import Any, Callable, Iterable

from voicebridge.store.sqlite import Row

__all__ = ["BOM", "CSV_HEADER", "SQL_COLUMNS", "encode_rows", "header", "seconds"]

BOM = "\ufeff".encode()


def seconds(ms: int | None) -> str:
    """Milliseconds as seconds with three decimals, in integer arithmetic."""
    if ms is None:
        return ""
    return f"{ms // 1000}.{ms % 1000:03d}"


def _blank(value: Any) -> Any:
    return "" if value is None else value


# (header, how to read it from a row)
_COLUMNS: tuple[tuple[str, Callable[[Row], Any]], ...] = (
    ("app_name", lambda r: r["app_name"]),
    ("caller", lambda r: r["caller"]),
    ("callee", lambda r: r["callee"]),
    ("session_id", lambda r: r["session_id"]),
    ("start_time", lambda r: r["start_at"]),
    ("answer_time", lambda r: _blank(r["answer_at"])),
    ("end_time", lambda r: r["end_at"]),
    ("duration_s", lambda r: seconds(r["duration_ms"])),
    ("hangup_reason", lambda r: r["cause"]),
    ("status", lambda r: r["status"]),
    ("sip_code", lambda r: _blank(r["sip_code"])),
    ("billable_s", lambda r: seconds(r["billable_ms"])),
    ("billable_minutes", lambda r: r["billable_minutes"]),
    ("charge_fen", lambda r: r["charge_fen"]),
    ("reminder_id", lambda r: r["reminder_id"]),
    ("cdr_id", lambda r: r["id"]),
)
CSV_HEADER = tuple(name for name, _ in _COLUMNS)
SQL_COLUMNS = (
    "id", "app_name", "caller", "callee", "session_id", "start_at", "answer_at", "end_at", "duration_ms",
    "cause", "status", "sip_code", "billable_ms", "billable_minutes", "charge_fen", "reminder_id",
)  # fmt: skip
"""The columns a CSV export needs from the store."""


def header(bom: bool = False) -> bytes:
    return (BOM if bom else b"") + encode_lines([CSV_HEADER])


def encode_lines(lines: Iterable[Iterable[Any]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerows(lines)
    return buf.getvalue().encode("utf-8")


def encode_rows(rows: Iterable[Row]) -> bytes:
    """CDR rows (with :data:`SQL_COLUMNS`) as CSV lines, header not included."""
    getters = [get for _, get in _COLUMNS]
    return encode_lines([get(r) for get in getters] for r in rows)
