"""Retries, quiet hours and callee protection: pure rules, then through the service."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timezone
from typing import Any

import pytest

from voicebridge.api.keys import SERVICES
from voicebridge.domain import Cause, Outcome
from voicebridge.reminders.policy import PolicySettings, quiet_until, retry_delay
from voicebridge.store import calls as callstore

UTC = timezone.utc


@pytest.mark.parametrize(
    "utc, expect",
    [
        (datetime(2026, 11, 26, 13, 59, tzinfo=UTC), None),  # 21:59 Shanghai
        (datetime(2026, 11, 26, 14, 0, tzinfo=UTC), datetime(2026, 11, 27, 0, 0, tzinfo=UTC)),  # 22:00 → 08:00
        (datetime(2026, 11, 26, 23, 59, tzinfo=UTC), datetime(2026, 11, 27, 0, 0, tzinfo=UTC)),  # 07:59
        (datetime(2026, 11, 27, 0, 0, tzinfo=UTC), None),  # 08:00 sharp: calls allowed
        (datetime(2026, 11, 26, 17, 30, tzinfo=UTC), datetime(2026, 11, 27, 0, 0, tzinfo=UTC)),  # 01:30
    ],
)
def test_quiet_hours_span_midnight(utc: datetime, expect: datetime | None) -> None:
    assert quiet_until(utc, "Asia/Shanghai", "22:00", "08:00") == expect


def test_quiet_hours_same_day_window_and_off() -> None:
    noon = datetime(2026, 6, 1, 4, 0, tzinfo=UTC)  # 12:00 Shanghai
    assert quiet_until(noon, "Asia/Shanghai", "12:00", "13:30") == datetime(2026, 6, 1, 5, 30, tzinfo=UTC)
    assert quiet_until(noon, "Asia/Shanghai", "00:00", "00:00") is None


def test_retry_rules() -> None:
    p = PolicySettings(retries=2, retry_delays=(300.0, 900.0))
    assert retry_delay(Outcome.BUSY, Cause.USER_BUSY, 1, p) == 300.0
    assert retry_delay(Outcome.NO_ANSWER, Cause.RING_TIMEOUT, 2, p) == 900.0
    assert retry_delay(Outcome.NO_ANSWER, Cause.RING_TIMEOUT, 3, p) is None  # two retries used
    assert retry_delay(Outcome.FAILED, Cause.CARRIER_ERROR, 1, p) == 300.0
    assert retry_delay(Outcome.REJECTED, Cause.CALL_REJECTED, 1, p) is None  # declined: never again
    assert retry_delay(Outcome.INVALID_NUMBER, Cause.UNALLOCATED_NUMBER, 1, p) is None
    assert retry_delay(Outcome.ANSWERED, Cause.PROMPT_FINISHED, 1, p) is None
    assert retry_delay(Outcome.FAILED, Cause.SERVICE_RESTART, 1, p) is None


def test_bad_policy_settings() -> None:
    with pytest.raises(ValueError, match="HH:MM"):
        PolicySettings(quiet_start="25")
    with pytest.raises(ValueError, match="retries"):
        PolicySettings(retries=-1)


def body(message_id: str, phones: list[str], **extra: Any) -> dict[str, Any]:
    return {"group_id": "g", "message_id": message_id, "sender": {"user_id": "s", "name": "张三"}, "text": "测试",
            "recipients": [{"user_id": f"u{i}", "phone": p} for i, p in enumerate(phones)], **extra}


async def post(client: Any, key: str, b: dict[str, Any]) -> dict[str, Any]:
    resp = await client.post("/v1/reminders", json=b, headers={"Authorization": f"Bearer {key}"})
    assert resp.status == 202, await resp.text()
    return await resp.json()


async def settle(client: Any, key: str, rid: str, timeout: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        view = await (await client.get(f"/v1/reminders/{rid}", headers={"Authorization": f"Bearer {key}"})).json()
        if view["status"] != "active":
            return view
        await asyncio.sleep(0.05)
    raise AssertionError(view)


async def start(aiohttp_client: Any, make_settings: Any, **policy: Any) -> tuple[Any, Any]:
    from voicebridge.app import build_app
    from voicebridge.tenancy import new_tenant

    app = build_app(make_settings(policy={"retries": 0, "quiet_start": "00:00", "quiet_end": "00:00", **policy}))
    client = await aiohttp_client(app)
    services = app[SERVICES]
    tenant = await new_tenant(services.store, services.secret, "P", sandbox=True)
    return client, tenant


async def test_busy_is_retried_then_gives_up(aiohttp_client: Any, make_settings: Any) -> None:
    client, t = await start(aiohttp_client, make_settings, retries=2, retry_delays=[0.2, 0.3])
    r = await post(client, t.api_key, body("m1", ["13800138005", "13800138007"]))  # busy, declines
    view = await settle(client, t.api_key, r["id"])
    busy, declined = view["calls"]
    assert busy["status"] == "busy" and busy["attempts"] == 3
    assert declined["status"] == "rejected" and declined["attempts"] == 1  # never retried
    cdrs = await callstore.cdrs_for_reminder(client.server.app[SERVICES].store, r["id"])
    assert sorted((c["callee"], c["attempt"]) for c in cdrs) == [
        ("+8613800138005", 1), ("+8613800138005", 2), ("+8613800138005", 3), ("+8613800138007", 1)]


async def test_quiet_hours_defer_unless_urgent(aiohttp_client: Any, make_settings: Any) -> None:
    client, t = await start(aiohttp_client, make_settings, quiet_start="22:00", quiet_end="08:00")
    dispatcher = client.server.app[SERVICES].dispatcher
    dispatcher.now = lambda: datetime(2026, 11, 26, 15, 0, tzinfo=UTC)  # 23:00 in Shanghai
    r = await post(client, t.api_key, body("m1", ["13800138005"]))
    urgent = await post(client, t.api_key, body("m2", ["13800138007"], urgent=True))
    await settle(client, t.api_key, urgent["id"])
    await asyncio.sleep(0.3)
    view = await (await client.get(f"/v1/reminders/{r['id']}", headers={"Authorization": f"Bearer {t.api_key}"})).json()
    call = view["calls"][0]
    assert call["status"] == "deferred" and call["cause"] == "quiet_hours"
    assert call["next_attempt_at"] == "2026-11-27T00:00:00.000+00:00"
    # morning comes: the deferred call is dialled
    dispatcher.now = lambda: datetime(2026, 11, 27, 0, 0, 1, tzinfo=UTC)
    dispatcher.wake()
    view = await settle(client, t.api_key, r["id"])
    assert view["calls"][0]["status"] == "busy"


@pytest.mark.parametrize("limits, rule", [({"max_calls_24h": 2}, "callee_limit_24h"),
                                          ({"max_calls_24h": 10, "max_calls_30d": 2}, "callee_limit_30d")])
async def test_callee_limit_blocks_and_costs_nothing(aiohttp_client: Any, make_settings: Any, limits: dict,
                                                     rule: str) -> None:
    client, t = await start(aiohttp_client, make_settings, **limits)
    views = []
    for i in range(3):
        r = await post(client, t.api_key, body(f"m{i}", ["13800138005"]))
        views.append(await settle(client, t.api_key, r["id"]))
    assert [v["calls"][0]["status"] for v in views] == ["busy", "busy", "blocked"]
    assert views[2]["calls"][0]["cause"] == rule
    assert views[2]["calls"][0]["attempts"] == 0 and views[2]["calls"][0]["charge_fen"] == 0


async def test_same_message_same_member_is_duplicate(aiohttp_client: Any, make_settings: Any) -> None:
    client, t = await start(aiohttp_client, make_settings)
    first = await post(client, t.api_key, body("m1", ["13800138005"]))
    await settle(client, t.api_key, first["id"])
    again = await post(client, t.api_key, body("m1", ["13800138005", "13800138007"]))
    assert [c["status"] for c in again["calls"]] == ["duplicate", "queued"]
    view = await settle(client, t.api_key, again["id"])
    assert [c["status"] for c in view["calls"]] == ["duplicate", "rejected"]


async def test_operator_sets_a_tenants_policy(aiohttp_client: Any, make_settings: Any) -> None:
    from voicebridge.tenancy import operator_key

    client, t = await start(aiohttp_client, make_settings)
    services = client.server.app[SERVICES]
    op = {"Authorization": f"Bearer {await operator_key(services.store, services.secret)}"}
    bad = await client.patch(f"/v1/tenants/{t.tenant['id']}", headers=op,
                             json={"policy": {"retries": -1, "quiet_start": "25:00", "nope": 1}})
    assert bad.status == 422
    assert {e["field"] for e in (await bad.json())["errors"]} == {"policy/nope"}
    bad = await client.patch(f"/v1/tenants/{t.tenant['id']}", headers=op, json={"policy": {"quiet_start": "25:00"}})
    assert bad.status == 422 and "HH:MM" in (await bad.json())["errors"][0]["message"]
    resp = await client.patch(f"/v1/tenants/{t.tenant['id']}", headers=op,
                              json={"policy": {"retries": 1, "retry_delays": [0.2]}})
    assert resp.status == 200 and (await resp.json())["policy"] == {"retries": 1, "retry_delays": [0.2]}
    r = await post(client, t.api_key, body("m1", ["13800138005"]))  # busy: now retried once for this tenant
    view = await settle(client, t.api_key, r["id"])
    assert view["calls"][0]["attempts"] == 2
