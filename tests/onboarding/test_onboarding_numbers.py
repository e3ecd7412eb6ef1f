"""Number management: the list, pause, resume, release, the pool and tenant isolation."""

from __future__ import annotations

from typing import Any

REMINDER = {"group_id": "g", "message_id": "m", "sender": {"user_id": "s", "name": "张三"}, "text": "测试",
            "recipients": [{"user_id": "u", "phone": "13800138005"}]}


async def _json(resp: Any, status: int) -> Any:
    assert resp.status == status, await resp.text()
    return await resp.json()


async def test_number_list_and_its_formats(flow: Any) -> None:
    c, a = flow.client, flow.auth
    tid, key = await flow.tenant()
    await flow.load_pool()
    issued = await flow.onboard(key, tid, quantity=2)
    numbers = (await _json(await c.get("/v1/numbers", headers=a(key)), 200))["numbers"]
    assert [n["number"] for n in numbers] == issued == ["+861058889901", "+861058889902"]
    first = numbers[0]
    assert set(first) >= {"number", "city", "app_name", "service_type", "status", "ordered_at", "issued_at"}
    assert (first["city"], first["app_name"], first["service_type"], first["status"]) == (
        "Beijing", "call_notify", "voice_notification", "in_use")
    national = (await _json(await c.get("/v1/numbers?format=national", headers=a(key)), 200))["numbers"]
    assert [n["number"] for n in national] == ["010 5888 9901", "010 5888 9902"]
    assert national[0]["e164"] == "+861058889901"
    assert (await _json(await c.get("/v1/numbers?format=fancy", headers=a(key)), 422))["errors"][0]["field"] == "format"
    assert (await _json(await c.get("/v1/numbers?status=released", headers=a(key)), 200))["numbers"] == []
    assert (await _json(await c.get("/v1/numbers?app_name=welink", headers=a(key)), 200))["numbers"] == []


async def test_pause_resume_release(flow: Any) -> None:
    c, a = flow.client, flow.auth
    tid, key = await flow.tenant()
    await flow.load_pool()
    [number] = await flow.onboard(key, tid)
    paused = await _json(await c.post(f"/v1/numbers/{number}/pause", headers=a(key)), 200)
    assert paused["status"] == "paused"
    problem = await _json(await c.post("/v1/reminders", json=REMINDER, headers=a(key)), 409)  # no number in use
    assert problem["missing_step"] == "number_order"
    assert (await c.post(f"/v1/numbers/{number}/pause", headers=a(key))).status == 409
    # the national form names the same number
    resumed = await _json(await c.post("/v1/numbers/010-5888-9901/resume", headers=a(key)), 200)
    assert resumed["status"] == "in_use" and resumed["released_at"] is None
    await _json(await c.post("/v1/reminders", json=REMINDER, headers=a(key)), 202)

    released = await _json(await c.post(f"/v1/numbers/{number}/release", headers=a(key)), 200)
    assert released["status"] == "released" and released["released_at"] >= released["issued_at"]
    for action in ("release", "pause", "resume"):
        problem = await _json(await c.post(f"/v1/numbers/{number}/{action}", headers=a(key)), 409)
        assert problem["detail"].startswith("the number is released"), problem
    problem = await _json(await c.post("/v1/reminders", json={**REMINDER, "message_id": "m2"}, headers=a(key)), 409)
    assert problem["missing_step"] == "number_order" and problem["type"].endswith("not-ready")
    numbers = (await _json(await c.get("/v1/numbers", headers=a(key)), 200))["numbers"]
    assert [(n["number"], n["status"]) for n in numbers] == [(number, "released")]
    history = (await _json(await c.get("/v1/onboarding/history", headers=a(key)), 200))["history"]
    assert [h["action"] for h in history if h["action"].startswith("number.")] == [
        "number.issue", "number.pause", "number.resume", "number.release"]


async def test_numbers_are_private_to_their_tenant(flow: Any) -> None:
    c, a = flow.client, flow.auth
    tid, key = await flow.tenant("A")
    _, other = await flow.tenant("B")
    await flow.load_pool()
    [number] = await flow.onboard(key, tid)
    assert (await _json(await c.get("/v1/numbers", headers=a(other)), 200))["numbers"] == []
    for action in ("pause", "resume", "release"):
        assert (await c.post(f"/v1/numbers/{number}/{action}", headers=a(other))).status == 404
    # pool numbers and nonsense are not the tenant's either
    assert (await c.post("/v1/numbers/+862158889903/release", headers=a(key))).status == 404
    assert (await c.post("/v1/numbers/not-a-number/release", headers=a(key))).status == 404
    numbers = (await _json(await c.get("/v1/numbers", headers=a(key)), 200))["numbers"]
    assert [n["status"] for n in numbers] == ["in_use"]


async def test_pool_load_and_listing(flow: Any) -> None:
    c, a = flow.client, flow.auth
    await flow.load_pool()
    again = await _json(await c.post("/v1/pool/numbers", json={"numbers": [{"number": "+861058889901", "city": "Beijing"}]},
                                     headers=a(flow.op)), 201)
    assert again == {"added": 0, "already_known": 1}
    pool = await _json(await c.get("/v1/pool/numbers", headers=a(flow.op)), 200)
    assert pool["count"] == 3 and pool["by_city"] == {"Beijing": 2, "上海": 1}
    shanghai = await _json(await c.get("/v1/pool/numbers?city=Shanghai", headers=a(flow.op)), 200)
    assert [n["e164"] for n in shanghai["numbers"]] == ["+862158889903"]
    bad = {"numbers": [{"number": "12"}, {"number": "+861058889904", "city": 5}, "x"], "number_type": "mobile"}
    problem = await _json(await c.post("/v1/pool/numbers", json=bad, headers=a(flow.op)), 422)
    assert [e["field"] for e in problem["errors"]] == ["number_type", "numbers/0/number", "numbers/1/city", "numbers/2"]
