"""One call through the SIP adapter, for ``voicebridge call`` (operators, tests).

The command line parses arguments and renders the prompt; this module places
the call and turns its outcome into the JSON the command prints.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import secrets
from typing import Any, Sequence

from voicebridge.dialer.settings import SipSettings
from voicebridge.dialer.sip_carrier import SipCarrier
from voicebridge.domain import CallEvent, CallOutcome, CallRequest, iso

logger = logging.getLogger(__name__)


async def run_call(
    callee: str,
    trunk_host: str,
    trunk_port: int,
    caller: str,
    prompt_frames: Sequence[bytes],
    ring_timeout: float = 30.0,
    max_duration: float = 600.0,
    user: str | None = None,
    password: str | None = None,
    *,
    replay_wait: float = 4.0,
    max_replays: int = 2,
    settings: SipSettings | None = None,
) -> CallOutcome:
    """Place one call to ``callee`` via ``trunk_host:trunk_port`` and wait for its end.

    :param prompt_frames: 20 ms PCMU frames (160 bytes each).
    :param settings: base SIP settings (timers, ports); trunk and credentials
        from the other arguments replace theirs.
    """
    base = settings or SipSettings()
    sip = dataclasses.replace(base, trunk_host=trunk_host, trunk_port=trunk_port,
                              username=user if user is not None else base.username,
                              password=password if password is not None else base.password)
    request = CallRequest(
        call_id=f"cli-{secrets.token_hex(6)}",
        caller=caller,
        callee=callee,
        prompt=list(prompt_frames),
        ring_timeout=ring_timeout,
        max_duration=max_duration,
        max_replays=max_replays,
        replay_wait=replay_wait,
    )

    def log_event(event: CallEvent) -> None:
        logger.info("%s %s%s", request.call_id, event.kind.value, f" {event.digit}" if event.digit else "")

    async with SipCarrier(sip) as carrier:
        return await carrier.dial(request, log_event)


def outcome_to_json(outcome: CallOutcome) -> dict[str, Any]:
    """The CDR fields of an outcome as plain JSON values."""
    billable_s = outcome.billable_ms / 1000
    return {
        "call_id": outcome.call_id,
        "session_id": outcome.session_id,
        "status": outcome.status.value,
        "cause": outcome.cause,
        "sip_code": outcome.sip_code,
        "q850": outcome.q850,
        "started_at": iso(outcome.started_at),
        "alerting_at": iso(outcome.alerting_at),
        "answered_at": iso(outcome.answered_at),
        "ended_at": iso(outcome.ended_at),
        "duration_seconds": round(outcome.duration_ms / 1000, 3),
        "billable_seconds": round(billable_s, 3),
        "billable_minutes": math.ceil(billable_s / 60) if outcome.billable_ms else 0,
        "digits": outcome.digits,
        "replays": outcome.replays,
        "hangup_by": outcome.hangup_by.value,
        "media": {k: v for k, v in outcome.media.items()},
    }
