"""Onboarding documents: stored by content hash, limited in size and type, private to their tenant."""

from __future__ import annotations

import hashlib
import io
from typing import Any

import aiohttp
import pytest

from voicebridge.api.keys import SERVICES
from voicebridge.onboarding.documents import MAX_BYTES


async def test_raw_upload_is_stored_by_hash_and_served_back(flow: Any) -> None:
    c, a = flow.client, flow.auth
    _, key = await flow.tenant()
    resp = await c.post("/v1/documents?kind=licence&filename=licence.pdf", data=flow.PDF,
                        headers=a(key, **{"Content-Type": "application/pdf"}))
    assert resp.status == 201, await resp.text()
    doc = await resp.json()
    digest = hashlib.sha256(flow.PDF).hexdigest()
    assert (doc["kind"], doc["size"], doc["sha256"], doc["content_type"], doc["filename"]) == (
        "licence", len(flow.PDF), digest, "application/pdf", "licence.pdf")
    assert resp.headers["Location"] == f"/v1/documents/{doc['id']}"
    data_dir = c.server.app[SERVICES].settings.data_dir
    assert (data_dir / "documents" / digest).read_bytes() == flow.PDF

    meta = await c.get(f"/v1/documents/{doc['id']}", headers=a(key))
    assert meta.status == 200 and (await meta.json()) == doc
    got = await c.get(f"/v1/documents/{doc['id']}/content", headers=a(key))
    assert got.status == 200 and await got.read() == flow.PDF
    assert got.headers["Content-Type"] == "application/pdf"
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    assert "licence.pdf" in got.headers["Content-Disposition"]
    listed = await (await c.get("/v1/documents", headers=a(key))).json()
    assert [d["id"] for d in listed["documents"]] == [doc["id"]]


async def test_multipart_upload_and_one_file_per_content(flow: Any) -> None:
    c, a = flow.client, flow.auth
    _, key = await flow.tenant()
    ids = []
    for _ in range(2):
        form = aiohttp.FormData()
        form.add_field("kind", "id_image")
        form.add_field("file", flow.PNG, filename="证件.png", content_type="image/png")
        resp = await c.post("/v1/documents", data=form, headers=a(key))
        assert resp.status == 201, await resp.text()
        doc = await resp.json()
        assert (doc["kind"], doc["filename"], doc["content_type"]) == ("id_image", "证件.png", "image/png")
        ids.append(doc["id"])
    assert ids[0] != ids[1]
    data_dir = c.server.app[SERVICES].settings.data_dir
    assert [p.name for p in (data_dir / "documents").iterdir()] == [hashlib.sha256(flow.PNG).hexdigest()]
    jpeg = await flow.upload(key, flow.JPEG, "image/jpeg", "id_image")
    assert (await (await c.get(f"/v1/documents/{jpeg}/content", headers=a(key))).read()) == flow.JPEG


@pytest.mark.parametrize("content, ctype, query, status, field", [
    (b"%PDF-" + b"x" * MAX_BYTES, "application/pdf", "", 413, "file"),
    (b"hello", "text/plain", "", 415, "Content-Type"),
    (b"<svg/>", "image/svg+xml", "", 415, "Content-Type"),
    (b"\x89PNG\r\n\x1a\n....", "application/pdf", "", 422, "file"),
    (b"%PDF-1.4", "image/jpeg", "", 422, "file"),
    (b"", "application/pdf", "", 422, "file"),
    (b"%PDF-1.4", "application/pdf", "?kind=selfie", 422, "kind"),
], ids=["too-large", "text", "svg", "png-as-pdf", "pdf-as-jpeg", "empty", "bad-kind"])
async def test_limits(flow: Any, content: bytes, ctype: str, query: str, status: int, field: str) -> None:
    _, key = await flow.tenant()
    body = io.BytesIO(content) if len(content) > 1024 * 1024 else content
    resp = await flow.client.post(f"/v1/documents{query}", data=body, headers=flow.auth(key, **{"Content-Type": ctype}))
    assert resp.status == status, await resp.text()
    assert resp.content_type == "application/problem+json"
    assert [e["field"] for e in (await resp.json())["errors"]] == [field]
    services = flow.client.server.app[SERVICES]
    assert (await services.store.fetchone("SELECT COUNT(*) AS n FROM documents"))["n"] == 0
    assert not (services.settings.data_dir / "documents").exists()


async def test_multipart_limits(flow: Any) -> None:
    c, a = flow.client, flow.auth
    _, key = await flow.tenant()
    form = aiohttp.FormData(default_to_multipart=True)
    form.add_field("kind", "licence")
    resp = await c.post("/v1/documents", data=form, headers=a(key))
    assert resp.status == 422 and (await resp.json())["errors"][0]["field"] == "file"
    form = aiohttp.FormData()
    form.add_field("file", io.BytesIO(b"%PDF-" + b"x" * MAX_BYTES), filename="big.pdf", content_type="application/pdf")
    assert (await c.post("/v1/documents", data=form, headers=a(key))).status == 413
    form = aiohttp.FormData()
    form.add_field("file", b"MZ\x90\x00", filename="x.exe", content_type="application/octet-stream")
    assert (await c.post("/v1/documents", data=form, headers=a(key))).status == 415


async def test_another_tenants_document_is_404(flow: Any) -> None:
    c, a = flow.client, flow.auth
    tid_a, key_a = await flow.tenant("A")
    tid_b, key_b = await flow.tenant("B")
    doc = await flow.upload(key_a)
    for path in (f"/v1/documents/{doc}", f"/v1/documents/{doc}/content", "/v1/documents/doc_00000000000000000000"):
        resp = await c.get(path, headers=a(key_b))
        assert resp.status == 404, path
        assert resp.content_type == "application/problem+json"
    assert (await (await c.get("/v1/documents", headers=a(key_b))).json())["documents"] == []
    # the operator reviews a filing's documents through the owning tenant only
    listed = await (await c.get(f"/v1/tenants/{tid_a}/documents", headers=a(flow.op))).json()
    assert [d["id"] for d in listed["documents"]] == [doc]
    resp = await c.get(f"/v1/tenants/{tid_a}/documents/{doc}/content", headers=a(flow.op))
    assert resp.status == 200 and await resp.read() == flow.PDF
    assert (await c.get(f"/v1/tenants/{tid_b}/documents/{doc}/content", headers=a(flow.op))).status == 404
    assert (await c.get(f"/v1/tenants/{tid_a}/documents/{doc}/content", headers=a(key_b))).status == 403


async def test_upload_is_audited(flow: Any) -> None:
    tid, key = await flow.tenant()
    doc = await flow.upload(key)
    history = (await (await flow.client.get("/v1/onboarding/history", headers=flow.auth(key))).json())["history"]
    assert [(h["action"], h["detail"]["id"]) for h in history] == [("document.upload", doc)]
