"""Intake rate: reminders of 20 recipients accepted durably per second.

    python bench/intake_rate.py [--seconds 10] [--concurrency 16]

Runs the real service (SQLite file in WAL mode, the real API, auth, validation,
E.164 parsing, idempotency, one transaction per reminder) with dialling switched
off (channels = 0) so only intake is measured, and a reference in the same run:
a bare aiohttp handler that parses the same JSON and inserts the same rows
(1 reminder + 20 calls) into a SQLite file with one sqlite3 transaction. Both are
driven by the same client at the same concurrency. A 202 is sent only after
COMMIT, so every counted reminder is durable (WAL, synchronous=NORMAL: survives a
process crash).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from voicebridge.api.keys import SERVICES  # noqa: E402
from voicebridge.app import build_app  # noqa: E402
from voicebridge.config import Settings  # noqa: E402
from voicebridge.tenancy import new_tenant  # noqa: E402


def reminder_body(i: int) -> dict:
    return {
        "group_id": "g-bench",
        "message_id": f"m-{i}",
        "sender": {"user_id": "u-s", "name": "张三"},
        "text": "今晚八点发布新版本,请提前检查你负责的模块",
        "recipients": [{"user_id": f"u{j}", "name": "成员", "phone": f"1380013{j:04d}"} for j in range(20)],
    }


async def drive(url: str, headers: dict[str, str], seconds: float, concurrency: int) -> tuple[int, int, float]:
    ok = bad = 0
    counter = 0
    stop_at = time.monotonic() + seconds

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal ok, bad, counter
        while time.monotonic() < stop_at:
            counter += 1
            h = dict(headers, **{"Idempotency-Key": uuid.uuid4().hex})
            async with session.post(url, json=reminder_body(counter), headers=h) as resp:
                await resp.read()
                if resp.status == 202:
                    ok += 1
                else:
                    bad += 1

    started = time.monotonic()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
    return ok, bad, time.monotonic() - started


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}"


def reference_app(path: Path) -> web.Application:
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE r (id TEXT PRIMARY KEY, body TEXT)")
    db.execute("CREATE TABLE c (id TEXT PRIMARY KEY, r TEXT, phone TEXT)")

    async def handler(request: web.Request) -> web.Response:
        body = await request.json()
        rid = uuid.uuid4().hex
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO r VALUES (?, ?)", (rid, json.dumps(body)))
        db.executemany("INSERT INTO c VALUES (?, ?, ?)",
                       [(uuid.uuid4().hex, rid, x["phone"]) for x in body["recipients"]])
        db.execute("COMMIT")
        return web.json_response({"id": rid}, status=202)

    app = web.Application()
    app.router.add_post("/v1/reminders", handler)
    app.on_cleanup.append(lambda _: asyncio.sleep(0, db.close()))
    return app


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_mapping({
            "server": {"data_dir": tmp, "port": 0},
            "dialer": {"channels": 0},  # measure intake only: nothing is dialled
            # one key sends everything here: lift its rate limits out of the way
            "limits": {"requests_per_second": 1e6, "request_burst": 1e6, "recipients_per_minute": 1e9},
        })
        app = build_app(settings)
        runner, base = await serve(app)
        services = app[SERVICES]
        made = await new_tenant(services.store, services.secret, "Bench", sandbox=True)
        headers = {"Authorization": f"Bearer {made.api_key}"}
        await drive(base + "/v1/reminders", headers, 1.0, args.concurrency)  # warm up
        ok, bad, took = await drive(base + "/v1/reminders", headers, args.seconds, args.concurrency)
        stored = (await services.store.fetchone("SELECT COUNT(*) AS n FROM calls"))["n"]
        await runner.cleanup()

        ref_runner, ref_base = await serve(reference_app(Path(tmp) / "ref.sqlite3"))
        await drive(ref_base + "/v1/reminders", {}, 1.0, args.concurrency)
        ref_ok, _, ref_took = await drive(ref_base + "/v1/reminders", {}, args.seconds, args.concurrency)
        await ref_runner.cleanup()

    rate = ok / took
    ref_rate = ref_ok / ref_took
    print(f"voicebridge intake: {rate:8.1f} reminders/s ({rate * 20:8.0f} recipients/s), "
          f"{ok} accepted, {bad} refused, {stored} call jobs stored")
    print(f"reference (bare aiohttp + one sqlite3 transaction): {ref_rate:8.1f} reminders/s")
    print(f"ratio voicebridge / reference: {rate / ref_rate:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
