import json
import logging

from voicebridge.logs import JsonFormatter, MaskingFormatter, mask_numbers


def test_numbers_are_masked() -> None:
    assert mask_numbers("dialling +8613812345678 now") == "dialling +86 138****5678 now"
    assert mask_numbers("callee 8613812345678") == "callee +86 138****5678"
    assert mask_numbers("call_0123456789abcdef0123 took 12 ms") == "call_0123456789abcdef0123 took 12 ms"


def test_json_lines_carry_the_call_id() -> None:
    record = logging.LogRecord("voicebridge.x", logging.INFO, __file__, 1,
                               "call %s to %s busy", ("call_0123456789abcdef0123", "+8613812345678"), None)
    doc = json.loads(JsonFormatter().format(record))
    assert doc["call_id"] == "call_0123456789abcdef0123"
    assert doc["msg"] == "call call_0123456789abcdef0123 to +86 138****5678 busy"
    assert doc["level"] == "info" and doc["ts"].endswith("+00:00")
    plain = MaskingFormatter("%(message)s").format(record)
    assert "138****5678" in plain and "13812345678" not in plain
