"""Map SIP final responses to voicebridge outcomes, causes and Q.850 codes.

Q.850 values follow RFC 3398 section 8.2.6.1 (SIP → ISUP) where it gives one.
"""

from __future__ import annotations

from dataclasses import dataclass

from voicebridge.domain import Cause, HangupBy, Outcome

Q850_NORMAL_CLEARING = 16
Q850_USER_BUSY = 17
Q850_NO_USER_RESPONDING = 18
Q850_NO_ANSWER = 19
Q850_SUBSCRIBER_ABSENT = 20
Q850_CALL_REJECTED = 21
Q850_UNALLOCATED = 1
Q850_INVALID_FORMAT = 28
Q850_DEST_OUT_OF_ORDER = 27
Q850_NETWORK_OUT_OF_ORDER = 38
Q850_TEMPORARY_FAILURE = 41
Q850_INCOMPATIBLE_DESTINATION = 88
Q850_RECOVERY_ON_TIMER_EXPIRY = 102
Q850_INTERWORKING = 127


@dataclass(frozen=True)
class Result:
    """How a call ended, before timestamps are attached."""

    status: Outcome
    cause: str
    sip_code: int | None
    q850: int | None
    hangup_by: HangupBy


_TABLE: dict[int, tuple[Outcome, str, int]] = {
    403: (Outcome.REJECTED, Cause.CALL_REJECTED, Q850_CALL_REJECTED),
    404: (Outcome.INVALID_NUMBER, Cause.UNALLOCATED_NUMBER, Q850_UNALLOCATED),
    408: (Outcome.NO_ANSWER, Cause.NO_ANSWER, Q850_NO_USER_RESPONDING),
    410: (Outcome.INVALID_NUMBER, Cause.UNALLOCATED_NUMBER, 22),
    480: (Outcome.UNREACHABLE, Cause.UNREACHABLE, Q850_SUBSCRIBER_ABSENT),
    484: (Outcome.INVALID_NUMBER, Cause.UNALLOCATED_NUMBER, Q850_INVALID_FORMAT),
    486: (Outcome.BUSY, Cause.USER_BUSY, Q850_USER_BUSY),
    487: (Outcome.NO_ANSWER, Cause.NO_ANSWER, Q850_NO_ANSWER),
    600: (Outcome.BUSY, Cause.USER_BUSY, Q850_USER_BUSY),
    603: (Outcome.REJECTED, Cause.CALL_REJECTED, Q850_CALL_REJECTED),
    604: (Outcome.INVALID_NUMBER, Cause.UNALLOCATED_NUMBER, Q850_UNALLOCATED),
    502: (Outcome.FAILED, Cause.CARRIER_ERROR, Q850_NETWORK_OUT_OF_ORDER),
    504: (Outcome.FAILED, Cause.CARRIER_ERROR, Q850_RECOVERY_ON_TIMER_EXPIRY),
}


def map_final(code: int) -> Result:
    """The result of an INVITE that got final response ``code`` (3xx-6xx)."""
    if code in _TABLE:
        status, cause, q850 = _TABLE[code]
    elif code in (401, 407):
        status, cause, q850 = Outcome.FAILED, Cause.AUTH_FAILED, Q850_CALL_REJECTED
    elif 500 <= code < 600:
        status, cause, q850 = Outcome.FAILED, Cause.CARRIER_ERROR, Q850_TEMPORARY_FAILURE
    elif 600 <= code < 700:
        status, cause, q850 = Outcome.REJECTED, Cause.CALL_REJECTED, Q850_CALL_REJECTED
    else:  # 3xx (we do not follow redirects) and other 4xx
        status, cause, q850 = Outcome.FAILED, Cause.CARRIER_ERROR, Q850_INTERWORKING
    by = HangupBy.NETWORK if status is Outcome.FAILED else HangupBy.CALLEE
    return Result(status, cause, code, q850, by)


def no_response() -> Result:
    return Result(Outcome.FAILED, Cause.NO_RESPONSE, None, Q850_RECOVERY_ON_TIMER_EXPIRY, HangupBy.NETWORK)


def unreachable_host() -> Result:
    """ICMP port/host unreachable from the trunk."""
    return Result(Outcome.FAILED, Cause.CARRIER_ERROR, None, Q850_DEST_OUT_OF_ORDER, HangupBy.NETWORK)


def ring_timeout() -> Result:
    return Result(Outcome.NO_ANSWER, Cause.RING_TIMEOUT, 487, Q850_NO_ANSWER, HangupBy.CALLER)


def cancelled(cause: str) -> Result:
    return Result(Outcome.CANCELLED, cause, 487, Q850_NORMAL_CLEARING, HangupBy.CALLER)


def bad_sdp() -> Result:
    return Result(Outcome.FAILED, Cause.BAD_SDP, 200, Q850_INCOMPATIBLE_DESTINATION, HangupBy.CALLER)


def caller_hangup(cause: str) -> Result:
    return Result(Outcome.ANSWERED, cause, 200, Q850_NORMAL_CLEARING, HangupBy.CALLER)


def callee_hangup() -> Result:
    return Result(Outcome.ANSWERED, Cause.NORMAL_CLEARING, 200, Q850_NORMAL_CLEARING, HangupBy.CALLEE)
