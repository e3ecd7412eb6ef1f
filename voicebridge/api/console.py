"""The web console for tenant admins and finance: three static files served at /console.

Plain HTML, CSS and JavaScript from ``voicebridge/api/static`` (no build step,
nothing fetched from elsewhere). The page itself is public (``/console`` is in
:data:`voicebridge.api.auth.PUBLIC`); every figure it shows comes from the API
with the key the user pastes, sent as ``Authorization: Bearer``.

Caching: ``index.html`` names its assets with a content hash
(``/console/app.js?v=<hash>``) and is revalidated on each load (``no-cache``
with an ETag); a request for an asset with the current hash may be cached for a
year (``immutable``), any other is revalidated. A strict Content-Security-Policy
allows only this origin.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from typing import Any

from aiohttp import web

routes = web.RouteTableDef()

ASSETS: dict[str, str] = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
}
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


@dataclass(frozen=True)
class Asset:
    body: bytes
    content_type: str
    version: str  # the first 16 hex digits of the content's SHA-256

    @property
    def etag(self) -> str:
        return f'"{self.version}"'


_cache: dict[str, Asset] = {}


def _read(name: str) -> bytes:
    return resources.files("voicebridge.api").joinpath("static", name).read_bytes()


def asset(name: str) -> Asset:
    """One static file (index.html with its asset URLs versioned), read once."""
    if name not in _cache:
        body = _read(name)
        if name == "index.html":
            for dep in ("app.js", "style.css"):
                body = body.replace(f"/console/{dep}".encode(), f"/console/{dep}?v={asset(dep).version}".encode())
        _cache[name] = Asset(body, ASSETS[name], hashlib.sha256(body).hexdigest()[:16])
    return _cache[name]


def _serve(request: web.Request, name: str) -> web.Response:
    item = asset(name)
    immutable = name != "index.html" and request.query.get("v") == item.version
    headers = {**SECURITY_HEADERS, "ETag": item.etag, "Cache-Control": IMMUTABLE if immutable else REVALIDATE}
    if item.etag in [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]:
        return web.Response(status=304, headers=headers)
    return web.Response(body=item.body, headers={**headers, "Content-Type": item.content_type})


@routes.get("/console")
async def index(request: web.Request) -> web.Response:
    return _serve(request, "index.html")


@routes.get("/console/app.js")
async def app_js(request: web.Request) -> web.Response:
    return _serve(request, "app.js")


@routes.get("/console/style.css")
async def style_css(request: web.Request) -> web.Response:
    return _serve(request, "style.css")


def _static(summary: str, ctype: str) -> dict[str, Any]:
    return {"get": {
        "summary": summary, "security": [], "tags": ["console"],
        "parameters": [{"name": "v", "in": "query", "schema": {"type": "string"},
                        "description": "the content hash index.html names; when it matches, cacheable for a year"}],
        "responses": {"200": {"description": "the file", "content": {ctype: {"schema": {"type": "string"}}}},
                      "304": {"description": "not modified (If-None-Match)"}},
    }}


PATHS: dict[str, Any] = {
    "/console": {"get": {
        "summary": "The web console for tenant admins and finance (HTML; paste an API key; all data from /v1)",
        "security": [], "tags": ["console"],
        "responses": {"200": {"description": "the page", "content": {"text/html": {"schema": {"type": "string"}}}},
                      "304": {"description": "not modified (If-None-Match)"}},
    }},
    "/console/app.js": _static("The web console's script", "text/javascript"),
    "/console/style.css": _static("The web console's style sheet", "text/css"),
}
