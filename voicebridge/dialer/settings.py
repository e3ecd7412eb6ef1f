"""Settings of the SIP carrier adapter (one frozen object, built at the edge)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SipSettings:
    """Where the trunk is and how we talk to it.

    :param trunk_host: the SIP trunk, SBC or simulator (all requests go there).
    :param local_port: 0 picks an ephemeral port.
    :param t1: RFC 3261 T1 (retransmit base); ``timer_b`` is 64*T1 by default.
    :param rtp_port_min: 0 means ephemeral RTP ports; else even ports in
        ``[rtp_port_min, rtp_port_max)``.
    :param barge_in: pressing 1 during a play restarts it at once; by default
        the replay starts when the current play ends, so the callee always
        hears the whole message, then ``replay_pause`` s of quiet, then the replay.
    :param caller_domain: host part of From/P-Asserted-Identity URIs (the
        trunk host if None).
    """

    trunk_host: str = "127.0.0.1"
    trunk_port: int = 5060
    local_host: str = "127.0.0.1"
    local_port: int = 0
    username: str | None = None
    password: str | None = None
    t1: float = 0.5
    timer_b: float = 32.0
    user_agent: str = "voicebridge/0.1"
    rtp_port_min: int = 20000
    rtp_port_max: int = 30000
    barge_in: bool = False
    replay_pause: float = 0.3
    caller_domain: str | None = None
    socket_buffer: int = 4 * 1024 * 1024
    close_timeout: float = 2.0
