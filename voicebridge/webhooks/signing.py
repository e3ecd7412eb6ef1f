"""Webhook signatures, pure: ``X-Voicebridge-Signature: t=<unix>,v1=<hex>``.

``v1`` is HMAC-SHA256 with the tenant's webhook secret over ``"<t>.<body>"``,
like Stripe's scheme: the timestamp is signed too, so a receiver can refuse
replays older than a few minutes.
"""

from __future__ import annotations

import hashlib
import hmac

HEADER = "X-Voicebridge-Signature"
EVENT_ID_HEADER = "X-Voicebridge-Event-Id"
EVENT_HEADER = "X-Voicebridge-Event"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, header: str, body: bytes, now: int, tolerance: int = 300) -> bool:
    """What a receiver does: check the MAC and that the timestamp is recent."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
        given = parts["v1"]
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, given)
