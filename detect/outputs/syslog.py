"""Alerts to syslog as RFC 5424 messages: over UDP, over TCP (octet counting, RFC 6587) or to
a local datagram socket such as /dev/log.

`<PRI>1 TIMESTAMP HOST detect PID alert - MSG`: the severity follows the rule's level, the
message is the alert as one JSON object (UTF-8, after a BOM as RFC 5424 asks). A message that
cannot be sent (the collector is down) is counted in `failed`; TCP connects again on the next.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from detect.core.alert import Alert
from detect.core.errors import DetectError
from detect.outputs.events import dumps

BOM = "\ufeff"
FACILITIES = {"kern": 0, "user": 1, "daemon": 3, "auth": 4, "authpriv": 10, "syslog": 5}
FACILITIES.update({f"local{n}": 16 + n for n in range(8)})
SEVERITY = {"critical": 2, "high": 3, "medium": 4, "low": 5, "informational": 6}
DEFAULT_PORT = 514
APP_NAME = "detect"
MSGID = "alert"


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


def format_message(
    alert: dict[str, Any], facility: int, host: str, pid: int, now: datetime
) -> bytes:
    level = str(alert.get("detect", {}).get("level", "medium"))
    pri = facility * 8 + SEVERITY.get(level, 4)
    stamp = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    header = f"<{pri}>1 {stamp} {host or '-'} {APP_NAME} {pid} {MSGID} - "
    return (header + BOM + dumps(alert)).encode("utf-8", "surrogateescape")


class SyslogSink:
    def __init__(
        self,
        target: SyslogTarget,
        *,
        facility: str = "local0",
        host: str | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if facility not in FACILITIES:
            raise SyslogError(f"unknown syslog facility {facility!r}")
        self.target = target
        self.facility = FACILITIES[facility]
        self.host = host if host is not None else socket.gethostname()
        self.clock = clock
        self.sent = 0
        self.failed = 0
        self._sock: socket.socket | None = None

    def __call__(self, alert: Alert) -> None:
        document = alert.document()
        message = format_message(document, self.facility, self.host, os.getpid(), self.clock())
        try:
            self._send(message)
            self.sent += 1
        except OSError:
            self.failed += 1
            self.close()

    def _send(self, message: bytes) -> None:
        sock = self._sock or self._connect()
        if self.target.transport == "tcp":
            sock.sendall(f"{len(message)} ".encode() + message)
        else:
            sock.send(message)

    def _connect(self) -> socket.socket:
        """Connect to the target: a host name is tried at each of its addresses, IPv6 or
        IPv4, in the resolver's order; the last failure is raised."""
        if self.target.transport == "unix":
            self._sock = _open(socket.AF_UNIX, socket.SOCK_DGRAM, self.target.address)
            return self._sock
        assert isinstance(self.target.address, tuple)
        host, port = self.target.address
        kind = socket.SOCK_STREAM if self.target.transport == "tcp" else socket.SOCK_DGRAM
        failure: OSError = OSError(f"{host}: no address")
        for family, _, _, _, address in socket.getaddrinfo(host, port, type=kind):
            try:
                self._sock = _open(family, kind, address)
                return self._sock
            except OSError as error:
                failure = error
        raise failure

    def flush(self) -> None:
        """Every message is sent when written."""

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def _open(family: int, kind: int, address: str | tuple[Any, ...]) -> socket.socket:
    sock = socket.socket(family, kind)
    try:
        sock.connect(address)
    except OSError:
        sock.close()
        raise
    return sock
