"""Log formatting: JSON lines for operators, with phone numbers masked.

Configured only by the CLI (``--log-format json``). Any run of 11–15 digits that
looks like a phone number (optionally with +) is masked the same way everywhere:
``+86 138****5678``.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime, timezone

from voicebridge.numbers.e164 import mask

_PHONE = re.compile(r"(?<![\w.])\+?\d{11,15}(?!\d)")
_CALL_ID = re.compile(r"\bcall_[0-9a-f]{20}\b")


def mask_numbers(text: str) -> str:
    def repl(m: re.Match[str]) -> str:
        raw = m.group(0)
        return mask(raw if raw.startswith("+") else "+" + raw)

    return _PHONE.sub(repl, text)


class MaskingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return mask_numbers(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ts, level, logger, msg, call_id (when the message names one), exc."""

    def format(self, record: logging.LogRecord) -> str:
        message = mask_numbers(record.getMessage())
        doc = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": message,
        }
        call_id = getattr(record, "call_id", None)
        if call_id is None:
            found = _CALL_ID.search(message)
            call_id = found.group(0) if found else None
        if call_id:
            doc["call_id"] = call_id
        if record.exc_info:
            doc["exc"] = mask_numbers(self.formatException(record.exc_info))
        return json.dumps(doc, ensure_ascii=False)
