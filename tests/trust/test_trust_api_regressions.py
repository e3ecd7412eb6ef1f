"""The 5xx and contract bugs the fuzzing found in the API handlers, one request each."""

from __future__ import annotations

from typing import Any

import pytest

from voicebridge.api.keys import SERVICES
from voicebridge.tenancy import operator_key


def auth(key: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **extra}


@pytest.mark.parametrize("ctype, body", [
    ("multipart/form-data", b""),  # no boundary
    ("multipart/form-data; boundary=b", b"--b\r\nk--b--\r\n"),  # a part header that is no header
])
async def test_malformed_multipart_upload_is_400(service: Any, sandbox: Any, ctype: str, body: bytes) -> None:
    resp = await service.post("/v1/documents", data=body, headers=auth(sandbox.api_key, **{"Content-Type": ctype}))
    assert resp.status == 400 and resp.content_type == "application/problem+json", await resp.text()


async def test_redeliver_id_beyond_64_bits_is_404(service: Any, sandbox: Any) -> None:
    resp = await service.post(f"/v1/webhooks/deliveries/{10**20}/redeliver", headers=auth(sandbox.api_key))
    assert resp.status == 404


async def test_audit_before_beyond_64_bits_is_422(service: Any) -> None:
    services = service.server.app[SERVICES]
    op = await operator_key(services.store, services.secret)
    resp = await service.get(f"/v1/audit?before={10**20}", headers=auth(op))
    assert resp.status == 422, await resp.text()


@pytest.mark.parametrize("url", [
    "/v1/usage?from=0001-01-01&to=0001-01-05",
    "/v1/usage?from=9999-12-01&to=9999-12-31",
    "/v1/usage?from=9990-01&to=9999-12&granularity=month",
    "/v1/statements/9999-12",
    "/v1/statements/0001-01",
])
async def test_finance_dates_at_the_ends_of_the_calendar_are_422(service: Any, sandbox: Any, url: str) -> None:
    resp = await service.get(url, headers=auth(sandbox.api_key))
    assert resp.status == 422 and resp.content_type == "application/problem+json", await resp.text()


async def test_problem_status_stays_the_http_status(service: Any, sandbox: Any) -> None:
    # a number-status conflict carries the number's status; the problem's "status" stays 409
    number = sandbox.number
    assert (await service.post(f"/v1/numbers/{number}/release", headers=auth(sandbox.api_key))).status == 200
    resp = await service.post(f"/v1/numbers/{number}/pause", headers=auth(sandbox.api_key))
    assert resp.status == 409
    assert (await resp.json())["status"] == 409
