"""The console's script calls only what the API serves: every "/v1/…" path in app.js,
and every (method, path) it requests, is an operation of the OpenAPI document; and
every tab the brief asks for is there. The money formatting is checked with node
when it is installed."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from typing import Any

import pytest

from voicebridge.api import console
from voicebridge.api.openapi import document

APP_JS = console._read("app.js").decode()
# a JS string or template literal that starts with /v1/, e.g. '/v1/cdrs' or `/v1/reminders/${id}/cancel`
LITERAL = re.compile(r"""(['"`])(/v1/(?:(?!\1).)*)\1""")
# api('POST', `/v1/…`) / getJson('/v1/…') / downloadCsv('/v1/…')
CALL = re.compile(r"""\b(api|getJson|downloadCsv)\(\s*(?:'([A-Z]+)'\s*,\s*)?(['"`])(/v1/(?:(?!\3).)*)\3""")


def template(path: str) -> str:
    """``/v1/reminders/${encodeURIComponent(id)}/cancel?x=1`` → ``/v1/reminders/{}/cancel``."""
    path = re.sub(r"\$\{[^}]*\}", "{}", path)
    return path.split("?", 1)[0]


def matches(used: str, described: str) -> bool:
    a, b = used.strip("/").split("/"), described.strip("/").split("/")
    return len(a) == len(b) and all(x == y or (x == "{}" and y.startswith("{")) for x, y in zip(a, b))


def operations() -> set[tuple[str, str]]:
    return {(m.upper(), p) for p, ops in document()["paths"].items() for m in ops}


def test_every_v1_path_in_the_script_is_described() -> None:
    described = {p for _, p in operations()}
    used = {template(m.group(2)) for m in LITERAL.finditer(APP_JS)}
    assert len(used) >= 10, used
    unknown = sorted(u for u in used if not any(matches(u, d) for d in described))
    assert unknown == [], f"app.js names paths the API does not serve: {unknown}"


def test_every_request_is_an_operation_of_the_document() -> None:
    ops = operations()
    calls = [(m.group(2) or "GET", template(m.group(4))) for m in CALL.finditer(APP_JS)]
    assert calls
    bad = sorted({(meth, p) for meth, p in calls if not any(meth == om and matches(p, op) for om, op in ops)})
    assert bad == [], f"app.js makes requests the API does not describe: {bad}"
    # the only writes are cancelling a reminder and redelivering a webhook
    assert {c for c in calls if c[0] != "GET"} == {("POST", "/v1/reminders/{}/cancel"),
                                                  ("POST", "/v1/webhooks/deliveries/{}/redeliver")}
    # every request goes through api(): one place that sets the Authorization header
    assert APP_JS.count("fetch(") == 1
    assert "Authorization: `Bearer ${apiKey}`" in APP_JS


def test_the_tabs_of_the_brief_are_all_there() -> None:
    needed = {
        ("GET", "/v1/reminders"), ("GET", "/v1/reminders/{}"), ("GET", "/v1/cdrs"), ("GET", "/v1/numbers"),
        ("GET", "/v1/balance"), ("GET", "/v1/usage"), ("GET", "/v1/statements/{}"), ("GET", "/v1/webhooks"),
        ("GET", "/v1/webhooks/deliveries"), ("POST", "/v1/webhooks/deliveries/{}/redeliver"),
    }
    calls = {(m.group(2) or "GET", template(m.group(4))) for m in CALL.finditer(APP_JS)}
    assert needed <= calls, needed - calls
    # CSV through fetch + Blob, never a URL that would have to carry the key
    assert "format: 'csv', bom: '1'" in APP_JS and "new Blob(" in APP_JS
    assert "sessionStorage" in APP_JS and "localStorage" not in APP_JS
    assert not re.search(r"[?&](key|api_key|token)=", APP_JS), "the key must never be put into a URL"


NODE_CHECK = r"""
const src = require('fs').readFileSync(process.argv[2], 'utf8');
const start = src.indexOf('function cny(');
const end = src.indexOf('\n}\n', start) + 3;
const pad = (n, w = 2) => String(n).padStart(w, '0');
const cny = new Function('pad', src.slice(start, end) + '; return cny;')(pad);
const cases = [0, 1, 5, 10, 99, 100, 101, 1800, 123456, -1, -5, -99, -100, -123456, 9007199254740991, null];
console.log(JSON.stringify(cases.map(cny)));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_money_is_fen_over_100_with_integer_math(tmp_path: Any) -> None:
    script = tmp_path / "check.js"
    script.write_text(NODE_CHECK)
    js = tmp_path / "app.js"
    js.write_text(APP_JS)
    out = subprocess.run(["node", str(script), str(js)], capture_output=True, text=True, timeout=20, check=True)
    assert json.loads(out.stdout) == [
        "0.00", "0.01", "0.05", "0.10", "0.99", "1.00", "1.01", "18.00", "1234.56", "-0.01", "-0.05", "-0.99",
        "-1.00", "-1234.56", "90071992547409.91", "—"]
