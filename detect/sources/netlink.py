"""`--netlink`: the kernel's audit multicast group (AUDIT_NLGRP_READLOG), no auditd needed.

Each netlink message is one record: a `nlmsghdr` (length, type number, flags, sequence, port)
and the record's text `audit(SEC.MSEC:SERIAL): body`. It becomes the line auditd would write,
`type=NAME msg=audit(...): body`. The kernel sends EOE too, so events complete at once.
Joining the group needs CAP_AUDIT_READ (root); once bound, privileges can be dropped.

`KernelStatus` asks the kernel for its audit status (AUDIT_GET) over a second socket, for the
lost-record counter; that needs CAP_AUDIT_CONTROL at each request, so after privileges are
dropped it says None.
"""

from __future__ import annotations

import errno
import select
import socket
import struct

from detect.core.errors import DetectError
from detect.kernel import tables
from detect.sources.live import Batch

NETLINK_AUDIT = 9
AUDIT_NLGRP_READLOG = 1
AUDIT_GET = 1000
NLMSG_ERROR = 2
NLM_F_REQUEST = 0x1
HEADER = struct.Struct("=IHHII")  # nlmsghdr: len, type, flags, seq, pid
STATUS = struct.Struct(
    "=8I"
)  # audit_status: mask enabled failure pid rate backlog_limit lost backlog
RECV_SIZE = 1 << 16
RCVBUF = 8 << 20
SO_RCVBUFFORCE = 33
TIMEOUT_S = 0.5
MAX_BATCH = 4096


class NetlinkError(DetectError):
    """The audit netlink socket cannot be opened (not root, no audit in this kernel)."""


def align(length: int) -> int:
    return (length + 3) & ~3


def record_line(rtype: int, payload: bytes) -> str:
    """A netlink audit message as the line auditd would write."""
    name = tables.record_type_name(rtype) or f"UNKNOWN[{rtype}]"
    text = payload.split(b"\0", 1)[0].rstrip(b"\n").decode("utf-8", "surrogateescape")
    return f"type={name} msg={text}\n"


def decode_messages(data: bytes) -> list[tuple[int, bytes]]:
    """(type, payload) of each message in one datagram; a short or bad header ends it."""
    out, at = [], 0
    while at + HEADER.size <= len(data):
        length, rtype, _, _, _ = HEADER.unpack_from(data, at)
        if length < HEADER.size or at + length > len(data):
            break
        out.append((rtype, data[at + HEADER.size : at + length]))
        at += align(length)
    return out


def open_socket(groups: int) -> socket.socket:
    try:
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_AUDIT)
    except OSError as error:
        raise NetlinkError(f"audit netlink socket: {error}") from None
    try:
        sock.bind((0, groups))
    except OSError as error:
        sock.close()
        raise NetlinkError(
            f"audit netlink group {groups}: {error} (needs CAP_AUDIT_READ)"
        ) from None
    return sock


class NetlinkSource:
    blocking = False  # the kernel does not wait: a full queue drops and counts

    def __init__(self) -> None:
        self.name = "netlink"
        self._sock: socket.socket | None = None
        self._lineno = 1
        self.overruns = 0  # ENOBUFS: the socket buffer overflowed, records lost in the kernel
        self.other = 0  # messages that are not records (errors, acks)

    @property
    def done(self) -> bool:
        return False

    def open(self) -> None:
        self._sock = open_socket(AUDIT_NLGRP_READLOG)
        try:
            self._sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RCVBUF)
        except OSError:
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
        self._sock.setblocking(False)  # waits in `select`: a timeout would wait in each recv

    def read(self) -> Batch | None:
        assert self._sock is not None
        lines: list[str] = []
        if not select.select([self._sock], [], [], TIMEOUT_S)[0]:
            return None
        try:
            while len(lines) < MAX_BATCH:
                self._take(self._sock.recv(RECV_SIZE), lines)
        except BlockingIOError:
            pass
        except OSError as error:
            if error.errno != errno.ENOBUFS:
                raise
            self.overruns += 1
        if not lines:
            return None
        batch = Batch(lines, self.name, self._lineno)
        self._lineno += len(lines)
        return batch

    def _take(self, data: bytes, lines: list[str]) -> None:
        for rtype, payload in decode_messages(data):
            if rtype < 1000:
                self.other += 1
            else:
                lines.append(record_line(rtype, payload))

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


class KernelStatus:
    """The kernel's audit status over netlink (AUDIT_GET); None when it cannot be asked."""

    def __init__(self) -> None:
        self._sock: socket.socket | None = None
        self._seq = 0

    def open(self) -> bool:
        try:
            self._sock = open_socket(0)
            self._sock.settimeout(TIMEOUT_S)
        except NetlinkError:
            return False
        return self.lost() is not None

    def lost(self) -> int | None:
        status = self.status()
        return None if status is None else status[6]

    def status(self) -> tuple[int, ...] | None:
        if self._sock is None:
            return None
        self._seq += 1
        request = HEADER.pack(HEADER.size, AUDIT_GET, NLM_F_REQUEST, self._seq, 0)
        try:
            self._sock.send(request)
            return self._reply()
        except OSError:
            return None

    def _reply(self) -> tuple[int, ...] | None:
        assert self._sock is not None
        for _ in range(8):
            for rtype, payload in decode_messages(self._sock.recv(RECV_SIZE)):
                if rtype == AUDIT_GET and len(payload) >= STATUS.size:
                    return STATUS.unpack_from(payload)
                if rtype == NLMSG_ERROR and struct.unpack_from("=i", payload)[0] != 0:
                    return None
        return None

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
