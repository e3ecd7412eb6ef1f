"""Keys with scopes: made, listed by prefix, rotated, revoked; the audit log."""

from __future__ import annotations

from typing import Any

from voicebridge.api.keys import SERVICES


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


REMINDER = {"group_id": "g", "message_id": "m", "sender": {"user_id": "s", "name": "S"}, "text": "t",
            "recipients": [{"user_id": "u", "phone": "13800138005"}]}


async def test_scoped_key_rotate_revoke_and_audit(service: Any, sandbox: Any) -> None:
    resp = await service.post("/v1/keys", json={"scopes": ["reminders"]}, headers=auth(sandbox.api_key))
    assert resp.status == 201
    chat = await resp.json()
    assert chat["scopes"] == ["reminders"] and chat["api_key"].startswith(chat["prefix"])
    # the chat client's key posts reminders but cannot administer or read money
    assert (await service.post("/v1/reminders", json=REMINDER, headers=auth(chat["api_key"]))).status == 202
    for path in ("/v1/keys", "/v1/balance", "/v1/webhooks"):
        resp = await service.get(path, headers=auth(chat["api_key"]))
        assert resp.status == 403, path
        assert resp.content_type == "application/problem+json"
    # listed by prefix, never the key itself
    listed = (await (await service.get(f"/v1/keys?prefix={chat['prefix']}", headers=auth(sandbox.api_key))).json())
    assert [k["id"] for k in listed["keys"]] == [chat["id"]]
    assert "api_key" not in listed["keys"][0]
    # rotate: the new key works, the old one is refused at once
    resp = await service.post(f"/v1/keys/{chat['id']}/rotate", headers=auth(sandbox.api_key))
    assert resp.status == 201
    new = await resp.json()
    assert new["scopes"] == ["reminders"] and new["replaces"] == chat["id"]
    assert (await service.get("/v1/reminders/x", headers=auth(chat["api_key"]))).status == 401
    assert (await service.get("/v1/reminders/x", headers=auth(new["api_key"]))).status == 404
    # revoke
    assert (await service.delete(f"/v1/keys/{new['id']}", headers=auth(sandbox.api_key))).status == 204
    assert (await service.get("/v1/reminders/x", headers=auth(new["api_key"]))).status == 401
    assert (await service.delete(f"/v1/keys/{new['id']}", headers=auth(sandbox.api_key))).status == 404
    # the operator sees who did what
    from voicebridge.tenancy import operator_key

    services = service.server.app[SERVICES]
    op = await operator_key(services.store, services.secret)
    log = await (await service.get(f"/v1/audit?tenant_id={sandbox.tenant['id']}", headers=auth(op))).json()
    actions = [e["action"] for e in log["entries"]]
    assert actions[:3] == ["key.revoke", "key.rotate", "key.create"]
    assert log["entries"][0]["detail"]["id"] == new["id"]
    assert (await service.get("/v1/audit", headers=auth(sandbox.api_key))).status == 403


async def test_bad_scopes(service: Any, sandbox: Any) -> None:
    resp = await service.post("/v1/keys", json={"scopes": ["root"]}, headers=auth(sandbox.api_key))
    assert resp.status == 422
    assert (await resp.json())["errors"][0]["field"] == "scopes/0"
