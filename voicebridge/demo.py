"""``voicebridge demo``: the whole product in one process, in about half a minute.

It starts the real service (SQLite file, TTS engine, built-in SIP simulator,
SIP carrier, dispatcher, HTTP API) on loopback, makes a sandbox tenant, posts one
reminder over HTTP for five members whose simulated phones answer and listen,
are busy, do not answer, decline, and press 1 to hear it again; shows each
member's status as it changes; then prints the CDRs, the charges and the closing
balance.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from voicebridge.api.keys import SERVICES
from voicebridge.app import build_app
from voicebridge.config import Settings
from voicebridge.store import calls as callstore
from voicebridge.store import ledger
from voicebridge.tenancy import new_tenant

MEMBERS = [
    ("u-zhao", "赵一", "13800138000", "answers and listens"),
    ("u-qian", "钱二", "13800138005", "is busy"),
    ("u-sun", "孙三", "13800138006", "does not answer"),
    ("u-li", "李四", "13800138007", "declines"),
    ("u-zhou", "周五", "13800138008", "presses 1 to hear it again"),
]
TEXT = {"zh-CN": "今晚八点发布新版本,请提前检查你负责的模块", "en": "The release is tonight at eight; please check your module"}


def demo_settings(data_dir: Path) -> Settings:
    return Settings.from_mapping({
        "server": {"data_dir": str(data_dir), "port": 0, "drain_seconds": 5.0},
        "dialer": {"ring_timeout": 6.0, "replay_wait": 1.0, "max_replays": 2, "calls_per_second": 20.0,
                   "poll_interval": 0.1},
        # the demo shows one attempt per member, at any hour: no retries, no quiet hours
        "policy": {"retries": 0, "quiet_start": "00:00", "quiet_end": "00:00"},
    })


def _say(line: str, quiet: bool) -> None:
    if not quiet:
        print(line, flush=True)


async def run_demo(data_dir: str | None = None, as_json: bool = False, language: str = "zh-CN") -> int:
    if data_dir is None:
        with tempfile.TemporaryDirectory(prefix="voicebridge-demo-") as tmp:
            return await _run(Path(tmp), as_json, language)
    return await _run(Path(data_dir), as_json, language)


async def _run(data_dir: Path, quiet: bool, language: str) -> int:
    t0 = time.monotonic()
    settings = demo_settings(data_dir)
    app = build_app(settings)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    base = f"http://{host}:{port}"
    services = app[SERVICES]
    try:
        _say(f"voicebridge demo: service on {base}, SIP simulator on 127.0.0.1:{services.simulator.port}, "
             f"data in {data_dir}", quiet)
        made = await new_tenant(services.store, services.secret, "Demo Enterprise", sandbox=True, actor="demo")
        opening = await ledger.balance(services.store, made.tenant["id"])
        _say(f"sandbox tenant {made.tenant['id']}: number {made.number}, balance {opening} fen", quiet)
        body = {
            "group_id": "g-release",
            "message_id": "m-0001",
            "sender": {"user_id": "u-zhang", "name": "张三" if language == "zh-CN" else "Zhang San"},
            "text": TEXT[language],
            "language": language,
            "recipients": [{"user_id": u, "name": n, "phone": p} for u, n, p, _ in MEMBERS],
        }
        headers = {"Authorization": f"Bearer {made.api_key}", "Idempotency-Key": "demo-m-0001"}
        async with aiohttp.ClientSession(base) as http:
            async with http.post("/v1/reminders", json=body, headers=headers) as resp:
                accepted = await resp.json()
                if resp.status != 202:
                    print(json.dumps(accepted, ensure_ascii=False, indent=2), file=sys.stderr)
                    return 1
            rid = accepted["id"]
            _say(f"POST /v1/reminders → 202 {rid}: calling {len(MEMBERS)} members from {accepted['caller']}\n", quiet)
            last: dict[str, str] = {}
            view: dict[str, Any] = {}
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                async with http.get(f"/v1/reminders/{rid}", headers=headers) as resp:
                    view = await resp.json()
                for call, (_, name, _, expect) in zip(view["calls"], MEMBERS):
                    if last.get(call["id"]) != call["status"]:
                        last[call["id"]] = call["status"]
                        extra = f" ({call['cause']})" if call["cause"] and call["status"] not in ("calling", "ringing") else ""
                        _say(f"  {time.monotonic() - t0:5.1f}s  {name} {call['phone']:>15}  {call['status']}{extra}"
                             f"   ← {expect}", quiet)
                if view["status"] != "active":
                    break
                await asyncio.sleep(0.2)
        cdrs = await callstore.cdrs_for_reminder(services.store, rid)
        closing = await ledger.balance(services.store, made.tenant["id"])
        heard = _heard(services.simulator, [c["phone"] for c in view["calls"]])
        calls_out = []
        for call, (_, name, _, expect) in zip(view["calls"], MEMBERS):
            cdr = [c for c in cdrs if c["call_id"] == call["id"]]
            calls_out.append({
                "recipient": {"user_id": call["user_id"], "name": name, "phone": call["phone"]},
                "expected": expect,
                "status": call["status"],
                "cause": call["cause"],
                "replays": call["replays"],
                "billable_seconds": call["talk_seconds"],
                "charge_fen": call["charge_fen"],
                "heard": heard.get(call["phone"]),
                "cdrs": cdr,
            })
        doc = {
            "tenant": {"id": made.tenant["id"], "name": made.tenant["name"], "number": made.number},
            "reminder": {"id": rid, "status": view["status"], "caller": view["caller"]},
            "calls": calls_out,
            "opening_balance_fen": opening,
            "closing_balance_fen": closing,
            "charged_fen": opening - closing,
            "seconds": round(time.monotonic() - t0, 1),
        }
        if quiet:
            print(json.dumps(doc, ensure_ascii=False, indent=2))
        else:
            _print_report(doc)
        ok = view["status"] == "completed" and all(c["cdrs"] for c in calls_out)
        return 0 if ok else 1
    finally:
        await runner.cleanup()


def _heard(simulator: Any, phones: list[str]) -> dict[str, Any]:
    """What the simulated phones heard (RTP packets, seconds, complete plays)."""
    out: dict[str, Any] = {}
    for phone in phones:
        found = simulator.by_callee(phone) if simulator is not None else []
        if found:
            record = found[-1]
            out[phone] = {
                "rtp_packets": record.rtp_packets,
                "audio_seconds": round(record.audio_seconds, 2),
                "complete_plays": record.plays,
            }
    return out


def _print_report(doc: dict[str, Any]) -> None:
    print("\nCall detail records")
    print(f"  {'callee':>15}  {'status':<10} {'cause':<16} {'sip':>3} {'answered':>8} {'billable':>8} "
          f"{'replays':>7} {'heard':>14} {'charge':>7}")
    for call in doc["calls"]:
        for cdr in call["cdrs"]:
            heard = call["heard"] or {}
            heard_txt = f"{heard.get('audio_seconds', 0):.1f}s ×{heard.get('complete_plays', 0)}" if heard else "-"
            print(f"  {cdr['callee']:>15}  {cdr['status']:<10} {cdr['cause']:<16} {cdr['sip_code'] or '-':>3} "
                  f"{'yes' if cdr['answer_at'] else 'no':>8} {cdr['billable_ms'] / 1000:7.1f}s {cdr['replays']:>7} "
                  f"{heard_txt:>14} {cdr['charge_fen']:>4} fen")
    print(f"\nOpening balance {doc['opening_balance_fen']} fen, charged {doc['charged_fen']} fen "
          f"(18 fen per started minute), closing balance {doc['closing_balance_fen']} fen.")
    print(f"Reminder {doc['reminder']['id']} {doc['reminder']['status']} in {doc['seconds']} s.")
