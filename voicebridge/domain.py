"""Value types shared by every part of voicebridge.

Nothing here does I/O. Every other package may import this module; this module
imports nothing from voicebridge.

Money is integer fen (1 CNY = 100 fen) everywhere. Time is timezone-aware UTC.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Awaitable, Callable, Protocol, Sequence

Fen = int
"""An amount of money in fen. Never a float."""

FRAME_MS = 20
"""One RTP packet of G.711 at 8 kHz carries 20 ms: 160 samples, 160 bytes."""
FRAME_BYTES = 160
PCMU_SILENCE = 0xFF
"""The µ-law code for a zero sample."""


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def iso(ts: datetime | None) -> str | None:
    """Millisecond-precision ISO 8601 with offset, as every output shows time."""
    if ts is None:
        return None
    return ts.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def parse_iso(text: str | None) -> datetime | None:
    if text is None:
        return None
    ts = datetime.fromisoformat(text)
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=timezone.utc)
    return ts


class CallStatus(str, enum.Enum):
    """Status of one recipient's call, as the API reports it."""

    QUEUED = "queued"
    DEFERRED = "deferred"
    CALLING = "calling"
    RINGING = "ringing"
    ANSWERED = "answered"  # in progress
    COMPLETED = "completed"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    REJECTED = "rejected"
    INVALID_NUMBER = "invalid_number"
    UNREACHABLE = "unreachable"
    FAILED = "failed"
    CANCELLED = "cancelled"
    BLOCKED = "blocked"
    DUPLICATE = "duplicate"

    @property
    def terminal(self) -> bool:
        return self not in _LIVE

    def __str__(self) -> str:
        return self.value


_LIVE = frozenset(
    {CallStatus.QUEUED, CallStatus.DEFERRED, CallStatus.CALLING, CallStatus.RINGING, CallStatus.ANSWERED}
)


class Outcome(str, enum.Enum):
    """The normalised result of one call attempt, as the carrier reports it."""

    ANSWERED = "answered"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    REJECTED = "rejected"
    INVALID_NUMBER = "invalid_number"
    UNREACHABLE = "unreachable"
    FAILED = "failed"
    CANCELLED = "cancelled"

    def __str__(self) -> str:
        return self.value

    @property
    def call_status(self) -> CallStatus:
        """The terminal call status an attempt with this outcome leaves."""
        if self is Outcome.ANSWERED:
            return CallStatus.COMPLETED
        return CallStatus(self.value)


class LedgerKind(str, enum.Enum):
    """What a prepaid-ledger entry is; the store and billing share this one list."""

    TOPUP = "topup"
    CALL_CHARGE = "call_charge"
    RENT = "rent"
    ADJUSTMENT = "adjustment"

    def __str__(self) -> str:
        return self.value


class HangupBy(str, enum.Enum):
    CALLER = "caller"  # voicebridge hung up (end of prompt, max duration, shutdown)
    CALLEE = "callee"  # the far end hung up or refused
    NETWORK = "network"  # no response, transport error, carrier failure

    def __str__(self) -> str:
        return self.value


class Cause:
    """Hang-up causes as stored in the CDR (lower-case words, stable)."""

    NORMAL_CLEARING = "normal_clearing"
    PROMPT_FINISHED = "prompt_finished"
    USER_BUSY = "user_busy"
    NO_ANSWER = "no_answer"
    RING_TIMEOUT = "ring_timeout"
    CALL_REJECTED = "call_rejected"
    UNALLOCATED_NUMBER = "unallocated_number"
    UNREACHABLE = "subscriber_absent"
    CARRIER_ERROR = "carrier_error"
    NO_RESPONSE = "no_response"
    BAD_SDP = "bad_sdp"
    MAX_DURATION = "max_duration"
    BALANCE_EXHAUSTED = "balance_exhausted"
    SHUTDOWN = "shutdown"
    SERVICE_RESTART = "service_restart"
    CANCELLED = "cancelled"
    AUTH_FAILED = "auth_failed"


@dataclass(frozen=True)
class CallRequest:
    """What the orchestrator asks a carrier to do for one call attempt.

    ``prompt`` is the spoken message as 20 ms PCMU frames (160 bytes each).
    ``max_duration`` comes from billing authorisation: the call is hung up with
    ``max_duration_cause`` when it is reached.
    """

    call_id: str
    caller: str  # E.164, the tenant's number: From and P-Asserted-Identity
    callee: str  # E.164
    prompt: Sequence[bytes]
    ring_timeout: float = 30.0
    max_duration: float = 600.0
    max_replays: int = 2
    replay_wait: float = 4.0  # after the last play, wait this long for a key
    max_duration_cause: str = Cause.MAX_DURATION


class EventKind(str, enum.Enum):
    CALLING = "calling"
    RINGING = "ringing"
    ANSWERED = "answered"
    DTMF = "dtmf"
    REPLAYED = "replayed"
    ENDED = "ended"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class CallEvent:
    call_id: str
    kind: EventKind
    at: datetime
    digit: str | None = None
    replays: int | None = None


@dataclass(frozen=True)
class CallOutcome:
    """The result of one attempt: the carrier's half of a CDR."""

    call_id: str
    status: Outcome
    cause: str
    started_at: datetime
    ended_at: datetime
    alerting_at: datetime | None = None
    answered_at: datetime | None = None
    sip_code: int | None = None
    q850: int | None = None
    hangup_by: HangupBy = HangupBy.CALLER
    digits: str = ""
    replays: int = 0
    session_id: str = ""  # the SIP Call-ID on the wire
    media: dict[str, object] = field(default_factory=dict)  # packets sent etc.

    @property
    def duration_ms(self) -> int:
        return max(0, round((self.ended_at - self.started_at).total_seconds() * 1000))

    @property
    def billable_ms(self) -> int:
        if self.answered_at is None:
            return 0
        return max(0, round((self.ended_at - self.answered_at).total_seconds() * 1000))


OnEvent = Callable[[CallEvent], Awaitable[None] | None]


class Carrier(Protocol):
    """Places calls. The SIP adapter is the one real implementation.

    ``dial`` returns when the call is over, whatever happened; it raises only
    for a local programming or configuration error. ``abort`` makes a call in
    progress end promptly (CANCEL before answer, BYE after) with the given
    cause; ``dial`` then returns its outcome as usual.
    """

    async def dial(self, request: CallRequest, on_event: OnEvent) -> CallOutcome: ...

    def abort(self, call_id: str, cause: str) -> None: ...


@dataclass(frozen=True)
class Prompt:
    """A rendered prompt: 8 kHz mono µ-law, ready for RTP."""

    pcmu: bytes
    text: str
    language: str

    @property
    def duration_s(self) -> float:
        return len(self.pcmu) / 8000

    def frames(self) -> list[bytes]:
        """20 ms frames; the last one padded with µ-law silence."""
        data = self.pcmu
        out = [data[i : i + FRAME_BYTES] for i in range(0, len(data), FRAME_BYTES)]
        if out and len(out[-1]) < FRAME_BYTES:
            out[-1] = out[-1] + bytes([PCMU_SILENCE]) * (FRAME_BYTES - len(out[-1]))
        return out


class PromptRenderer(Protocol):
    """Turns the final prompt text into audio. The TTS service implements it."""

    async def render(self, text: str, language: str) -> Prompt: ...
