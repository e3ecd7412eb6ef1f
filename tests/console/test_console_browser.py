"""The console in a real headless browser (Debian's chromium), against the real
service with real data: a reminder dialled through the SIP simulator to its end.

Skipped when /usr/bin/chromium is absent (CI does not install it: it is large).
The key travels in the URL fragment (``#key=…``), which the browser never sends
to the server; the page moves it to sessionStorage and sends it as a header.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="chromium is not installed (apt-get install chromium)")


def cny(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


async def dump_dom(url: str, budget_ms: int = 5000) -> str:
    """The page's DOM after its scripts and requests settle (virtual time), in Shanghai time."""
    profile = tempfile.mkdtemp(prefix="vb-console-")
    try:
        proc = await asyncio.create_subprocess_exec(
            str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
            f"--user-data-dir={profile}", f"--virtual-time-budget={budget_ms}", "--dump-dom", url,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
            env={**os.environ, "TZ": "Asia/Shanghai"},
        )
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), 30)
        except asyncio.TimeoutError:
            proc.kill()
            await proc.wait()
            raise
        return out.decode()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def text_of(dom: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", dom))


@pytest.mark.timeout(60)
async def test_console_shows_real_data(service: Any, sandbox: Any) -> None:
    key = sandbox.api_key
    auth = {"Authorization": f"Bearer {key}"}
    body = {"group_id": "g-console", "message_id": "m-console", "sender": {"user_id": "u0", "name": "张三"},
            "text": "console check", "language": "en",
            "recipients": [{"user_id": "u-li", "name": "李四", "phone": "13800138000"},
                           {"user_id": "u-sun", "name": "Sun", "phone": "13800138007"}]}
    resp = await service.post("/v1/reminders", json=body, headers=auth)
    assert resp.status == 202, await resp.text()
    rid = (await resp.json())["id"]
    deadline = time.monotonic() + 30
    while True:
        view = await (await service.get(f"/v1/reminders/{rid}", headers=auth)).json()
        if view["status"] == "completed":
            break
        assert time.monotonic() < deadline, view
        await asyncio.sleep(0.3)
    balance = (await (await service.get("/v1/balance", headers=auth)).json())["balance_fen"]
    charged = sum(c["charge_fen"] for c in view["calls"])
    assert charged > 0
    base = str(service.make_url("/console"))

    detail, cdrs, finance, missing = await asyncio.gather(
        dump_dom(f"{base}#key={key}&tab=reminders/{rid}"),
        dump_dom(f"{base}#key={key}&tab=cdrs"),
        dump_dom(f"{base}#key={key}&tab=finance"),
        dump_dom(f"{base}#key={key}&tab=reminders/rm_nosuch"),
    )

    text = text_of(detail)
    assert rid in text and "李四 (u-li)" in text and "Sun (u-sun)" in text, text[:2000]
    assert "completed" in text and "rejected" in text
    assert f"CNY {cny(charged)}" in text
    assert re.search(r"20\d\d-\d\d-\d\d \d\d:\d\d:\d\d \+08:00", text), "times in local time with the offset"
    assert "live: refreshing" not in text  # a completed reminder is not refreshed

    text = text_of(cdrs)
    assert "+8613800138000" in text and "+8613800138007" in text
    assert re.search(r"\d\d:\d\d:\d\d\.\d{3} \+08:00", text)
    assert "Page 1: 2 records" in text and "Download CSV" in text
    assert cny(charged) in text

    text = text_of(finance)
    assert f"CNY {cny(balance)}" in text and f"{balance} fen" in text
    assert "Closing balance" in text and "Asia/Shanghai" in text
    assert "null" not in text and "undefined" not in text

    text = text_of(missing)
    assert "404 Not found" in text and "no such reminder" in text

    # no key: the sign-in form, and the API was not called
    dom = await dump_dom(base, budget_ms=1000)
    assert not re.search(r'id="login"[^>]*\bhidden', dom), "the sign-in form is shown"
    assert re.search(r'id="tabs"[^>]*\bhidden', dom), "the tabs stay hidden without a key"
    assert "Sign in with an API key" in text_of(dom)
