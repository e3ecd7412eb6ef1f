"""Prompt templates in the product's words, with tenant overrides and caps.

The spoken sentence is built from a template with three placeholders:
``{sender}``, ``{text}`` (the chat message) and ``{app}``. Caps follow the
carrier's voice-notification rules: a template is at most 900 bytes of UTF-8,
and each variable has its own length cap. The message text is cut at a sentence
or word boundary and marked with "…".
"""

from __future__ import annotations

import re
import string

LANGUAGES: tuple[str, ...] = ("zh-CN", "en")

TEMPLATES: dict[str, str] = {
    "zh-CN": '{sender}给你发来一条消息"{text}",请登录{app}查看,重听请按1,结束请挂机',
    "en": (
        '{sender} sent you a message: "{text}". Please log in to {app} to read it. '
        "To hear it again, press 1. To end, hang up."
    ),
}

PLACEHOLDERS: frozenset[str] = frozenset({"sender", "text", "app"})
REQUIRED_PLACEHOLDERS: frozenset[str] = frozenset({"text"})
MAX_TEMPLATE_BYTES = 900
#: Characters (code points) allowed per variable before it is cut.
VARIABLE_CAPS: dict[str, int] = {"sender": 32, "app": 32, "text": 200}
ELLIPSIS = "…"

_LANGUAGE_ALIASES = {
    "zh": "zh-CN",
    "zh-cn": "zh-CN",
    "zh-hans": "zh-CN",
    "cmn": "zh-CN",
    "en": "en",
    "en-us": "en",
    "en-gb": "en",
}
_SENTENCE_END = "。！？!?；;.\n"
_WORD_BREAK = " ，,、:：\t"


def normalize_language(language: str) -> str:
    """Map a language tag to one of :data:`LANGUAGES` or raise ``ValueError``."""
    lang = _LANGUAGE_ALIASES.get(language.strip().lower().replace("_", "-"))
    if lang is None:
        raise ValueError(f"unsupported language {language!r}; expected one of {', '.join(LANGUAGES)}")
    return lang


def validate_template(template: str) -> list[str]:
    """Return the problems with a tenant template; an empty list means valid."""
    errors: list[str] = []
    if not template.strip():
        return ["template is empty"]
    size = len(template.encode("utf-8"))
    if size > MAX_TEMPLATE_BYTES:
        errors.append(f"template is {size} bytes of UTF-8; the limit is {MAX_TEMPLATE_BYTES}")
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        errors.append(f"template has unbalanced braces: {exc}")
        return errors
    seen: set[str] = set()
    for _literal, field, spec, conversion in parsed:
        if field is None:
            continue
        if field == "":
            errors.append("template has an empty placeholder {}; use {sender}, {text} or {app}")
            continue
        if field not in PLACEHOLDERS:
            errors.append(f"unknown placeholder {{{field}}}; allowed: {{sender}}, {{text}}, {{app}}")
            continue
        if spec or conversion:
            errors.append(f"placeholder {{{field}}} must not carry a format spec or conversion")
        seen.add(field)
    for field in sorted(REQUIRED_PLACEHOLDERS - seen):
        errors.append(f"template must contain {{{field}}}")
    return errors


def truncate_text(text: str, cap: int) -> str:
    """Cut ``text`` to at most ``cap`` code points, at a sentence or word boundary.

    The result ends with "…" when anything was cut (the ellipsis counts toward
    the cap). A boundary is used only if it keeps at least half the budget;
    otherwise the text is cut hard (Chinese has no spaces between words).
    """
    text = text.strip()
    if len(text) <= cap:
        return text
    budget = max(cap - len(ELLIPSIS), 1)
    head = text[:budget]
    floor = budget // 2
    cut = max((head.rfind(ch) for ch in _SENTENCE_END), default=-1)
    if cut + 1 >= floor and cut >= 0:
        return head[: cut + 1].rstrip() + ELLIPSIS
    if budget < len(text) and text[budget] in _WORD_BREAK:
        return head.rstrip() + ELLIPSIS
    cut = max((head.rfind(ch) for ch in _WORD_BREAK), default=-1)
    if cut >= floor:
        return head[:cut].rstrip(" ,，、:：") + ELLIPSIS
    return head + ELLIPSIS


_WS = re.compile(r"\s+")


def _clip_variable(name: str, value: str) -> str:
    value = _WS.sub(" ", value).strip()
    return truncate_text(value, VARIABLE_CAPS[name])


def prompt_text(
    sender: str,
    text: str,
    language: str = "zh-CN",
    app: str = "WeLink",
    template: str | None = None,
) -> str:
    """Build the sentence the callee hears.

    :param sender: display name of the person who sent the message.
    :param text: the chat message; cut to ``VARIABLE_CAPS["text"]`` with "…".
    :param language: ``"zh-CN"`` or ``"en"`` (aliases such as ``"zh"`` accepted).
    :param app: the app the callee should open.
    :param template: a tenant override; validated with :func:`validate_template`.
    :raises ValueError: unknown language or an invalid template.
    """
    lang = normalize_language(language)
    tpl = TEMPLATES[lang] if template is None else template
    if template is not None:
        problems = validate_template(template)
        if problems:
            raise ValueError("invalid template: " + "; ".join(problems))
    values = {
        "sender": _clip_variable("sender", sender),
        "text": _clip_variable("text", text),
        "app": _clip_variable("app", app),
    }
    return tpl.format(**values)
