"""HTTP Digest authentication for SIP (RFC 7616, RFC 3261 22, RFC 8760).

MD5 and SHA-256 (and their ``-sess`` variants), ``qop=auth`` or no qop.
401 answers carry ``WWW-Authenticate`` and want ``Authorization``; 407 answers
carry ``Proxy-Authenticate`` and want ``Proxy-Authorization``.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

_HASHES = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}


def challenge_header(code: int) -> str:
    return "Proxy-Authenticate" if code == 407 else "WWW-Authenticate"


def credentials_header(code: int) -> str:
    return "Proxy-Authorization" if code == 407 else "Authorization"


def parse_params(text: str) -> dict[str, str]:
    """``a="b, c", d=e`` → dict, quoted commas kept."""
    out: dict[str, str] = {}
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in " ,\t":
            i += 1
        eq = text.find("=", i)
        if eq < 0:
            break
        key = text[i:eq].strip().lower()
        i = eq + 1
        while i < n and text[i] == " ":
            i += 1
        if i < n and text[i] == '"':
            j = i + 1
            buf = []
            while j < n and text[j] != '"':
                if text[j] == "\\" and j + 1 < n:
                    j += 1
                buf.append(text[j])
                j += 1
            out[key] = "".join(buf)
            i = j + 1
        else:
            j = text.find(",", i)
            j = n if j < 0 else j
            out[key] = text[i:j].strip()
            i = j
    return out


@dataclass(frozen=True)
class Challenge:
    realm: str
    nonce: str
    algorithm: str = "MD5"
    qop: tuple[str, ...] = ()
    opaque: str | None = None
    stale: bool = False

    @classmethod
    def parse(cls, value: str) -> "Challenge":
        scheme, _, rest = value.strip().partition(" ")
        if scheme.lower() != "digest":
            raise ValueError(f"unsupported auth scheme: {scheme!r}")
        p = parse_params(rest)
        if "nonce" not in p:
            raise ValueError("challenge without nonce")
        algorithm = p.get("algorithm", "MD5").upper()
        if algorithm.removesuffix("-SESS") not in _HASHES:
            raise ValueError(f"unsupported digest algorithm: {algorithm!r}")
        qop = tuple(q.strip().lower() for q in p.get("qop", "").split(",") if q.strip())
        return cls(
            realm=p.get("realm", ""),
            nonce=p["nonce"],
            algorithm=algorithm,
            qop=qop,
            opaque=p.get("opaque"),
            stale=p.get("stale", "").lower() == "true",
        )

    def to_header(self) -> str:
        parts = [f'realm="{self.realm}"', f'nonce="{self.nonce}"', f"algorithm={self.algorithm}"]
        if self.qop:
            parts.append(f'qop="{",".join(self.qop)}"')
        if self.opaque is not None:
            parts.append(f'opaque="{self.opaque}"')
        if self.stale:
            parts.append("stale=TRUE")
        return "Digest " + ", ".join(parts)


def _h(algorithm: str, data: str) -> str:
    return _HASHES[algorithm.upper().removesuffix("-SESS")](data.encode("utf-8")).hexdigest()


def compute_response(
    *,
    algorithm: str,
    username: str,
    realm: str,
    password: str,
    method: str,
    uri: str,
    nonce: str,
    qop: str | None,
    nc: str,
    cnonce: str,
) -> str:
    """The ``response`` value (RFC 7616 3.4.1)."""
    ha1 = _h(algorithm, f"{username}:{realm}:{password}")
    if algorithm.upper().endswith("-SESS"):
        ha1 = _h(algorithm, f"{ha1}:{nonce}:{cnonce}")
    ha2 = _h(algorithm, f"{method}:{uri}")
    if qop:
        return _h(algorithm, f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
    return _h(algorithm, f"{ha1}:{nonce}:{ha2}")


def authorization(
    challenge: Challenge,
    *,
    username: str,
    password: str,
    method: str,
    uri: str,
    nc: int = 1,
    cnonce: str | None = None,
) -> str:
    """The value of an ``Authorization``/``Proxy-Authorization`` header."""
    qop = "auth" if "auth" in challenge.qop else None
    if challenge.qop and qop is None:
        raise ValueError(f"unsupported qop: {','.join(challenge.qop)!r}")
    cnonce = cnonce or secrets.token_hex(8)
    nc_text = f"{nc:08x}"
    response = compute_response(
        algorithm=challenge.algorithm,
        username=username,
        realm=challenge.realm,
        password=password,
        method=method,
        uri=uri,
        nonce=challenge.nonce,
        qop=qop,
        nc=nc_text,
        cnonce=cnonce,
    )
    parts = [
        f'username="{username}"',
        f'realm="{challenge.realm}"',
        f'nonce="{challenge.nonce}"',
        f'uri="{uri}"',
        f'response="{response}"',
        f"algorithm={challenge.algorithm}",
    ]
    if qop:
        parts += [f"qop={qop}", f"nc={nc_text}", f'cnonce="{cnonce}"']
    if challenge.opaque is not None:
        parts.append(f'opaque="{challenge.opaque}"')
    return "Digest " + ", ".join(parts)


def verify(header_value: str, *, method: str, password: str, realm: str | None = None) -> bool:
    """Server side: check a client's digest credentials (the simulator uses it)."""
    scheme, _, rest = header_value.strip().partition(" ")
    if scheme.lower() != "digest":
        return False
    p = parse_params(rest)
    try:
        expected = compute_response(
            algorithm=p.get("algorithm", "MD5"),
            username=p["username"],
            realm=p.get("realm", ""),
            password=password,
            method=method,
            uri=p["uri"],
            nonce=p["nonce"],
            qop=p.get("qop"),
            nc=p.get("nc", ""),
            cnonce=p.get("cnonce", ""),
        )
    except (KeyError, ValueError):
        return False
    if realm is not None and p.get("realm") != realm:
        return False
    return secrets.compare_digest(expected, p.get("response", ""))
