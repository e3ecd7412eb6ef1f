"""Nothing accepted and lost (issue 7 item 9): valid reminders posted while bad
requests are fired at the same endpoint at the same time are stored whole, with
every recipient, dialled to a terminal state with one CDR per call; the bad
requests are problem+json 4xx and store nothing."""

from __future__ import annotations

import asyncio
import json
import random
import time
from typing import Any

import pytest

from voicebridge.api.keys import SERVICES

SEED = 7
GOOD = 6  # valid reminders
BAD = 120  # bad requests interleaved with them
RECIPIENTS = 40


@pytest.fixture
def settings(make_settings: Any) -> Any:
    return make_settings(limits={"requests_per_second": 10_000.0, "request_burst": 10_000.0,
                                 "recipients_per_minute": 1_000_000.0})


def good_body(i: int) -> dict[str, Any]:
    # last digit 5 (busy) or 9 (unreachable): the simulator ends these at once
    recips = [{"user_id": f"r{i}-{j}", "name": f"成员{j}", "phone": f"1390{i:03d}{j:03d}{5 if j % 2 else 9}"}
              for j in range(RECIPIENTS)]
    return {"group_id": f"g{i}", "message_id": f"m{i}", "sender": {"user_id": "s", "name": "张三"},
            "text": f"第{i}条消息", "recipients": recips}


def bad_request(rng: random.Random, key: str) -> dict[str, Any]:
    """One bad POST /v1/reminders: aiohttp request keywords."""
    auth = {"Authorization": f"Bearer {key}"}
    body = good_body(900 + rng.randrange(50))
    kind = rng.randrange(12)
    if kind == 0:
        return {"data": b'{"group_id": "g", ', "headers": {**auth, "Content-Type": "application/json"}}
    if kind == 1:
        return {"data": json.dumps(body).encode(), "headers": {**auth, "Content-Type": "text/plain"}}
    if kind == 2:
        body["recipients"][rng.randrange(RECIPIENTS)]["phone"] = rng.choice(["12345", "1380013800a", "+999", ""])
    elif kind == 3:
        body["recipients"].append(dict(body["recipients"][0]))  # duplicate user id
    elif kind == 4:
        body["recipients"] = [{"user_id": f"x{n}", "phone": "13900000005"} for n in range(201)]
    elif kind == 5:
        body.pop(rng.choice(["group_id", "message_id", "sender", "text", "recipients"]))
    elif kind == 6:
        body["text"] = rng.choice(["", None, 5, ["x"]])
    elif kind == 7:
        body["unexpected"] = True
    elif kind == 8:
        return {"json": body, "headers": {"Authorization": "Bearer vb_not_a_key"}}
    elif kind == 9:
        return {"data": b"\xff\xfe" + b"x" * rng.randrange(100), "headers": {**auth, "Content-Type": "application/json"}}
    elif kind == 10:
        return {"data": b"[" * 300_000, "headers": {**auth, "Content-Type": "application/json"}}  # over the size limit
    else:
        return {"json": [body], "headers": auth}
    return {"json": body, "headers": auth}


async def test_accepted_reminders_are_stored_whole_among_bad_requests(service: Any, sandbox: Any) -> None:
    rng = random.Random(SEED)
    key = sandbox.api_key
    auth = {"Authorization": f"Bearer {key}"}
    jobs: list[tuple[str, Any]] = [("bad", bad_request(rng, key)) for _ in range(BAD)]
    for i in range(GOOD):
        jobs.insert(rng.randrange(len(jobs) + 1), ("good", i))

    async def send(kind: str, arg: Any) -> tuple[str, Any, int, Any]:
        if kind == "good":
            resp = await service.post("/v1/reminders", json=good_body(arg),
                                      headers={**auth, "Idempotency-Key": f"k{arg}"})
        else:
            resp = await service.post("/v1/reminders", **arg)
        text = await resp.text()
        return kind, arg, resp.status, (resp.content_type, text)

    results = await asyncio.gather(*(send(k, a) for k, a in jobs))
    accepted: dict[int, str] = {}
    for kind, arg, status, (ctype, text) in results:
        if kind == "good":
            assert status == 202, text
            accepted[arg] = json.loads(text)["id"]
        else:
            assert 400 <= status < 500 and ctype == "application/problem+json", (status, text[:300])

    # the same requests again with their Idempotency-Keys: the same reminders, nothing new
    for i, rid in accepted.items():
        resp = await service.post("/v1/reminders", json=good_body(i), headers={**auth, "Idempotency-Key": f"k{i}"})
        assert resp.status == 202 and (await resp.json())["id"] == rid

    store = service.server.app[SERVICES].store
    rows = await store.fetchall("SELECT id FROM reminders WHERE tenant_id = ?", (sandbox.tenant["id"],))
    assert sorted(r["id"] for r in rows) == sorted(accepted.values()), "a refused request stored a reminder"

    deadline = time.monotonic() + 90
    for i, rid in accepted.items():
        while True:
            view = await (await service.get(f"/v1/reminders/{rid}", headers=auth)).json()
            if view["status"] != "active":
                break
            assert time.monotonic() < deadline, view["summary"]
            await asyncio.sleep(0.2)
        want = {(r["user_id"], "+86" + r["phone"]) for r in good_body(i)["recipients"]}
        assert {(c["user_id"], c["phone"]) for c in view["calls"]} == want
        assert len(view["calls"]) == RECIPIENTS
        assert view["text"] == good_body(i)["text"] and view["group_id"] == f"g{i}"
        assert all(c["status"] in ("busy", "unreachable") for c in view["calls"]), view["summary"]
        cdrs = await store.fetchall("SELECT call_id, COUNT(*) AS n FROM cdrs WHERE reminder_id = ? GROUP BY call_id",
                                    (rid,))
        assert {r["call_id"]: r["n"] for r in cdrs} == {c["id"]: 1 for c in view["calls"]}
    print(f"intake: {GOOD} reminders x {RECIPIENTS} recipients accepted among {BAD} bad requests")
