"""Helpers for driving onboarding through the real API as a tenant admin and the operator."""

from __future__ import annotations

from typing import Any

import pytest

from voicebridge.numbers.uscc import check_char

PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
USCC_BODY = "91110108MA0123456"
USCC = USCC_BODY + check_char(USCC_BODY)
POOL = [("010 5888 9901", "Beijing"), ("010 5888 9902", "Beijing"), ("021 5888 9903", "上海")]


def auth(key: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **extra}


def activation() -> dict[str, Any]:
    return {
        "business_type": "voice_notification", "contact_name": "王五", "contact_email": "wang@example.cn",
        "contact_phone": "138 0013 8000", "enterprise_name": "示例科技有限公司", "enterprise_nature": "private",
        "industry": "software", "scenario": "unread message reminders", "script": "张三给你发来一条消息",
    }


def order(**over: Any) -> dict[str, Any]:
    return {"enterprise_name": "示例科技有限公司", "app_name": "call_notify", "number_type": "fixed_line",
            "city": "北京", "quantity": 1, **over}


class Flow:
    """One test's client, operator key and shortcuts for the onboarding calls.

    Test modules reach the sample data through it (conftest is not importable
    under --import-mode=importlib)."""

    PDF, PNG, JPEG, USCC, POOL = PDF, PNG, JPEG, USCC, POOL
    auth = staticmethod(auth)
    activation = staticmethod(activation)
    order = staticmethod(order)

    def __init__(self, client: Any, op: str) -> None:
        self.client = client
        self.op = op

    async def tenant(self, name: str = "New Co") -> tuple[str, str]:
        resp = await self.client.post("/v1/tenants", json={"name": name}, headers=auth(self.op))
        assert resp.status == 201, await resp.text()
        data = await resp.json()
        return data["id"], data["api_key"]

    async def upload(self, key: str, content: bytes = PDF, ctype: str = "application/pdf", kind: str = "licence") -> str:
        resp = await self.client.post(f"/v1/documents?kind={kind}", data=content,
                                      headers=auth(key, **{"Content-Type": ctype}))
        assert resp.status == 201, await resp.text()
        return (await resp.json())["id"]

    async def filing(self, key: str) -> dict[str, Any]:
        ids = [await self.upload(key, kind=k) for k in ("licence", "commitment_letter", "application_letter")]
        id_image = await self.upload(key, PNG, "image/png", "id_image")
        return {
            "enterprise_name": "示例科技有限公司", "licence_code": USCC, "legal_person": "赵六",
            "legal_person_id_document": id_image, "unit_phone": "010-12345678", "scenario": "reminders",
            "script": "张三给你发来一条消息", "handler_name": "钱七", "handler_mobile": "13912345678",
            "handler_address": "北京市海淀区", "licence_document": ids[0], "commitment_letter_document": ids[1],
            "application_letter_document": ids[2], "id_images": [id_image],
        }

    async def put(self, key: str, step: str, data: dict[str, Any]) -> Any:
        return await self.client.put(f"/v1/onboarding/{step}", json=data, headers=auth(key))

    async def submit(self, key: str, step: str) -> Any:
        return await self.client.post(f"/v1/onboarding/{step}/submit", headers=auth(key))

    async def decide(self, tenant_id: str, step: str, verdict: str = "approve", reason: str | None = None) -> Any:
        kw: dict[str, Any] = {"json": {"reason": reason}} if reason is not None else {}
        return await self.client.post(f"/v1/tenants/{tenant_id}/onboarding/{step}/{verdict}", headers=auth(self.op), **kw)

    async def load_pool(self, numbers: list[tuple[str, str]] = POOL) -> None:
        resp = await self.client.post("/v1/pool/numbers", json={"numbers": [{"number": n, "city": c} for n, c in numbers]},
                                      headers=auth(self.op))
        assert resp.status == 201, await resp.text()

    async def step_done(self, key: str, tenant_id: str, step: str, data: dict[str, Any]) -> dict[str, Any]:
        for resp in (await self.put(key, step, data), await self.submit(key, step), await self.decide(tenant_id, step)):
            assert resp.status == 200, await resp.text()
        return await resp.json()

    async def onboard(self, key: str, tenant_id: str, **order_over: Any) -> list[str]:
        """All three steps approved; returns the numbers issued."""
        await self.step_done(key, tenant_id, "activation", activation())
        await self.step_done(key, tenant_id, "filing", await self.filing(key))
        approved = await self.step_done(key, tenant_id, "number_order", order(**order_over))
        return [n["e164"] for n in approved["numbers"]]


@pytest.fixture
async def flow(service: Any) -> Flow:
    from voicebridge.api.keys import SERVICES
    from voicebridge.tenancy import operator_key

    services = service.server.app[SERVICES]
    return Flow(service, await operator_key(services.store, services.secret))
