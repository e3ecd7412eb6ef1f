"""RFC 9457 problem+json for every error the API returns; bad input is never a 500."""

from __future__ import annotations

import json
import logging
import re
from typing import Any, Awaitable, Callable

from aiohttp import web

from voicebridge.errors import FieldError, Problem

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


def problem_response(problem: Problem, headers: dict[str, str] | None = None) -> web.Response:
    data = problem.as_dict()
    # an extension member never replaces a standard one: "status" stays the HTTP status (RFC 9457 3.1)
    data.update(type=problem.type, title=problem.title, status=problem.status)
    return web.Response(
        status=problem.status,
        body=json.dumps(data, ensure_ascii=False).encode(),
        content_type=PROBLEM_JSON,
        charset="utf-8",
        headers=headers,
    )


def not_found(what: str = "resource") -> Problem:
    return Problem(404, "Not found", f"no such {what}", type="https://voicebridge.dev/problems/not-found")


@web.middleware
async def problem_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except Problem as problem:
        retry = problem.extra.get("retry_after")
        return problem_response(problem, headers={"Retry-After": str(retry)} if retry is not None else None)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        title = exc.reason or "Error"
        detail = exc.text if exc.text and not exc.text.startswith(f"{exc.status}:") else ""
        return problem_response(Problem(exc.status, title, detail), headers={
            k: v for k, v in exc.headers.items() if k.lower() in ("allow", "retry-after")
        })
    except Exception:  # noqa: BLE001 - a real bug: log it, answer 500 as a problem
        log.exception("unhandled error on %s %s", request.method, request.path)
        return problem_response(Problem(500, "Internal error", "the error was logged"))


async def read_json(request: web.Request, max_bytes: int) -> Any:
    if request.content_length is not None and request.content_length > max_bytes:
        raise Problem(413, "Body too large", f"the body must be at most {max_bytes} bytes")
    ctype = request.content_type
    if ctype not in ("application/json", "") and not ctype.endswith("+json"):
        raise Problem(415, "Unsupported media type", "send application/json",
                      [FieldError("Content-Type", "must be application/json", "format")])
    raw = await request.content.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise Problem(413, "Body too large", f"the body must be at most {max_bytes} bytes")
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Problem(400, "Malformed JSON", str(exc), [FieldError("", f"not valid JSON: {exc}", "syntax")]) from None


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps(data, ensure_ascii=False).encode(),
        content_type="application/json",
        charset="utf-8",
        headers=headers,
    )


def query_int(query: Any, name: str, default: int, low: int, high: int, errors: list[FieldError]) -> int:
    """A whole-number query parameter in [low, high]; a bad one is added to ``errors``."""
    raw = query.get(name)
    if raw is None:
        return default
    if re.fullmatch(r"-?[0-9]{1,19}", raw) and low <= int(raw) <= high:
        return int(raw)
    errors.append(FieldError(name, f"must be a whole number from {low} to {high}", "range"))
    return default
