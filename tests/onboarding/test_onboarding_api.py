"""The three onboarding steps through the real API: tenant admin, operator, audit trail."""

from __future__ import annotations

from typing import Any

import pytest

from voicebridge.api.keys import SERVICES

REMINDER = {"group_id": "g", "message_id": "m", "sender": {"user_id": "s", "name": "张三"}, "text": "测试",
            "recipients": [{"user_id": "u", "phone": "13800138005"}]}


async def _json(resp: Any, status: int) -> Any:
    assert resp.status == status, await resp.text()
    return await resp.json()


async def test_whole_path_with_rejection_and_resubmission(flow: Any) -> None:
    c, a = flow.client, flow.auth
    tid, key = await flow.tenant()
    view = await _json(await c.get("/v1/onboarding", headers=a(key)), 200)
    assert [s["state"] for s in view["steps"]] == ["not_started"] * 3 and view["next"] == "activation"
    problem = await _json(await c.post("/v1/reminders", json=REMINDER, headers=a(key)), 409)
    assert problem["missing_step"] == "activation"

    # a partial draft is fine; submitting it lists every missing field
    draft = await _json(await flow.put(key, "activation", {"contact_name": "王五"}), 200)
    assert draft["state"] == "draft" and draft["revision"] == 1
    problem = await _json(await flow.submit(key, "activation"), 422)
    assert {e["field"] for e in problem["errors"]} >= {"business_type", "contact_email", "script"}

    data = flow.activation()
    step = await _json(await flow.put(key, "activation", data), 200)
    assert step["data"]["contact_phone"] == "+8613800138000"  # stored E.164
    step = await _json(await flow.submit(key, "activation"), 200)
    assert step["state"] == "submitted" and step["submitted_at"]

    # the operator's queue, a rejection without and with a reason
    queue = await _json(await c.get("/v1/onboarding/queue", headers=a(flow.op)), 200)
    assert [(i["tenant_id"], i["step"]) for i in queue["items"]] == [(tid, "activation")]
    problem = await _json(await flow.decide(tid, "activation", "reject"), 422)
    assert problem["errors"][0]["field"] == "reason"
    step = await _json(await flow.decide(tid, "activation", "reject", "the script must name the app"), 200)
    assert step["state"] == "rejected" and step["reason"] == "the script must name the app"
    mine = await _json(await c.get("/v1/onboarding/activation", headers=a(key)), 200)
    assert mine["reason"] == "the script must name the app"

    # corrected and resubmitted, then approved
    step = await _json(await flow.put(key, "activation", {**data, "script": "请登录WeLink查看"}), 200)
    assert step["state"] == "draft" and step["reason"] == "the script must name the app"
    await _json(await flow.submit(key, "activation"), 200)
    step = await _json(await flow.decide(tid, "activation"), 200)
    assert step["state"] == "approved" and step["reason"] is None
    assert (await _json(await c.get("/v1/onboarding/queue", headers=a(flow.op)), 200))["items"] == []

    await flow.step_done(key, tid, "filing", await flow.filing(key))
    problem = await _json(await c.post("/v1/reminders", json=REMINDER, headers=a(key)), 409)
    assert problem["missing_step"] == "number_order"

    # the pool lacks the numbers: 409 and the order stays submitted; after loading, approval issues them
    await _json(await flow.put(key, "number_order", flow.order(quantity=2)), 200)
    submitted = await _json(await flow.submit(key, "number_order"), 200)
    problem = await _json(await flow.decide(tid, "number_order"), 409)
    assert problem["available"] == 0 and problem["quantity"] == 2
    assert (await _json(await c.get("/v1/onboarding/number_order", headers=a(key)), 200))["state"] == "submitted"
    await flow.load_pool()
    step = await _json(await flow.decide(tid, "number_order"), 200)
    issued = [n["e164"] for n in step["numbers"]]
    assert issued == ["+861058889901", "+861058889902"]  # "北京" matches "Beijing"
    assert step["data"]["issued_numbers"] == issued
    numbers = (await _json(await c.get("/v1/numbers", headers=a(key)), 200))["numbers"]
    assert [(n["e164"], n["status"], n["app_name"], n["service_type"]) for n in numbers] == [
        (e, "in_use", "call_notify", "voice_notification") for e in issued]
    assert all(n["issued_at"] and n["ordered_at"] == submitted["submitted_at"] for n in numbers)
    view = await _json(await c.get("/v1/onboarding", headers=a(key)), 200)
    assert [s["state"] for s in view["steps"]] == ["approved"] * 3 and view["next"] is None

    # the audit trail: who, when, what changed
    history = (await _json(await c.get("/v1/onboarding/history?step=activation", headers=a(key)), 200))["history"]
    actions = [h["action"] for h in history]
    assert actions == ["onboarding.activation.edit", "onboarding.activation.edit", "onboarding.activation.submit",
                       "onboarding.activation.reject", "onboarding.activation.edit", "onboarding.activation.submit",
                       "onboarding.activation.approve"]
    assert history[3]["detail"]["reason"] == "the script must name the app"
    assert history[4]["detail"]["changes"]["script"] == [data["script"], "请登录WeLink查看"]
    assert all(h["at"] and h["actor"].startswith("key_") for h in history)
    assert history[0]["actor"] != history[3]["actor"]  # the tenant's key, then the operator's
    full = await _json(await c.get(f"/v1/tenants/{tid}/onboarding", headers=a(flow.op)), 200)
    assert any(h["action"] == "number.issue" for h in full["history"])


async def test_later_step_cannot_be_submitted_first(flow: Any) -> None:
    tid, key = await flow.tenant()
    await _json(await flow.put(key, "number_order", flow.order()), 200)  # drafting ahead is allowed
    problem = await _json(await flow.submit(key, "number_order"), 409)
    assert problem["missing_step"] == "activation" and "activation" in problem["detail"]
    await _json(await flow.put(key, "filing", await flow.filing(key)), 200)
    problem = await _json(await flow.submit(key, "filing"), 409)
    assert problem["missing_step"] == "activation"
    await _json(await flow.put(key, "activation", flow.activation()), 200)
    await _json(await flow.submit(key, "activation"), 200)
    problem = await _json(await flow.submit(key, "filing"), 409)  # submitted is not approved
    assert problem["missing_step"] == "activation"
    await _json(await flow.decide(tid, "activation"), 200)
    await _json(await flow.submit(key, "filing"), 200)
    problem = await _json(await flow.submit(key, "number_order"), 409)
    assert problem["missing_step"] == "filing"


async def test_forbidden_transitions(flow: Any) -> None:
    c, a = flow.client, flow.auth
    tid, key = await flow.tenant()
    # nothing to submit or review yet
    assert (await flow.submit(key, "activation")).status == 409
    assert (await flow.decide(tid, "activation")).status == 409
    assert (await flow.decide(tid, "activation", "reject", "no")).status == 409
    await _json(await flow.put(key, "activation", flow.activation()), 200)
    assert (await flow.decide(tid, "activation")).status == 409  # a draft is not submitted
    await _json(await flow.submit(key, "activation"), 200)
    for resp in (await flow.submit(key, "activation"), await flow.put(key, "activation", flow.activation())):
        problem = await _json(resp, 409)
        assert "under review" in problem["detail"] or "already submitted" in problem["detail"]
    await _json(await flow.decide(tid, "activation"), 200)
    for resp in (await flow.put(key, "activation", flow.activation()), await flow.submit(key, "activation"),
                 await flow.decide(tid, "activation"), await flow.decide(tid, "activation", "reject", "late")):
        assert resp.status == 409
    step = await _json(await c.get("/v1/onboarding/activation", headers=a(key)), 200)
    assert step["state"] == "approved"
    # unknown steps and tenants
    assert (await flow.put(key, "payment", {})).status == 404
    assert (await flow.decide("tn_nope", "activation")).status == 404
    assert (await flow.decide(tid, "payment")).status == 404


async def test_who_may_call_what(flow: Any) -> None:
    c, a = flow.client, flow.auth
    tid, key = await flow.tenant()
    for method, path in (("GET", "/v1/onboarding/queue"), ("POST", f"/v1/tenants/{tid}/onboarding/activation/approve"),
                         ("PATCH", f"/v1/tenants/{tid}"), ("GET", f"/v1/tenants/{tid}/onboarding"),
                         ("GET", "/v1/pool/numbers"), ("POST", "/v1/pool/numbers")):
        assert (await c.request(method, path, json={}, headers=a(key))).status == 403, path
    for method, path in (("GET", "/v1/onboarding"), ("PUT", "/v1/onboarding/activation"), ("GET", "/v1/numbers"),
                         ("POST", "/v1/documents")):
        assert (await c.request(method, path, json={}, headers=a(flow.op))).status == 403, path
    assert (await c.get("/v1/onboarding")).status == 401


async def test_bad_fields_are_listed(flow: Any) -> None:
    tid, key = await flow.tenant()
    data = {**flow.activation(), "contact_email": "nope", "contact_phone": "12345", "business_type": "fax", "x": 1}
    problem = await _json(await flow.put(key, "activation", data), 422)
    assert problem["type"].endswith("invalid-request")
    assert {e["field"]: e["code"] for e in problem["errors"]} == {
        "x": "unknown", "business_type": "enum", "contact_email": "format", "contact_phone": "too_short"}
    bad_code = flow.USCC[:-1] + ("0" if flow.USCC[-1] != "0" else "1")
    problem = await _json(await flow.put(key, "filing", {"licence_code": bad_code}), 422)
    assert problem["errors"][0]["field"] == "licence_code" and "check digit" in problem["errors"][0]["message"]
    resp = await flow.client.put("/v1/onboarding/activation", data=b"{oops", headers=flow.auth(key, **{"Content-Type": "application/json"}))
    assert resp.status == 400
    services = flow.client.server.app[SERVICES]
    assert await services.store.fetchone("SELECT * FROM onboarding_steps WHERE tenant_id = ?", (tid,)) is None


async def test_filing_may_not_cite_another_tenants_documents(flow: Any) -> None:
    _, key_a = await flow.tenant("A")
    _, key_b = await flow.tenant("B")
    theirs = await flow.upload(key_a)
    problem = await _json(await flow.put(key_b, "filing", {"licence_document": theirs, "id_images": [theirs]}), 422)
    assert [(e["field"], e["code"]) for e in problem["errors"]] == [
        ("licence_document", "unknown_document"), ("id_images/0", "unknown_document")]


async def test_further_number_order_after_approval(flow: Any) -> None:
    tid, key = await flow.tenant()
    await flow.load_pool()
    first = await flow.onboard(key, tid)
    step = await _json(await flow.put(key, "number_order", flow.order(city="上海")), 200)
    assert step["state"] == "draft" and "issued_numbers" not in step["data"]
    await _json(await flow.submit(key, "number_order"), 200)
    step = await _json(await flow.decide(tid, "number_order"), 200)
    assert [n["e164"] for n in step["numbers"]] == ["+862158889903"]
    numbers = (await _json(await flow.client.get("/v1/numbers", headers=flow.auth(key)), 200))["numbers"]
    assert [n["e164"] for n in numbers] == first + ["+862158889903"]


@pytest.mark.parametrize("patch, field", [
    ({"level": "V9"}, "level"), ({"timezone": "Mars/Olympus"}, "timezone"), ({"timezone": 8}, "timezone"),
    ({"region": "XX"}, "region"), ({"allow_fixed_line": "yes"}, "allow_fixed_line"), ({"colour": "red"}, "colour"),
])
async def test_tenant_settings_refused(flow: Any, patch: dict, field: str) -> None:
    tid, _ = await flow.tenant()
    problem = await _json(await flow.client.patch(f"/v1/tenants/{tid}", json=patch, headers=flow.auth(flow.op)), 422)
    assert [e["field"] for e in problem["errors"]] == [field]


async def test_tenant_settings_take_effect(flow: Any) -> None:
    c, a = flow.client, flow.auth
    resp = await c.post("/v1/tenants", json={"name": "Sandbox", "sandbox": True}, headers=a(flow.op))
    tenant = await _json(resp, 201)
    tid, key = tenant["id"], tenant["api_key"]
    fixed = {**REMINDER, "recipients": [{"user_id": "u", "phone": "010-12345675"}]}
    problem = await _json(await c.post("/v1/reminders", json=fixed, headers=a(key)), 422)
    assert problem["errors"][0]["code"] == "fixed_line_not_allowed"
    patch = {"level": "V3", "timezone": "Europe/Berlin", "allow_fixed_line": True}
    view = await _json(await c.patch(f"/v1/tenants/{tid}", json=patch, headers=a(flow.op)), 200)
    assert (view["level"], view["timezone"], view["allow_fixed_line"], view["region"]) == ("V3", "Europe/Berlin", True, "CN")
    accepted = await _json(await c.post("/v1/reminders", json=fixed, headers=a(key)), 202)
    assert accepted["calls"][0]["phone"] == "+861012345675"
    # a default region of GB reads national numbers as British
    await _json(await c.patch(f"/v1/tenants/{tid}", json={"region": "gb"}, headers=a(flow.op)), 200)
    british = {**REMINDER, "message_id": "m2", "recipients": [{"user_id": "u", "phone": "07400 123455"}]}
    accepted = await _json(await c.post("/v1/reminders", json=british, headers=a(key)), 202)
    assert accepted["calls"][0]["phone"] == "+447400123455"
    assert (await c.patch("/v1/tenants/tn_nope", json={"level": "V2"}, headers=a(flow.op))).status == 404
    history = (await _json(await c.get(f"/v1/tenants/{tid}/onboarding", headers=a(flow.op)), 200))["history"]
    services = c.server.app[SERVICES]
    rows = await services.store.fetchall("SELECT * FROM audit WHERE tenant_id = ? AND action = 'tenant.settings'", (tid,))
    assert len(rows) == 2 and '"level": ["V1", "V3"]' in rows[0]["detail"]
    assert history is not None
