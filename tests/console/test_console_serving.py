"""The web console's files: served by the service at /console with the right types,
cache headers and a strict Content-Security-Policy, without a key, and described
in the OpenAPI document."""

from __future__ import annotations

import re
from typing import Any

import pytest

from voicebridge.api import console

TYPES = {"/console": "text/html", "/console/app.js": "text/javascript", "/console/style.css": "text/css"}


@pytest.mark.parametrize("path", sorted(TYPES))
async def test_each_file_is_served_with_its_type_without_a_key(service: Any, path: str) -> None:
    resp = await service.get(path)
    assert resp.status == 200, await resp.text()
    assert resp.content_type == TYPES[path]
    assert resp.charset == "utf-8"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    csp = resp.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "connect-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    assert resp.headers["ETag"]
    body = await resp.read()
    assert body
    # HEAD works too (aiohttp adds it to every GET)
    head = await service.head(path)
    assert head.status == 200 and head.headers["ETag"] == resp.headers["ETag"]


async def test_index_names_versioned_assets_that_cache_for_a_year(service: Any) -> None:
    resp = await service.get("/console")
    assert resp.headers["Cache-Control"] == "no-cache"  # the page is revalidated on every load
    html = await resp.text()
    for name in ("app.js", "style.css"):
        m = re.search(rf'"/console/{re.escape(name)}\?v=([0-9a-f]{{16}})"', html)
        assert m, f"index.html does not name a versioned {name}"
        asset = await service.get(f"/console/{name}?v={m.group(1)}")
        assert asset.status == 200
        assert asset.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert asset.headers["ETag"] == f'"{m.group(1)}"'
        stale = await service.get(f"/console/{name}?v=0000000000000000")
        assert stale.headers["Cache-Control"] == "no-cache"  # an old page's asset: revalidate
        plain = await service.get(f"/console/{name}")
        assert plain.headers["Cache-Control"] == "no-cache"


async def test_if_none_match_answers_304(service: Any) -> None:
    for path in TYPES:
        etag = (await service.get(path)).headers["ETag"]
        again = await service.get(path, headers={"If-None-Match": etag})
        assert again.status == 304
        assert await again.read() == b""
        other = await service.get(path, headers={"If-None-Match": '"nope"'})
        assert other.status == 200


async def test_page_loads_nothing_from_elsewhere() -> None:
    for name in console.ASSETS:
        text = console._read(name).decode()
        assert not re.search(r"(src|href)\s*=\s*[\"'](https?:)?//", text), f"{name} loads something from elsewhere"
        assert "http://" not in text and "https://" not in text, name
        assert "innerHTML" not in text and "eval(" not in text, name


async def test_unknown_console_paths_are_404_problems(service: Any) -> None:
    for path in ("/console/index.htm", "/console/app.js.map", "/console/static/app.js"):
        resp = await service.get(path)
        assert resp.status == 404, path
        assert resp.content_type == "application/problem+json"


async def test_openapi_describes_the_console(service: Any) -> None:
    doc = await (await service.get("/v1/openapi.json")).json()
    for path in TYPES:
        op = doc["paths"][path]["get"]
        assert op["security"] == []
        assert TYPES[path] in op["responses"]["200"]["content"]


async def test_the_console_does_not_open_the_api(service: Any) -> None:
    # /console is public; the API behind it is not
    resp = await service.get("/v1/reminders")
    assert resp.status == 401
    resp = await service.get("/console/../v1/reminders")
    assert resp.status in (401, 404)
