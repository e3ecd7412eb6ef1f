"""The chat client's API through aiohttp's test client, on the real service."""

from __future__ import annotations

from typing import Any

import pytest

from voicebridge.api.keys import SERVICES


def body(**over: Any) -> dict[str, Any]:
    b: dict[str, Any] = {
        "group_id": "g1",
        "message_id": "m1",
        "sender": {"user_id": "u0", "name": "张三"},
        "text": "这是一条测试消息",
        "recipients": [{"user_id": "u1", "name": "李四", "phone": "13800138000"}],
    }
    b.update(over)
    return b


def auth(key: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **extra}


async def test_post_and_read(service: Any, sandbox: Any) -> None:
    resp = await service.post("/v1/reminders", json=body(), headers=auth(sandbox.api_key))
    assert resp.status == 202, await resp.text()
    data = await resp.json()
    assert data["caller"] == sandbox.number
    assert [c["phone"] for c in data["calls"]] == ["+8613800138000"]
    assert resp.headers["Location"] == f"/v1/reminders/{data['id']}"
    resp = await service.get(f"/v1/reminders/{data['id']}", headers=auth(sandbox.api_key))
    assert resp.status == 200
    view = await resp.json()
    assert view["calls"][0]["user_id"] == "u1"
    assert view["calls"][0]["status"] in ("queued", "calling", "ringing", "answered", "completed")


@pytest.mark.parametrize(
    "patch, field",
    [
        ({"group_id": None}, "group_id"),
        ({"text": ""}, "text"),
        ({"text": "x" * 2001}, "text"),
        ({"language": "fr"}, "language"),
        ({"sender": {"user_id": "u0"}}, "sender/name"),
        ({"recipients": []}, "recipients"),
        ({"recipients": [{"user_id": "u1", "phone": "12345"}]}, "recipients/0/phone"),
        ({"recipients": [{"user_id": "u1", "phone": "1380013800a"}]}, "recipients/0/phone"),
        ({"recipients": [{"phone": "13800138000"}]}, "recipients/0/user_id"),
        ({"recipients": [{"user_id": "u1", "phone": "13800138000"}] * 2}, "recipients/1/user_id"),
        ({"recipients": [{"user_id": f"u{i}", "phone": "13800138000"} for i in range(201)]}, "recipients"),
        ({"callback_url": "ftp://x"}, "callback_url"),
        ({"surprise": 1}, "surprise"),
    ],
)
async def test_bad_input_is_a_problem_naming_the_field(service: Any, sandbox: Any, patch: dict, field: str) -> None:
    b = body(**patch)
    b = {k: v for k, v in b.items() if v is not None}
    resp = await service.post("/v1/reminders", json=b, headers=auth(sandbox.api_key))
    assert resp.status == 422
    assert resp.content_type == "application/problem+json"
    problem = await resp.json()
    assert problem["status"] == 422
    assert field in [e["field"] for e in problem["errors"]], problem
    store = service.server.app[SERVICES].store
    assert (await store.fetchone("SELECT COUNT(*) AS n FROM reminders"))["n"] == 0


async def test_one_bad_recipient_among_twenty_refuses_all(service: Any, sandbox: Any) -> None:
    recipients = [{"user_id": f"u{i}", "phone": f"1390000{i:04d}"} for i in range(20)]
    recipients[13]["phone"] = "1900000000"
    resp = await service.post("/v1/reminders", json=body(recipients=recipients), headers=auth(sandbox.api_key))
    assert resp.status == 422
    problem = await resp.json()
    assert [e["field"] for e in problem["errors"]] == ["recipients/13/phone"]
    store = service.server.app[SERVICES].store
    assert (await store.fetchone("SELECT COUNT(*) AS n FROM calls"))["n"] == 0


@pytest.mark.parametrize(
    "raw, ctype, status",
    [(b"{not json", "application/json", 400), (b"[1, 2]", "application/json", 422), (b"x=1", "text/plain", 415)],
)
async def test_malformed_bodies(service: Any, sandbox: Any, raw: bytes, ctype: str, status: int) -> None:
    resp = await service.post("/v1/reminders", data=raw, headers=auth(sandbox.api_key, **{"Content-Type": ctype}))
    assert resp.status == status
    assert resp.content_type == "application/problem+json"


async def test_body_too_large(service: Any, sandbox: Any) -> None:
    big = body(text="x" * 300_000)
    resp = await service.post("/v1/reminders", json=big, headers=auth(sandbox.api_key))
    assert resp.status == 413
    assert resp.content_type == "application/problem+json"


async def test_idempotency(service: Any, sandbox: Any) -> None:
    h = auth(sandbox.api_key, **{"Idempotency-Key": "k-1"})
    first = await service.post("/v1/reminders", json=body(), headers=h)
    again = await service.post("/v1/reminders", json=body(), headers=h)
    assert first.status == again.status == 202
    assert (await first.json()) == (await again.json())
    other = await service.post("/v1/reminders", json=body(text="另一条"), headers=h)
    assert other.status == 409
    assert (await other.json())["errors"][0]["field"] == "Idempotency-Key"
    store = service.server.app[SERVICES].store
    assert (await store.fetchone("SELECT COUNT(*) AS n FROM reminders"))["n"] == 1


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer wrong", "Basic abc"])
async def test_authentication(service: Any, sandbox: Any, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    resp = await service.post("/v1/reminders", json=body(), headers=headers)
    assert resp.status == 401
    assert resp.content_type == "application/problem+json"


async def test_other_tenants_reminder_is_404(service: Any, sandbox: Any) -> None:
    from voicebridge.tenancy import new_tenant

    services = service.server.app[SERVICES]
    other = await new_tenant(services.store, services.secret, "Other", sandbox=True)
    resp = await service.post("/v1/reminders", json=body(), headers=auth(sandbox.api_key))
    rid = (await resp.json())["id"]
    for method, path in (("GET", f"/v1/reminders/{rid}"), ("POST", f"/v1/reminders/{rid}/cancel")):
        resp = await service.request(method, path, headers=auth(other.api_key))
        assert resp.status == 404, path
    resp = await service.get("/v1/reminders/rm_nope", headers=auth(sandbox.api_key))
    assert resp.status == 404


async def test_tenant_without_number_gets_409_naming_the_step(service: Any) -> None:
    from voicebridge.tenancy import new_tenant

    services = service.server.app[SERVICES]
    bare = await new_tenant(services.store, services.secret, "New Co")
    resp = await service.post("/v1/reminders", json=body(), headers=auth(bare.api_key))
    assert resp.status == 409
    problem = await resp.json()
    assert problem["missing_step"] == "activation"


async def test_cancel_before_dialling(make_settings: Any, aiohttp_client: Any) -> None:
    from voicebridge.app import build_app
    from voicebridge.tenancy import new_tenant

    # one channel, slow pacing: the later recipients are still queued when we cancel
    app = build_app(make_settings(dialer={"channels": 1, "calls_per_second": 0.5}))
    client = await aiohttp_client(app)
    services = app[SERVICES]
    t = await new_tenant(services.store, services.secret, "C", sandbox=True)
    recipients = [{"user_id": f"u{i}", "phone": f"1380013800{i}"} for i in range(5)]
    resp = await client.post("/v1/reminders", json=body(recipients=recipients), headers=auth(t.api_key))
    rid = (await resp.json())["id"]
    resp = await client.post(f"/v1/reminders/{rid}/cancel", headers=auth(t.api_key))
    assert resp.status == 200
    data = await resp.json()
    assert data["cancelled_calls"] >= 3
    assert data["status"] == "cancelled"
    statuses = [c["status"] for c in data["calls"]]
    assert statuses.count("cancelled") == data["cancelled_calls"]


async def test_openapi_describes_every_route(service: Any) -> None:
    resp = await service.get("/v1/openapi.json")
    doc = await resp.json()
    assert doc["openapi"].startswith("3.")
    served = set()
    for route in service.server.app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter")
        if path and route.method != "HEAD":
            served.add((route.method.lower(), path))
    described = {(m, p) for p, ops in doc["paths"].items() for m in ops}
    assert served == described


async def test_health_and_ready(service: Any) -> None:
    assert (await service.get("/healthz")).status == 200
    resp = await service.get("/readyz")
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["checks"]["sip_transport_bound"] is True


async def test_operator_api(service: Any) -> None:
    from voicebridge.tenancy import operator_key

    services = service.server.app[SERVICES]
    op = await operator_key(services.store, services.secret)
    resp = await service.post("/v1/tenants", json={"name": "Acme", "sandbox": True}, headers=auth(op))
    assert resp.status == 201
    tenant = await resp.json()
    assert tenant["balance_fen"] == 10000 and tenant["api_key"].startswith("vb_")
    resp = await service.post(f"/v1/tenants/{tenant['id']}/topups", json={"amount_fen": 5000, "reference": "pay-1"},
                              headers=auth(op))
    assert resp.status == 201 and (await resp.json())["balance_fen"] == 15000
    resp = await service.post(f"/v1/tenants/{tenant['id']}/topups", json={"amount_fen": 5000, "reference": "pay-1"},
                              headers=auth(op))
    assert resp.status == 200 and (await resp.json())["balance_fen"] == 15000  # same payment once
    resp = await service.post(f"/v1/tenants/{tenant['id']}/topups", json={"amount_fen": 1.5, "reference": "p"},
                              headers=auth(op))
    assert resp.status == 422 and (await resp.json())["errors"][0]["field"] == "amount_fen"
    # a tenant key cannot use operator endpoints
    resp = await service.post("/v1/tenants", json={"name": "X"}, headers=auth(tenant["api_key"]))
    assert resp.status == 403


async def test_rate_limits_answer_429_with_retry_after(make_settings: Any, aiohttp_client: Any) -> None:
    from voicebridge.app import build_app
    from voicebridge.tenancy import new_tenant

    app = build_app(make_settings(limits={"requests_per_second": 0.1, "request_burst": 3.0,
                                          "recipients_per_minute": 2.0}))
    client = await aiohttp_client(app)
    services = app[SERVICES]
    t = await new_tenant(services.store, services.secret, "RL", sandbox=True)
    two = [{"user_id": "a", "phone": "13800138000"}, {"user_id": "b", "phone": "13800138001"}]
    resp = await client.post("/v1/reminders", json=body(recipients=two), headers=auth(t.api_key))
    assert resp.status == 202
    resp = await client.post("/v1/reminders", json=body(message_id="m2"), headers=auth(t.api_key))
    assert resp.status == 429 and int(resp.headers["Retry-After"]) >= 1  # recipients per minute spent
    resp = await client.get(f"/v1/reminders/nope", headers=auth(t.api_key))
    assert resp.status == 404  # third request in the burst
    resp = await client.get(f"/v1/reminders/nope", headers=auth(t.api_key))
    assert resp.status == 429 and resp.content_type == "application/problem+json"
    assert int(resp.headers["Retry-After"]) >= 1


async def test_metrics(service: Any, sandbox: Any) -> None:
    resp = await service.post("/v1/reminders", json=body(recipients=[{"user_id": "u", "phone": "13800138005"}]),
                              headers=auth(sandbox.api_key))
    assert resp.status == 202
    import asyncio

    for _ in range(100):
        text = await (await service.get("/metrics")).text()
        if 'voicebridge_call_attempts_total{status="busy",cause="user_busy"} 1' in text:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError(text)
    assert "# TYPE voicebridge_active_calls gauge" in text
    assert f'voicebridge_ledger_balance_fen{{tenant="{sandbox.tenant["id"]}"}} 10000' in text
    assert "voicebridge_dial_attempts_total 1" in text


async def test_long_text_is_accepted_and_the_prompt_cut(service: Any, sandbox: Any) -> None:
    text = "今晚八点发布新版本。" * 100  # 1000 characters
    resp = await service.post("/v1/reminders", json=body(text=text), headers=auth(sandbox.api_key))
    assert resp.status == 202
    rid = (await resp.json())["id"]
    row = await service.server.app[SERVICES].store.fetchone("SELECT text, prompt_text FROM reminders WHERE id = ?",
                                                            (rid,))
    assert row["text"] == text  # the message is kept whole
    assert "…" in row["prompt_text"] and len(row["prompt_text"]) < 300  # the spoken prompt is cut
    assert "。…" in row["prompt_text"]  # at a sentence boundary


async def test_list_reminders_pages_newest_first(service: Any, sandbox: Any) -> None:
    ids = []
    for i in range(3):
        resp = await service.post("/v1/reminders", json=body(message_id=f"m{i}"), headers=auth(sandbox.api_key))
        ids.append((await resp.json())["id"])
    page = await (await service.get("/v1/reminders?limit=2", headers=auth(sandbox.api_key))).json()
    assert [r["id"] for r in page["reminders"]] == ids[:0:-1]
    rest = await (await service.get(f"/v1/reminders?limit=2&before={page['next_before']}",
                                    headers=auth(sandbox.api_key))).json()
    assert [r["id"] for r in rest["reminders"]] == [ids[0]] and rest["next_before"] is None
    one = await (await service.get("/v1/reminders?message_id=m1", headers=auth(sandbox.api_key))).json()
    assert [r["id"] for r in one["reminders"]] == [ids[1]]
    assert sum(one["reminders"][0]["summary"].values()) == 1
    bad = await service.get("/v1/reminders?limit=0", headers=auth(sandbox.api_key))
    assert bad.status == 422 and bad.content_type == "application/problem+json"


async def test_sandboxes_get_their_own_simulator_numbers_never_a_carriers(service: Any) -> None:
    from voicebridge.store.tenants import add_pool_numbers
    from voicebridge.tenancy import SIMULATOR_PREFIX, new_tenant

    services = service.server.app[SERVICES]
    async with services.store.transaction() as tx:
        await add_pool_numbers(tx, [("+861012345678", "Beijing")])  # a carrier's number in the pool
    numbers = [(await new_tenant(services.store, services.secret, f"S{i}", sandbox=True)).number for i in range(25)]
    assert len(set(numbers)) == 25 and all(n.startswith(SIMULATOR_PREFIX) for n in numbers)
    row = await services.store.fetchone("SELECT status FROM numbers WHERE e164 = '+861012345678'")
    assert row == {"status": "pool"}
