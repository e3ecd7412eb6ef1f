"""SIP messages (RFC 3261 section 7): a small hand-written parser and builder.

Sans-IO: bytes in, dataclasses out, and back. Header names are kept as sent,
matched case-insensitively, and compact forms (``v``, ``i``, ``f`` …) are
expanded on parse. See docs/sip.md for why this is hand-written.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Iterable, Union

SIP_VERSION = "SIP/2.0"
BRANCH_MAGIC = "z9hG4bK"  # RFC 3261 8.1.1.7

COMPACT: dict[str, str] = {
    "i": "Call-ID",
    "m": "Contact",
    "e": "Content-Encoding",
    "l": "Content-Length",
    "c": "Content-Type",
    "f": "From",
    "s": "Subject",
    "k": "Supported",
    "t": "To",
    "v": "Via",
}

REASONS: dict[int, str] = {
    100: "Trying",
    180: "Ringing",
    181: "Call Is Being Forwarded",
    183: "Session Progress",
    200: "OK",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    407: "Proxy Authentication Required",
    408: "Request Timeout",
    480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist",
    484: "Address Incomplete",
    486: "Busy Here",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    500: "Server Internal Error",
    501: "Not Implemented",
    503: "Service Unavailable",
    600: "Busy Everywhere",
    603: "Decline",
    604: "Does Not Exist Anywhere",
}

# Headers whose values may be combined with commas (RFC 3261 7.3.1).
_LIST_HEADERS = frozenset({"via", "route", "record-route", "contact"})


def new_branch() -> str:
    return BRANCH_MAGIC + secrets.token_hex(8)


def new_tag() -> str:
    return secrets.token_hex(5)


def new_call_id(host: str) -> str:
    return f"{secrets.token_hex(10)}@{host}"


class Headers:
    """An ordered multi-map of header fields with case-insensitive lookup."""

    __slots__ = ("_items",)

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items: list[tuple[str, str]] = list(items)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def get(self, name: str, default: str | None = None) -> str | None:
        low = name.lower()
        for key, value in self._items:
            if key.lower() == low:
                return value
        return default

    def __getitem__(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def get_all(self, name: str) -> list[str]:
        """Every value of ``name``; comma-combined list headers are split."""
        low = name.lower()
        out: list[str] = []
        for key, value in self._items:
            if key.lower() == low:
                if low in _LIST_HEADERS:
                    out.extend(split_list(value))
                else:
                    out.append(value)
        return out

    def add(self, name: str, value: str) -> None:
        self._items.append((name, value))

    def set(self, name: str, value: str) -> None:
        self.remove(name)
        self._items.append((name, value))

    def remove(self, name: str) -> None:
        low = name.lower()
        self._items = [(k, v) for k, v in self._items if k.lower() != low]

    def copy(self) -> "Headers":
        return Headers(self._items)


def split_list(value: str) -> list[str]:
    """Split a comma-separated header value, honouring quotes and <...>."""
    parts: list[str] = []
    depth = 0
    quoted = False
    start = 0
    for i, ch in enumerate(value):
        if ch == '"':
            quoted = not quoted
        elif quoted:
            continue
        elif ch == "<":
            depth += 1
        elif ch == ">":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(value[start:i].strip())
            start = i + 1
    last = value[start:].strip()
    if last:
        parts.append(last)
    return parts


@dataclass
class SipRequest:
    method: str
    uri: str
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""

    def __bytes__(self) -> bytes:
        return _serialise(f"{self.method} {self.uri} {SIP_VERSION}", self.headers, self.body)

    @classmethod
    def parse(cls, data: bytes) -> "SipRequest":
        msg = parse_message(data)
        if not isinstance(msg, SipRequest):
            raise ValueError("not a SIP request")
        return msg


@dataclass
class SipResponse:
    code: int
    reason: str
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""

    def __bytes__(self) -> bytes:
        return _serialise(f"{SIP_VERSION} {self.code} {self.reason}", self.headers, self.body)

    @classmethod
    def parse(cls, data: bytes) -> "SipResponse":
        msg = parse_message(data)
        if not isinstance(msg, SipResponse):
            raise ValueError("not a SIP response")
        return msg


SipMessage = Union[SipRequest, SipResponse]


def _serialise(start: str, headers: Headers, body: bytes) -> bytes:
    lines = [start]
    for name, value in headers:
        if name.lower() in ("content-length", "l"):
            continue
        lines.append(f"{name}: {value}")
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body


def parse_message(data: bytes) -> SipMessage:
    """Parse one SIP message from a UDP datagram.

    :raises ValueError: with an exact message naming what is wrong.
    """
    end = data.find(b"\r\n\r\n")
    if end >= 0:
        head, rest = data[:end], data[end + 4 :]
    else:
        end = data.find(b"\n\n")
        if end < 0:
            raise ValueError("no end of headers")
        head, rest = data[:end], data[end + 2 :]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("headers are not UTF-8") from None
    lines = text.replace("\r\n", "\n").split("\n")
    while lines and not lines[0]:
        lines.pop(0)  # RFC 3261 7.5: ignore leading CRLFs
    if not lines:
        raise ValueError("empty message")
    first = lines[0]
    items: list[tuple[str, str]] = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t"):
            if not items:
                raise ValueError("continuation line before any header")
            name, value = items[-1]
            items[-1] = (name, value + " " + line.strip())
            continue
        colon = line.find(":")
        if colon <= 0:
            raise ValueError(f"bad header line: {line!r}")
        name = line[:colon].strip()
        if not name or any(c in name for c in " \t\x0b\x0c"):
            raise ValueError(f"bad header name: {line!r}")
        name = COMPACT.get(name.lower(), name) if len(name) == 1 else name
        items.append((name, line[colon + 1 :].strip()))
    headers = Headers(items)
    length_text = headers.get("Content-Length")
    if length_text is None:
        body = rest  # UDP: the datagram bounds the body
    else:
        try:
            length = int(length_text)
        except ValueError:
            raise ValueError(f"bad Content-Length: {length_text!r}") from None
        if length < 0 or len(rest) < length:
            raise ValueError("body shorter than Content-Length")
        body = rest[:length]
    if first.startswith("SIP/"):
        parts = first.split(" ", 2)
        if len(parts) < 2 or parts[0] != SIP_VERSION:
            raise ValueError(f"bad status line: {first!r}")
        try:
            code = int(parts[1])
        except ValueError:
            raise ValueError(f"bad status code: {parts[1]!r}") from None
        if not 100 <= code <= 699:
            raise ValueError(f"bad status code: {parts[1]!r}")
        return SipResponse(code, parts[2] if len(parts) > 2 else "", headers, body)
    parts = first.split(" ")
    if len(parts) != 3 or parts[2] != SIP_VERSION or not parts[0].isalpha():
        raise ValueError(f"bad request line: {first!r}")
    return SipRequest(parts[0].upper(), parts[1], headers, body)


# --- header value helpers -------------------------------------------------


def _parse_params(text: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for piece in text.split(";"):
        piece = piece.strip()
        if not piece:
            continue
        if "=" in piece:
            key, value = piece.split("=", 1)
            params[key.strip().lower()] = value.strip().strip('"')
        else:
            params[piece.lower()] = ""
    return params


def _format_params(params: dict[str, str]) -> str:
    return "".join(f";{k}={v}" if v != "" else f";{k}" for k, v in params.items())


@dataclass
class NameAddr:
    """``"Display" <sip:user@host>;tag=abc`` (From, To, Contact, Route)."""

    uri: str
    display: str = ""
    params: dict[str, str] = field(default_factory=dict)

    @property
    def tag(self) -> str | None:
        return self.params.get("tag")

    @classmethod
    def parse(cls, value: str) -> "NameAddr":
        value = value.strip()
        lt = value.find("<")
        if lt >= 0:
            gt = value.find(">", lt)
            if gt < 0:
                raise ValueError(f"unterminated <: {value!r}")
            display = value[:lt].strip().strip('"')
            return cls(value[lt + 1 : gt], display, _parse_params(value[gt + 1 :]))
        # addr-spec without <>: parameters after ';' belong to the header
        uri, _, rest = value.partition(";")
        if not uri:
            raise ValueError(f"empty address: {value!r}")
        return cls(uri.strip(), "", _parse_params(rest))

    def __str__(self) -> str:
        disp = f'"{self.display}" ' if self.display else ""
        return f"{disp}<{self.uri}>{_format_params(self.params)}"


@dataclass
class SipUri:
    host: str
    user: str = ""
    port: int | None = None
    scheme: str = "sip"
    params: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> "SipUri":
        scheme, sep, rest = text.partition(":")
        if not sep or scheme.lower() not in ("sip", "sips", "tel"):
            raise ValueError(f"bad SIP URI: {text!r}")
        rest, _, header_part = rest.partition("?")
        base, _, param_text = rest.partition(";")
        user, at, hostport = base.rpartition("@")
        if not at:
            user, hostport = "", base
        user = user.split(":", 1)[0]
        port: int | None = None
        if hostport.startswith("["):
            close = hostport.find("]")
            host = hostport[: close + 1]
            tail = hostport[close + 1 :]
            if tail.startswith(":"):
                port = int(tail[1:])
        elif ":" in hostport:
            host, port_text = hostport.rsplit(":", 1)
            try:
                port = int(port_text)
            except ValueError:
                raise ValueError(f"bad port in SIP URI: {text!r}") from None
        else:
            host = hostport
        if not host:
            raise ValueError(f"bad SIP URI: {text!r}")
        return cls(host, user, port, scheme.lower(), _parse_params(param_text))

    def __str__(self) -> str:
        user = f"{self.user}@" if self.user else ""
        port = f":{self.port}" if self.port else ""
        return f"{self.scheme}:{user}{self.host}{port}{_format_params(self.params)}"


@dataclass
class Via:
    host: str
    port: int | None = None
    transport: str = "UDP"
    params: dict[str, str] = field(default_factory=dict)

    @property
    def branch(self) -> str | None:
        return self.params.get("branch")

    @classmethod
    def parse(cls, value: str) -> "Via":
        proto, _, rest = value.strip().partition(" ")
        bits = proto.split("/")
        if len(bits) != 3 or bits[0].upper() != "SIP":
            raise ValueError(f"bad Via: {value!r}")
        sent_by, _, param_text = rest.strip().partition(";")
        sent_by = sent_by.strip()
        port: int | None = None
        if ":" in sent_by and not sent_by.endswith("]"):
            host, port_text = sent_by.rsplit(":", 1)
            try:
                port = int(port_text)
            except ValueError:
                raise ValueError(f"bad Via port: {value!r}") from None
        else:
            host = sent_by
        return cls(host, port, bits[2].upper(), _parse_params(param_text))

    def __str__(self) -> str:
        port = f":{self.port}" if self.port else ""
        return f"SIP/2.0/{self.transport} {self.host}{port}{_format_params(self.params)}"


def parse_cseq(value: str) -> tuple[int, str]:
    parts = value.split()
    if len(parts) != 2 or not parts[0].isdigit():
        raise ValueError(f"bad CSeq: {value!r}")
    return int(parts[0]), parts[1].upper()


def top_via(msg: SipMessage) -> Via:
    vias = msg.headers.get_all("Via")
    if not vias:
        raise ValueError("missing Via")
    return Via.parse(vias[0])


def build_response(
    request: SipRequest,
    code: int,
    reason: str | None = None,
    *,
    to_tag: str | None = None,
    extra: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
    received: tuple[str, int] | None = None,
) -> SipResponse:
    """A response that copies Via, From, To, Call-ID and CSeq (RFC 3261 8.2.6).

    ``received`` is the request's source address: it fills Via ``received``
    and an empty ``rport`` (RFC 3581).
    """
    headers = Headers()
    for i, via_text in enumerate(request.headers.get_all("Via")):
        if i == 0 and received is not None:
            via = Via.parse(via_text)
            if "rport" in via.params:
                via.params["rport"] = str(received[1])
            if via.host != received[0] or "rport" in via.params:
                via.params["received"] = received[0]
            via_text = str(via)
        headers.add("Via", via_text)
    for name in ("From", "To", "Call-ID", "CSeq"):
        value = request.headers.get(name)
        if value is None:
            raise ValueError(f"missing {name}")
        if name == "To" and to_tag and ";tag=" not in value.replace(" ", ""):
            value = f"{value};tag={to_tag}"
        headers.add(name, value)
    for name, value in extra:
        headers.add(name, value)
    return SipResponse(code, reason or REASONS.get(code, "Unknown"), headers, body)
