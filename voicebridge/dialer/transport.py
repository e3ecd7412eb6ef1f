"""One asyncio UDP socket for the SIP signalling of many calls.

A thin pump: datagrams in are parsed and handed to the call registered for
their Call-ID; bytes out go to the trunk. No SIP logic lives here.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import socket
from typing import Callable

from voicebridge.dialer.sip.message import SipMessage, SipRequest, build_response, parse_message

logger = logging.getLogger(__name__)

Handler = Callable[[SipMessage, tuple[str, int]], None]
ErrorHandler = Callable[[Exception, "tuple[str, int] | None"], None]

# Linux: report ICMP errors on an unconnected UDP socket (ip(7) IP_RECVERR).
# The error queue must then be drained, or the socket stays readable forever.
IP_RECVERR = getattr(socket, "IP_RECVERR", 11)


class TransportState(enum.Enum):
    NEW = "new"
    OPEN = "open"
    CLOSED = "closed"


class SipTransport:
    """A non-blocking UDP socket read with ``loop.add_reader``.

    asyncio's datagram transport reads one datagram per readiness event, so
    under load a backlog of responses waits while retransmission timers fire
    (and SIPp aborts calls on the retransmitted INVITEs). Here every wake-up
    drains up to ``burst`` datagrams.
    """

    def __init__(self, *, on_error: ErrorHandler | None = None, buffer: int = 0, burst: int = 512) -> None:
        self._handlers: dict[str, Handler] = {}
        self._sock: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._on_error = on_error
        self._buffer = buffer
        self._burst = burst
        self._recverr = False
        self.state = TransportState.NEW
        self.local_address: tuple[str, int] | None = None
        self.received = 0
        self.sent = 0
        self.send_errors = 0
        self.parse_errors = 0
        self.icmp_errors = 0

    async def start(self, host: str, port: int) -> tuple[str, int]:
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            if self._buffer:
                for opt in (socket.SO_RCVBUF, socket.SO_SNDBUF):
                    try:
                        sock.setsockopt(socket.SOL_SOCKET, opt, self._buffer)
                    except OSError:
                        pass
            if hasattr(socket, "MSG_ERRQUEUE"):
                try:
                    sock.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)
                    self._recverr = True
                except OSError:
                    self._recverr = False
            sock.bind((host, port))
            sock.setblocking(False)
            loop.add_reader(sock.fileno(), self._read_ready)
        except BaseException:
            sock.close()
            raise
        self._sock = sock
        self._loop = loop
        self.local_address = sock.getsockname()[:2]
        self.state = TransportState.OPEN
        logger.info("SIP transport listening on %s:%d", *self.local_address)
        return self.local_address

    def stop(self) -> None:
        sock, self._sock = self._sock, None
        try:
            if sock is not None:
                if self._loop is not None and not self._loop.is_closed():
                    self._loop.remove_reader(sock.fileno())
                sock.close()
        finally:
            self.state = TransportState.CLOSED

    @property
    def is_open(self) -> bool:
        return self.state is TransportState.OPEN

    def register(self, call_id: str, handler: Handler) -> None:
        self._handlers[call_id] = handler

    def unregister(self, call_id: str) -> None:
        self._handlers.pop(call_id, None)

    def send(self, data: bytes, addr: tuple[str, int]) -> None:
        sock = self._sock
        if sock is None:
            return
        try:
            sock.sendto(data, addr)
            self.sent += 1
        except (BlockingIOError, InterruptedError):
            self.send_errors += 1  # buffer full: SIP retransmission covers it
        except OSError as exc:
            self.send_errors += 1
            self.error_received(exc)

    # --- reading -------------------------------------------------------------------

    def _read_ready(self) -> None:
        sock = self._sock
        for _ in range(self._burst):
            if sock is None or self._sock is None:
                return
            try:
                data, addr = sock.recvfrom(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                self.error_received(exc)
                continue
            self.datagram_received(data, addr)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.received += 1
        if len(data) < 8 or not data.strip():
            return  # keep-alive CRLFs
        try:
            msg = parse_message(data)
            call_id = msg.headers.get("Call-ID")
        except ValueError as exc:
            self.parse_errors += 1
            logger.debug("unparsable datagram from %s:%d: %s", addr[0], addr[1], exc)
            return
        handler = self._handlers.get(call_id or "")
        if handler is not None:
            try:
                handler(msg, addr)
            except Exception:
                logger.exception("[%s] handler failed", call_id)
            return
        if isinstance(msg, SipRequest) and msg.method not in ("ACK",):
            try:
                self.send(bytes(build_response(msg, 481, received=addr)), addr)
            except ValueError:
                pass

    def error_received(self, exc: Exception) -> None:
        logger.debug("SIP socket error: %s", exc)
        targets: list[tuple[str, int] | None] = []
        if self._recverr and self._sock is not None:
            for _ in range(256):  # drain the error queue: each entry names its destination
                try:
                    _, _, _, addr = self._sock.recvmsg(1, 512, socket.MSG_ERRQUEUE)
                except OSError:
                    break
                self.icmp_errors += 1
                targets.append(tuple(addr[:2]) if addr else None)  # type: ignore[arg-type]
        if not targets:
            targets.append(None)
        if self._on_error is not None:
            for addr in dict.fromkeys(targets):
                self._on_error(exc, addr)
