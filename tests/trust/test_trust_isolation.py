"""Tenant isolation (issue 7 item 2): walk every route of the OpenAPI document with a
second tenant's key and the first tenant's ids.

Tenant A gets real data through the API (a reminder dialled through the SIP
simulator to its end, so calls, CDRs, charges and webhook deliveries exist; a
webhook; a document; an onboarding draft; a second key). Tenant B, with its own
data, then calls every tenant route with A's ids: each answers 404 (never 403,
never 200 with A's data, never 5xx), and every list, search, export, statement
and balance that B reads carries none of A's ids, numbers or text. Operator-only
routes answer 403 to a tenant key, the same for A's id as for an unknown one.

The route tables below must name exactly the (method, path) pairs of the served
OpenAPI document: a new route fails this test until it is added here.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Awaitable, Callable
from urllib.parse import quote

import pytest

from voicebridge.api.keys import SERVICES
from voicebridge.tenancy import new_tenant, operator_key

PROBLEM = "application/problem+json"
STEPS = ("activation", "filing", "number_order")
FAR_PAST, FAR_FUTURE = "2000-01-01T00:00:00+00:00", "2100-01-01T00:00:00+00:00"
PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"

# Callees: A's alone (markers B must never see) and one both tenants call for the
# same message id (B's call must be dialled, not reported duplicate of A's).
A_PHONES = ("13800138000", "13800138005", "13800138009")
SHARED_PHONE = "13700137001"
B_PHONES = ("13900139000",)
MESSAGE_ID = "m-shared-1"  # same chat message id in both tenants


@pytest.fixture
def settings(make_settings: Any) -> Any:
    # one key makes ~150 requests here: lift the per-key request limit
    return make_settings(limits={"requests_per_second": 10_000.0, "request_burst": 10_000.0})


def auth(key: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **extra}


@dataclass
class Side:
    """One tenant as the walk sees it."""

    tenant_id: str
    key: str
    number: str
    rid: str = ""
    call_ids: list[str] = field(default_factory=list)
    cdr_ids: set[int] = field(default_factory=set)
    sessions: list[str] = field(default_factory=list)
    hook_id: str = ""
    hook_url: str = ""
    delivery_ids: list[int] = field(default_factory=list)
    event_ids: list[str] = field(default_factory=list)
    doc_id: str = ""
    doc_sha: str = ""
    key2_id: str = ""
    key2_prefix: str = ""
    key2: str = ""
    marker: str = ""


class Walk:
    def __init__(self, client: Any, op: str, a: Side, b: Side) -> None:
        self.client, self.op, self.a, self.b = client, op, a, b
        self.failures: list[str] = []
        self.requests = 0

    # -- plumbing -------------------------------------------------------------

    async def call(self, method: str, url: str, key: str | None, **kw: Any) -> tuple[int, str, str]:
        headers = dict(kw.pop("headers", {}))
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        resp = await self.client.request(method, url, headers=headers, **kw)
        text = await resp.text(errors="replace")
        self.requests += 1
        if resp.status >= 500:
            self.fail(f"{method} {url}: {resp.status} {text[:300]}")
        return resp.status, resp.content_type, text

    def fail(self, msg: str) -> None:
        self.failures.append(msg)

    def markers(self) -> list[str]:
        """Strings of A's that no response to B may contain."""
        a = self.a
        out = [a.tenant_id, a.key, a.number, a.rid, *a.call_ids, *a.sessions, a.hook_id, a.hook_url,
               *a.event_ids, a.doc_id, a.key2_id, a.key2_prefix, a.key2, a.marker]
        out += [f"+86{p}" for p in A_PHONES]
        return [m for m in out if m]

    def no_leak(self, where: str, text: str) -> None:
        for m in self.markers():
            if m in text:
                self.fail(f"{where}: tenant B's response carries tenant A's {m!r}")

    async def b_not_found(self, method: str, url: str, **kw: Any) -> None:
        status, ctype, text = await self.call(method, url, self.b.key, **kw)
        if status != 404 or ctype != PROBLEM:
            self.fail(f"{method} {url} with B's key: expected 404 problem+json, got {status} {ctype} {text[:200]}")
        self.no_leak(f"{method} {url}", text)

    async def b_ok(self, method: str, url: str, *codes: int, **kw: Any) -> str:
        status, _, text = await self.call(method, url, self.b.key, **kw)
        if status not in (codes or (200,)):
            self.fail(f"{method} {url} with B's key: expected {codes or (200,)}, got {status} {text[:200]}")
        self.no_leak(f"{method} {url}", text)
        return text

    async def a_json(self, method: str, url: str, status: int = 200, **kw: Any) -> Any:
        got, _, text = await self.call(method, url, self.a.key, **kw)
        assert got == status, f"A's own {method} {url}: {got} {text[:300]}"
        return json.loads(text) if text else None


# -- the tables --------------------------------------------------------------------

PUBLIC = {("get", "/healthz"), ("get", "/readyz"), ("get", "/v1/openapi.json"), ("get", "/metrics"),
          ("get", "/console"), ("get", "/console/app.js"), ("get", "/console/style.css")}
# /metrics labels the ledger balance gauge with tenant ids (issue 7 item 8): it shows
# those and nothing else of a tenant's; keep it off the public network.
PUBLIC_MAY_SHOW = {"/metrics": "tenant_id"}

UrlFn = Callable[[Walk], str]
OPERATOR: dict[tuple[str, str], tuple[UrlFn, dict[str, Any]]] = {
    ("post", "/v1/tenants"): (lambda w: "/v1/tenants", {"json": {"name": "Evil", "sandbox": True}}),
    ("get", "/v1/tenants/{id}"): (lambda w: f"/v1/tenants/{w.a.tenant_id}", {}),
    ("patch", "/v1/tenants/{id}"): (lambda w: f"/v1/tenants/{w.a.tenant_id}", {"json": {"level": "V5"}}),
    ("post", "/v1/tenants/{id}/topups"): (lambda w: f"/v1/tenants/{w.a.tenant_id}/topups",
                                          {"json": {"amount_fen": 100, "reference": "evil"}}),
    ("get", "/v1/onboarding/queue"): (lambda w: "/v1/onboarding/queue", {}),
    ("get", "/v1/tenants/{id}/onboarding"): (lambda w: f"/v1/tenants/{w.a.tenant_id}/onboarding", {}),
    ("post", "/v1/tenants/{id}/onboarding/{step}/approve"): (
        lambda w: f"/v1/tenants/{w.a.tenant_id}/onboarding/number_order/approve", {}),
    ("post", "/v1/tenants/{id}/onboarding/{step}/reject"): (
        lambda w: f"/v1/tenants/{w.a.tenant_id}/onboarding/number_order/reject", {"json": {"reason": "no"}}),
    ("get", "/v1/tenants/{id}/documents"): (lambda w: f"/v1/tenants/{w.a.tenant_id}/documents", {}),
    ("get", "/v1/tenants/{id}/documents/{doc}/content"): (
        lambda w: f"/v1/tenants/{w.a.tenant_id}/documents/{w.a.doc_id}/content", {}),
    ("post", "/v1/pool/numbers"): (lambda w: "/v1/pool/numbers",
                                   {"json": {"numbers": [{"number": "010 5888 7777", "city": "Beijing"}]}}),
    ("get", "/v1/pool/numbers"): (lambda w: "/v1/pool/numbers", {}),
    ("get", "/v1/audit"): (lambda w: f"/v1/audit?tenant_id={w.a.tenant_id}", {}),
}

Check = Callable[[Walk], Awaitable[None]]
TENANT: dict[tuple[str, str], tuple[UrlFn, Check]] = {}


def tenant_route(method: str, path: str, url: UrlFn) -> Callable[[Check], Check]:
    def deco(fn: Check) -> Check:
        TENANT[(method, path)] = (url, fn)
        return fn
    return deco


def cdr_range(w: Walk) -> str:
    return f"from={quote(FAR_PAST)}&to={quote(FAR_FUTURE)}"


# reminders

@tenant_route("post", "/v1/reminders", lambda w: "/v1/reminders")
async def _post_reminder(w: Walk) -> None:
    # A's Idempotency-Key and message id, another body: B's own new reminder, not A's answer and not 409
    text = await w.b_ok("POST", "/v1/reminders", 202, json=reminder_body("b-again", [("ub9", "13900139001")]),
                        headers={"Idempotency-Key": "idem-True"})  # A's key
    data = json.loads(text)
    if data.get("id") == w.a.rid:
        w.fail("B's POST /v1/reminders with A's Idempotency-Key returned A's reminder")
        return
    extra = Side(w.b.tenant_id, w.b.key, w.b.number, rid=data["id"])
    await wait_done(w, extra)
    rows = await w.client.server.app[SERVICES].store.fetchall(
        "SELECT id FROM cdrs WHERE tenant_id = ?", (w.b.tenant_id,))
    w.b.cdr_ids = {r["id"] for r in rows}


@tenant_route("get", "/v1/reminders", lambda w: "/v1/reminders")
async def _list_reminders(w: Walk) -> None:
    for q in ("", "?limit=200", f"?message_id={MESSAGE_ID}", "?group_id=g-shared", "?status=completed",
              f"?before={w.a.rid}", f"?before={w.a.rid}&limit=1"):
        data = json.loads(await w.b_ok("GET", "/v1/reminders" + q))
        if any(r["id"] == w.a.rid for r in data["reminders"]):
            w.fail(f"B's reminder list{q} holds A's reminder")
    if not json.loads(await w.b_ok("GET", "/v1/reminders"))["reminders"]:
        w.fail("B sees no reminders of its own: the walk would prove nothing")


@tenant_route("get", "/v1/reminders/{id}", lambda w: f"/v1/reminders/{w.a.rid}")
async def _get_reminder(w: Walk) -> None:
    await w.b_not_found("GET", f"/v1/reminders/{w.a.rid}")
    await w.b_not_found("GET", f"/v1/reminders/{w.a.call_ids[0]}")  # a call id is no reminder id either
    await w.a_json("GET", f"/v1/reminders/{w.a.rid}")  # control: the id is real


@tenant_route("post", "/v1/reminders/{id}/cancel", lambda w: f"/v1/reminders/{w.a.rid}/cancel")
async def _cancel_reminder(w: Walk) -> None:
    before = await w.a_json("GET", f"/v1/reminders/{w.a.rid}")
    await w.b_not_found("POST", f"/v1/reminders/{w.a.rid}/cancel")
    after = await w.a_json("GET", f"/v1/reminders/{w.a.rid}")
    if before["status"] != after["status"] or before["summary"] != after["summary"]:
        w.fail("B's cancel changed A's reminder")


# balance, finance, CDRs

@tenant_route("get", "/v1/balance", lambda w: "/v1/balance")
async def _balance(w: Walk) -> None:
    data = json.loads(await w.b_ok("GET", "/v1/balance"))
    if data.get("tenant_id") != w.b.tenant_id:
        w.fail(f"B's balance names tenant {data.get('tenant_id')}")
    store = w.client.server.app[SERVICES].store
    from voicebridge.store import ledger

    if data.get("balance_fen") != await ledger.balance(store, w.b.tenant_id):
        w.fail(f"B's balance {data.get('balance_fen')} is not B's ledger balance")


@tenant_route("get", "/v1/cdrs", lambda w: f"/v1/cdrs?{cdr_range(w)}")
async def _cdrs(w: Walk) -> None:
    base = f"/v1/cdrs?{cdr_range(w)}"
    page = json.loads(await w.b_ok("GET", base + "&limit=1000"))
    ids = {c["id"] for c in page["cdrs"]}
    if not ids:
        w.fail("B sees no CDRs of its own: the walk would prove nothing")
    if ids & w.a.cdr_ids:
        w.fail(f"B's CDR list holds A's CDR ids {sorted(ids & w.a.cdr_ids)}")
    if ids != w.b.cdr_ids:
        w.fail(f"B's CDR list {sorted(ids)} is not B's CDRs {sorted(w.b.cdr_ids)}")
    # every filter with A's values finds nothing
    for name, value in (("reminder_id", w.a.rid), ("session_id", w.a.sessions[0]), ("caller", w.a.number),
                        ("callee", f"+86{A_PHONES[0]}"), ("callee", "+86138*")):
        data = json.loads(await w.b_ok("GET", f"{base}&{name}={quote(value)}"))
        if data["cdrs"]:
            w.fail(f"B's CDR search {name}={value} found {[c['id'] for c in data['cdrs']]}")
    # paging walks B's rows only, and a cursor does not reach into A's rows
    text = await w.b_ok("GET", base + "&limit=1")
    cursor = json.loads(text)["next_cursor"]
    seen = set()
    while cursor:
        data = json.loads(await w.b_ok("GET", f"{base}&limit=1&cursor={quote(cursor)}"))
        seen |= {c["id"] for c in data["cdrs"]}
        cursor = data["next_cursor"]
    if seen & w.a.cdr_ids:
        w.fail("B's CDR pages reach A's CDRs")
    from voicebridge.cdr.query import encode_cursor

    a_row = await w.client.server.app[SERVICES].store.fetchone(
        "SELECT start_at, id FROM cdrs WHERE tenant_id = ? ORDER BY id DESC LIMIT 1", (w.a.tenant_id,))
    forged = encode_cursor(a_row["start_at"], a_row["id"])  # a cursor made from A's newest CDR
    data = json.loads(await w.b_ok("GET", f"{base}&cursor={quote(forged)}"))
    if {c["id"] for c in data["cdrs"]} & w.a.cdr_ids:
        w.fail("a cursor built from A's CDR lets B read A's CDRs")
    for csv_url, headers in ((base + "&format=csv&bom=1", {}), (base, {"Accept": "text/csv"}),
                             (f"{base}&format=csv&reminder_id={w.a.rid}", {})):
        text = await w.b_ok("GET", csv_url, headers=headers)
        if len(text.strip().splitlines()) - 1 > len(w.b.cdr_ids):
            w.fail(f"B's CSV export {csv_url} has more rows than B has CDRs")


@tenant_route("get", "/v1/usage", lambda w: "/v1/usage?from=2020-01&to=2030-01&granularity=month")
async def _usage(w: Walk) -> None:
    today = datetime.now(timezone.utc).date()
    day = f"/v1/usage?from={today - timedelta(days=2)}&to={today + timedelta(days=2)}"
    for url in (day, day + "&format=csv", "/v1/usage?from=2020-01&to=2030-01&granularity=month"):
        text = await w.b_ok("GET", url)
        if "format=csv" not in url:
            total = json.loads(text)["total"]
            if total["calls"] != len(w.b.cdr_ids):
                w.fail(f"B's usage {url} counts {total['calls']} calls, B made {len(w.b.cdr_ids)}")


@tenant_route("get", "/v1/statements/{month}", lambda w: f"/v1/statements/{this_month()}")
async def _statement(w: Walk) -> None:
    url = f"/v1/statements/{this_month()}"
    data = json.loads(await w.b_ok("GET", url))
    await w.b_ok("GET", url + "?format=csv")
    balance = json.loads(await w.b_ok("GET", "/v1/balance"))["balance_fen"]
    if data.get("closing_balance_fen") != balance:
        w.fail(f"B's statement closes at {data.get('closing_balance_fen')}, B's balance is {balance}")


# numbers

@tenant_route("get", "/v1/numbers", lambda w: "/v1/numbers")
async def _numbers(w: Walk) -> None:
    for q in ("", "?format=national", "?status=in_use", "?status=released", "?app_name=call_notify"):
        data = json.loads(await w.b_ok("GET", "/v1/numbers" + q))
        if any(n["e164"] != w.b.number for n in data["numbers"]):
            w.fail(f"B's number list{q} holds {[n['e164'] for n in data['numbers']]}")


def _number_action(action: str) -> Check:
    async def check(w: Walk) -> None:
        from voicebridge.numbers.e164 import national

        for spelled in (w.a.number, national(w.a.number), w.a.number.replace("+86", "0")):
            await w.b_not_found("POST", f"/v1/numbers/{quote(spelled, safe='')}/{action}")
        mine = (await w.a_json("GET", "/v1/numbers"))["numbers"]
        if [n["status"] for n in mine if n["e164"] == w.a.number] != ["in_use"]:
            w.fail(f"B's {action} of A's number changed it: {mine}")
    return check


for _action in ("pause", "resume", "release"):
    tenant_route("post", f"/v1/numbers/{{number}}/{_action}",
                 lambda w, _a=_action: f"/v1/numbers/{quote(w.a.number)}/{_a}")(_number_action(_action))


# webhooks

@tenant_route("post", "/v1/webhooks", lambda w: "/v1/webhooks")
async def _post_hook(w: Walk) -> None:
    # the same URL as A's is B's own subscription, with B's own secret
    data = json.loads(await w.b_ok("POST", "/v1/webhooks", 201, json={"url": "http://127.0.0.1:9/b-two"}))
    store = w.client.server.app[SERVICES].store
    a_secret = (await store.fetchone("SELECT webhook_secret FROM tenants WHERE id = ?", (w.a.tenant_id,)))
    if data.get("signing_secret") == a_secret["webhook_secret"]:
        w.fail("B's webhook got A's signing secret")
    await w.call("DELETE", f"/v1/webhooks/{data['id']}", w.b.key)


@tenant_route("get", "/v1/webhooks", lambda w: "/v1/webhooks")
async def _list_hooks(w: Walk) -> None:
    data = json.loads(await w.b_ok("GET", "/v1/webhooks"))
    if [h["id"] for h in data["webhooks"]] != [w.b.hook_id]:
        w.fail(f"B's webhook list: {data}")


@tenant_route("delete", "/v1/webhooks/{id}", lambda w: f"/v1/webhooks/{w.a.hook_id}")
async def _delete_hook(w: Walk) -> None:
    await w.b_not_found("DELETE", f"/v1/webhooks/{w.a.hook_id}")
    hooks = (await w.a_json("GET", "/v1/webhooks"))["webhooks"]
    if w.a.hook_id not in [h["id"] for h in hooks]:
        w.fail("B's DELETE removed A's webhook")


@tenant_route("post", "/v1/webhooks/secret", lambda w: "/v1/webhooks/secret")
async def _rotate_secret(w: Walk) -> None:
    store = w.client.server.app[SERVICES].store
    sql = "SELECT webhook_secret FROM tenants WHERE id = ?"
    before = (await store.fetchone(sql, (w.a.tenant_id,)))["webhook_secret"]
    await w.b_ok("POST", "/v1/webhooks/secret", 201)
    if (await store.fetchone(sql, (w.a.tenant_id,)))["webhook_secret"] != before:
        w.fail("B's secret rotation changed A's secret")


@tenant_route("get", "/v1/webhooks/deliveries", lambda w: "/v1/webhooks/deliveries")
async def _deliveries(w: Walk) -> None:
    for q in ("", "?limit=500", "?state=pending", "?state=dead", "?state=delivered"):
        data = json.loads(await w.b_ok("GET", "/v1/webhooks/deliveries" + q))
        ids = {d["id"] for d in data["deliveries"]}
        if ids & set(w.a.delivery_ids):
            w.fail(f"B's deliveries{q} hold A's {sorted(ids & set(w.a.delivery_ids))}")
    if not json.loads(await w.b_ok("GET", "/v1/webhooks/deliveries"))["deliveries"]:
        w.fail("B sees no deliveries of its own: the walk would prove nothing")


@tenant_route("post", "/v1/webhooks/deliveries/{id}/redeliver",
              lambda w: f"/v1/webhooks/deliveries/{w.a.delivery_ids[0]}/redeliver")
async def _redeliver(w: Walk) -> None:
    for d in w.a.delivery_ids[:3]:
        await w.b_not_found("POST", f"/v1/webhooks/deliveries/{d}/redeliver")
    await w.a_json("POST", f"/v1/webhooks/deliveries/{w.a.delivery_ids[0]}/redeliver", 202)  # control


# documents

@tenant_route("post", "/v1/documents", lambda w: "/v1/documents")
async def _upload(w: Walk) -> None:
    # the very bytes A uploaded: B's own document, B's own id
    content = a_pdf(w.a.marker)
    data = json.loads(await w.b_ok("POST", "/v1/documents?kind=licence", 201, data=content,
                                   headers={"Content-Type": "application/pdf"}))
    if data["id"] == w.a.doc_id:
        w.fail("B's upload of the same bytes returned A's document id")
    w.b.doc_id = data["id"]


@tenant_route("get", "/v1/documents", lambda w: "/v1/documents")
async def _list_docs(w: Walk) -> None:
    data = json.loads(await w.b_ok("GET", "/v1/documents"))
    ids = [d["id"] for d in data["documents"]]
    if w.a.doc_id in ids:
        w.fail("B's document list holds A's document")


@tenant_route("get", "/v1/documents/{id}", lambda w: f"/v1/documents/{w.a.doc_id}")
async def _doc(w: Walk) -> None:
    await w.b_not_found("GET", f"/v1/documents/{w.a.doc_id}")
    await w.a_json("GET", f"/v1/documents/{w.a.doc_id}")  # control


@tenant_route("get", "/v1/documents/{id}/content", lambda w: f"/v1/documents/{w.a.doc_id}/content")
async def _doc_content(w: Walk) -> None:
    await w.b_not_found("GET", f"/v1/documents/{w.a.doc_id}/content")
    status, _, _ = await w.call("GET", f"/v1/documents/{w.a.doc_id}/content", w.a.key)
    assert status == 200


# onboarding

@tenant_route("get", "/v1/onboarding", lambda w: "/v1/onboarding")
async def _onboarding(w: Walk) -> None:
    await w.b_ok("GET", "/v1/onboarding")


@tenant_route("get", "/v1/onboarding/history", lambda w: "/v1/onboarding/history")
async def _history(w: Walk) -> None:
    for q in ("", *(f"?step={s}" for s in STEPS)):
        await w.b_ok("GET", "/v1/onboarding/history" + q)


@tenant_route("get", "/v1/onboarding/{step}", lambda w: "/v1/onboarding/number_order")
async def _get_step(w: Walk) -> None:
    for s in STEPS:
        await w.b_ok("GET", f"/v1/onboarding/{s}")


@tenant_route("put", "/v1/onboarding/{step}", lambda w: "/v1/onboarding/number_order")
async def _put_step(w: Walk) -> None:
    # A's document ids in B's filing: "not one of your documents", not accepted
    for name in ("licence_document", "commitment_letter_document"):
        status, _, text = await w.call("PUT", "/v1/onboarding/filing", w.b.key, json={name: w.a.doc_id})
        if status != 422 or "unknown_document" not in text:
            w.fail(f"B's filing draft with A's document id: {status} {text[:200]}")
        w.no_leak("PUT /v1/onboarding/filing", text)
    # B's own further number order leaves A's draft alone
    await w.b_ok("PUT", "/v1/onboarding/number_order", json=number_order("B公司"))
    step = await w.a_json("GET", "/v1/onboarding/number_order")
    if step["data"].get("enterprise_name") != w.a.marker or step["state"] != "draft":
        w.fail(f"B's draft changed A's: {step}")


@tenant_route("post", "/v1/onboarding/{step}/submit", lambda w: "/v1/onboarding/number_order/submit")
async def _submit(w: Walk) -> None:
    await w.b_ok("POST", "/v1/onboarding/number_order/submit")
    step = await w.a_json("GET", "/v1/onboarding/number_order")
    if step["state"] != "draft":
        w.fail(f"B's submit changed A's step: {step['state']}")


# keys

@tenant_route("post", "/v1/keys", lambda w: "/v1/keys")
async def _make_key(w: Walk) -> None:
    data = json.loads(await w.b_ok("POST", "/v1/keys", 201, json={"scopes": ["reminders"]}))
    status, _, _ = await w.call("GET", f"/v1/reminders/{w.a.rid}", data["api_key"])
    if status != 404:
        w.fail(f"B's new key reads A's reminder: {status}")


@tenant_route("get", "/v1/keys", lambda w: "/v1/keys")
async def _list_keys(w: Walk) -> None:
    await w.b_ok("GET", "/v1/keys")
    data = json.loads(await w.b_ok("GET", f"/v1/keys?prefix={quote(w.a.key2_prefix)}"))
    if data["keys"]:
        w.fail(f"B's key search by A's prefix found {data['keys']}")


@tenant_route("post", "/v1/keys/{id}/rotate", lambda w: f"/v1/keys/{w.a.key2_id}/rotate")
async def _rotate_key(w: Walk) -> None:
    await w.b_not_found("POST", f"/v1/keys/{w.a.key2_id}/rotate")
    status, _, _ = await w.call("GET", f"/v1/reminders/{w.a.rid}", w.a.key2)
    if status != 200:
        w.fail(f"A's key stopped working after B's rotate: {status}")


@tenant_route("delete", "/v1/keys/{id}", lambda w: f"/v1/keys/{w.a.key2_id}")
async def _revoke_key(w: Walk) -> None:
    await w.b_not_found("DELETE", f"/v1/keys/{w.a.key2_id}")
    status, _, _ = await w.call("GET", f"/v1/reminders/{w.a.rid}", w.a.key2)
    if status != 200:
        w.fail(f"A's key stopped working after B's revoke: {status}")


# -- data ------------------------------------------------------------------------------


def this_month() -> str:
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")


def reminder_body(text: str, recipients: list[tuple[str, str]]) -> dict[str, Any]:
    return {"group_id": "g-shared", "message_id": MESSAGE_ID, "sender": {"user_id": "s", "name": "张三"},
            "text": text, "recipients": [{"user_id": u, "phone": p} for u, p in recipients]}


def number_order(name: str) -> dict[str, Any]:
    return {"enterprise_name": name, "app_name": "call_notify", "number_type": "fixed_line", "city": "北京",
            "quantity": 1}


def a_pdf(marker: str) -> bytes:
    return PDF.replace(b"<< >> endobj", f"<< /Title ({marker.encode().hex()}) >> endobj".encode(), 1)


async def wait_done(w: Walk, side: Side, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status, _, text = await w.call("GET", f"/v1/reminders/{side.rid}", side.key)
        view = json.loads(text)
        if view["status"] != "active":
            return view
        assert time.monotonic() < deadline, f"reminder still active: {view}"
        await asyncio.sleep(0.2)


async def prepare(client: Any) -> Walk:
    services = client.server.app[SERVICES]
    store = services.store
    op = await operator_key(store, services.secret)
    made_a = await new_tenant(store, services.secret, "Tenant A", sandbox=True)
    made_b = await new_tenant(store, services.secret, "Tenant B", sandbox=True)
    assert made_a.number and made_b.number and made_a.number != made_b.number
    a = Side(made_a.tenant["id"], made_a.api_key, made_a.number, marker="A-" + secrets.token_hex(6))
    b = Side(made_b.tenant["id"], made_b.api_key, made_b.number, marker="B-" + secrets.token_hex(6))
    w = Walk(client, op, a, b)
    for side in (a, b):
        side.hook_url = f"http://127.0.0.1:9/hook-{side.marker}"  # nobody listens: deliveries stay pending
        hook = await (await client.post("/v1/webhooks", json={"url": side.hook_url}, headers=auth(side.key))).json()
        side.hook_id = hook["id"]
    # A: a document, a further number order draft, a second key
    resp = await client.post("/v1/documents?kind=licence&filename=a.pdf", data=a_pdf(a.marker),
                             headers=auth(a.key, **{"Content-Type": "application/pdf"}))
    assert resp.status == 201, await resp.text()
    doc = await resp.json()
    a.doc_id, a.doc_sha = doc["id"], doc["sha256"]
    await w.a_json("PUT", "/v1/onboarding/number_order", json=number_order(a.marker))
    key2 = await w.a_json("POST", "/v1/keys", 201, json={"scopes": ["reminders"]})
    a.key2_id, a.key2_prefix, a.key2 = key2["id"], key2["prefix"], key2["api_key"]
    # both tenants dial through the simulator, the same message id, one shared callee
    for side, phones in ((a, A_PHONES), (b, B_PHONES)):
        recips = [(f"u{i}", p) for i, p in enumerate(phones)] + [("u-shared", SHARED_PHONE)]
        resp = await client.post("/v1/reminders", json=reminder_body(f"消息 {side.marker}", recips),
                                 headers=auth(side.key, **{"Idempotency-Key": f"idem-{side is a}"}))
        assert resp.status == 202, await resp.text()
        side.rid = (await resp.json())["id"]
    for side in (a, b):
        view = await wait_done(w, side)
        side.call_ids = [c["id"] for c in view["calls"]]
        shared = [c for c in view["calls"] if c["phone"] == f"+86{SHARED_PHONE}"]
        assert shared and shared[0]["status"] == "completed", f"shared callee in {side.marker}: {shared}"
        rows = await store.fetchall("SELECT id, session_id FROM cdrs WHERE tenant_id = ?", (side.tenant_id,))
        side.cdr_ids = {r["id"] for r in rows}
        side.sessions = [r["session_id"] for r in rows if r["session_id"]]
        assert len(rows) == len(side.call_ids), rows
    for side in (a, b):
        rows = await store.fetchall("SELECT id, event_id FROM outbox WHERE tenant_id = ?", (side.tenant_id,))
        side.delivery_ids = [r["id"] for r in rows]
        side.event_ids = sorted({r["event_id"] for r in rows})
        assert side.delivery_ids, f"no webhook deliveries for {side.marker}"
    return w


def served_operations(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(m, p) for p, ops in doc["paths"].items() for m in ops if m in ("get", "put", "post", "patch", "delete")}


# -- the tests -------------------------------------------------------------------------


async def test_route_tables_cover_the_openapi_document(service: Any) -> None:
    doc = await (await service.get("/v1/openapi.json")).json()
    ops = served_operations(doc)
    public = {(m, p) for p, o in doc["paths"].items() for m, spec in o.items() if spec.get("security") == []}
    assert public == PUBLIC, "routes without security changed: review them for tenant data, then update PUBLIC"
    tables = set(TENANT) | set(OPERATOR)
    assert not set(TENANT) & set(OPERATOR)
    missing, stale = sorted(ops - PUBLIC - tables), sorted(tables - ops)
    assert not missing, f"routes in OpenAPI the isolation walk does not cover: {missing}"
    assert not stale, f"routes in the walk's tables that OpenAPI no longer has: {stale}"


async def test_second_tenant_never_reaches_the_first_tenants_data(service: Any) -> None:
    w = await prepare(service)
    doc = await (await service.get("/v1/openapi.json")).json()
    ops = served_operations(doc)
    a_balance = (await w.a_json("GET", "/v1/balance"))["balance_fen"]

    # public routes: no key needed, and nothing of A's in them
    for method, path in sorted(PUBLIC & ops):
        status, _, text = await w.call(method.upper(), path, None)
        if status != 200:
            w.fail(f"public {method.upper()} {path}: {status}")
        allowed = getattr(w.a, PUBLIC_MAY_SHOW.get(path, ""), None)
        for m in w.markers():
            if m in text and m != allowed:
                w.fail(f"public {method.upper()} {path} carries tenant A's {m!r}")

    # operator-only routes: 403 to a tenant key, the same for A's ids as for unknown ones
    for (method, path), (url_fn, kw) in sorted(OPERATOR.items()):
        if (method, path) not in ops:
            continue
        url = url_fn(w)
        status, ctype, text = await w.call(method.upper(), url, w.b.key, **kw)
        if status != 403 or ctype != PROBLEM:
            w.fail(f"{method.upper()} {url} with a tenant key: expected 403, got {status} {text[:200]}")
        w.no_leak(f"{method.upper()} {url}", text)
        bogus = url.replace(w.a.tenant_id, "tn_unknown").replace(w.a.doc_id, "doc_unknown")
        status2, _, _ = await w.call(method.upper(), bogus, w.b.key, **kw)
        if status2 != status:
            w.fail(f"{method.upper()} {path}: {status} for A's id, {status2} for an unknown one")
        if method == "get":  # control: the operator reaches it
            status, _, text = await w.call("GET", url, w.op)
            if status != 200:
                w.fail(f"operator GET {url}: {status} {text[:200]}")

    # tenant routes: the operator key has no tenant (403, never 5xx); then B's walk
    for (method, path), (url_fn, check) in sorted(TENANT.items()):
        status, _, text = await w.call(method.upper(), url_fn(w), w.op, json={})
        if status != 403:
            w.fail(f"{method.upper()} {url_fn(w)} with the operator key: expected 403, got {status} {text[:200]}")
    for (method, path), (url_fn, check) in TENANT.items():  # in the order written above
        try:
            await check(w)
        except Exception as exc:  # noqa: BLE001 - report every route, not only the first
            w.fail(f"{method.upper()} {path}: the check raised {exc!r}")

    # nothing of A changed, nothing of A's was charged to B or the other way round
    assert (await w.a_json("GET", "/v1/balance"))["balance_fen"] == a_balance
    view = await w.a_json("GET", f"/v1/reminders/{w.a.rid}")
    assert [c["id"] for c in view["calls"]] == w.a.call_ids
    assert not w.failures, f"{len(w.failures)} isolation failures in {w.requests} requests:\n" + "\n".join(w.failures)
    print(f"isolation walk: {len(TENANT)} tenant routes, {len(OPERATOR)} operator routes, {w.requests} requests")
