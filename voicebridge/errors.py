"""The few exceptions voicebridge raises across layers; only the API maps them to HTTP."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FieldError:
    """One bad input: where (a JSON pointer-ish path such as ``recipients/3/phone``) and why."""

    field: str
    message: str
    code: str = "invalid"

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message, "code": self.code}


class VoicebridgeError(Exception):
    """Root of voicebridge's own errors."""


@dataclass
class Problem(VoicebridgeError):
    """An RFC 9457 problem: the request was refused, and nothing of it was applied."""

    status: int
    title: str
    detail: str = ""
    errors: list[FieldError] = field(default_factory=list)
    type: str = "about:blank"
    extra: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status} {self.title}: {self.detail}"

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": self.type, "title": self.title, "status": self.status}
        if self.detail:
            body["detail"] = self.detail
        if self.errors:
            body["errors"] = [e.as_dict() for e in self.errors]
        body.update(self.extra)
        return body


def invalid(errors: list[FieldError], detail: str = "") -> Problem:
    return Problem(
        422,
        "Invalid request",
        detail or "; ".join(f"{e.field}: {e.message}" for e in errors[:5]),
        errors,
        type="https://voicebridge.dev/problems/invalid-request",
    )
