"""Alerts to syslog as RFC 5424 messages: over UDP, over TCP (octet counting, RFC 6587) or to
a local datagram socket such as /dev/log; through the output's spool (detect.outputs.delivery).

`<PRI>1 TIMESTAMP HOST detect PID alert - MSG`: the severity follows the rule's level, the
message is the alert as one JSON object (UTF-8, after a BOM as RFC 5424 asks); the timestamp is
when the alert entered the spool.

What "accepted" means, by transport (syslog has no acknowledgement of its own):
- TCP: several frames per `sendall` (up to TCP_BATCH), then accepted once the receiver's TCP
  stack has acknowledged every byte (the socket's send queue is empty, SIOCOUTQ) and the
  connection shows no reset CONFIRM_S later. A receiver that takes the bytes and then closes
  without reading them can still lose them: where that matters, use the webhook.
- unix datagram (/dev/log): the receiving socket took the message.
- UDP: sent; nothing tells whether it arrived (stats say "sent", not "delivered").
A connection refused or reset, a timeout, or a datagram refused for now (no listener, queue full)
is tried again with backoff; a message too large for a datagram is refused for good.
"""

from __future__ import annotations

import errno
import fcntl
import os
import select
import socket
import sys
import termios
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from detect.core.alert import Alert
from detect.core.errors import DetectError
from detect.outputs.delivery import (
    ACCEPTED,
    DeliverySettings,
    Outcome,
    RemoteOutput,
    failed,
    refused,
)
from detect.outputs.events import dumps
from detect.outputs.spool import Spool, spool_name

BOM = "\ufeff"
FACILITIES = {"kern": 0, "user": 1, "daemon": 3, "auth": 4, "authpriv": 10, "syslog": 5}
FACILITIES.update({f"local{n}": 16 + n for n in range(8)})
SEVERITY = {"critical": 2, "high": 3, "medium": 4, "low": 5, "informational": 6}
DEFAULT_PORT = 514
APP_NAME = "detect"
MSGID = "alert"
TCP_BATCH = 500
TIMEOUT_S = 10.0  # connect, send, and the receiver acknowledging a batch
CONFIRM_S = 0.1  # after the last byte is acknowledged: no reset within this, accepted
POLL_S = 0.002
TCP_CLOSE = 7  # tcpi_state (the first byte of TCP_INFO) of a connection that is over


class SyslogError(DetectError):
    """A syslog address that cannot be used."""


@dataclass(frozen=True)
class SyslogTarget:
    transport: str  # udp, tcp or unix
    address: str | tuple[str, int]

    @classmethod
    def parse(cls, url: str) -> SyslogTarget:
        """`udp://HOST:PORT`, `tcp://HOST:PORT` (an IPv6 address in brackets: `[::1]`) or
        `unix:///dev/log`."""
        parts = urlsplit(url)
        if parts.scheme == "unix" and parts.path:
            return cls("unix", parts.path)
        if parts.scheme in ("udp", "tcp") and parts.hostname:
            return cls(parts.scheme, (parts.hostname, parts.port or DEFAULT_PORT))
        raise SyslogError(f"{url}: not udp://HOST:PORT, tcp://HOST:PORT or unix:///PATH")

    def __str__(self) -> str:
        if isinstance(self.address, str):
            return f"unix://{self.address}"
        host, port = self.address
        return f"{self.transport}://{f'[{host}]' if ':' in host else host}:{port}"


def format_message(
    alert: dict[str, Any], facility: int, host: str, pid: int, now: datetime
) -> bytes:
    level = str(alert.get("detect", {}).get("level", "medium"))
    pri = facility * 8 + SEVERITY.get(level, 4)
    stamp = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    header = f"<{pri}>1 {stamp} {host or '-'} {APP_NAME} {pid} {MSGID} - "
    return (header + BOM + dumps(alert)).encode("utf-8", "surrogateescape")


class SyslogFormat:
    """An alert as the RFC 5424 message the output sends (the bytes kept in the spool)."""

    def __init__(
        self,
        facility: str = "local0",
        host: str | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if facility not in FACILITIES:
            raise SyslogError(f"unknown syslog facility {facility!r}")
        self.facility = FACILITIES[facility]
        self.host = host if host is not None else socket.gethostname()
        self.clock = clock

    def __call__(self, alert: Alert) -> bytes:
        return format_message(alert.document(), self.facility, self.host, os.getpid(), self.clock())


class SyslogTransport:
    def __init__(
        self, target: SyslogTarget, *, timeout_s: float = TIMEOUT_S, confirm_s: float = CONFIRM_S
    ) -> None:
        self.target = target
        self.name = f"syslog {target}"
        self.confirms = target.transport != "udp"
        self.batch_records = TCP_BATCH if target.transport == "tcp" else 1
        self.timeout_s = timeout_s
        self.confirm_s = confirm_s
        self._sock: socket.socket | None = None

    def send(self, payloads: Sequence[bytes]) -> Outcome:
        try:
            sock = self._socket()
            if self.target.transport == "tcp":
                sock.sendall(b"".join(b"%d %s" % (len(p), p) for p in payloads))
                self._confirm(sock)
            else:
                for payload in payloads:
                    sock.send(payload)
        except OSError as error:
            self.close()
            if error.errno == errno.EMSGSIZE:
                return refused("message too large for a datagram")
            return failed(error.strerror.lower() if error.strerror else str(error) or "error")
        return ACCEPTED

    def _socket(self) -> socket.socket:
        if self._sock is not None and self.target.transport == "tcp" and _closed(self._sock):
            self.close()  # the receiver closed it while idle: a new connection
        return self._sock or self._connect()

    def _confirm(self, sock: socket.socket) -> None:
        """Every byte acknowledged by the receiver, and no reset CONFIRM_S later; OSError."""
        deadline = time.monotonic() + self.timeout_s
        while _unacknowledged(sock):
            _raise_if_broken(sock)  # a reset leaves the queue's count as it was
            if time.monotonic() > deadline:
                raise TimeoutError(f"the receiver took nothing for {self.timeout_s:g} s")
            time.sleep(POLL_S)
        select.select([sock], [], [], self.confirm_s)
        _raise_if_broken(sock)

    def _connect(self) -> socket.socket:
        """Connect to the target: a host name is tried at each of its addresses, IPv6 or
        IPv4, in the resolver's order; the last failure is raised."""
        if self.target.transport == "unix":
            self._sock = _open(
                socket.AF_UNIX, socket.SOCK_DGRAM, self.target.address, self.timeout_s
            )
            return self._sock
        assert isinstance(self.target.address, tuple)
        host, port = self.target.address
        kind = socket.SOCK_STREAM if self.target.transport == "tcp" else socket.SOCK_DGRAM
        failure: OSError = OSError(f"{host}: no address")
        for family, _, _, _, address in socket.getaddrinfo(host, port, type=kind):
            try:
                self._sock = _open(family, kind, address, self.timeout_s)
                return self._sock
            except OSError as error:
                failure = error
        raise failure

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def _open(
    family: int, kind: int, address: str | tuple[Any, ...], timeout_s: float | None
) -> socket.socket:
    sock = socket.socket(family, kind)
    try:
        sock.settimeout(timeout_s)
        sock.connect(address)
    except OSError:
        sock.close()
        raise
    return sock


def _unacknowledged(sock: socket.socket) -> int:
    """Bytes in the socket's send queue: not sent yet, or not acknowledged by the peer."""
    return int.from_bytes(fcntl.ioctl(sock, termios.TIOCOUTQ, b"\0\0\0\0"), sys.byteorder)


def _raise_if_broken(sock: socket.socket) -> None:
    """OSError when the connection was reset (or closed by us after an error)."""
    error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    if error:
        raise OSError(error, os.strerror(error))
    if sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0] == TCP_CLOSE:
        raise ConnectionResetError(errno.ECONNRESET, "connection reset by peer")


def _closed(sock: socket.socket) -> bool:
    """The peer closed or reset the connection (a syslog receiver never writes to it)."""
    readable, _, _ = select.select([sock], [], [], 0)
    if not readable:
        return False
    try:
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def syslog_output(
    url: str, facility: str, settings: DeliverySettings, host: str | None = None
) -> RemoteOutput:
    target = SyslogTarget.parse(url)
    encode = SyslogFormat(facility, host)
    spool = Spool(
        settings.spool, spool_name("syslog", url), max_bytes=settings.max_bytes, say=settings.say
    )
    return RemoteOutput(
        SyslogTransport(target), encode, spool, backoff=settings.backoff, say=settings.say
    )
