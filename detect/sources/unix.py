"""`--unix PATH`: the stream auditd's af_unix plugin serves (`/etc/audit/plugins.d/af_unix.conf`,
`format = string`: one record per line). auditd listens; we connect. When auditd goes away the
source connects again (every RETRY_S) until it is back or the stream stops."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

from detect.core.errors import DetectError
from detect.sources.live import Batch, LineBatcher

READ_SIZE = 1 << 20
RETRY_S = 0.5
TIMEOUT_S = 0.5


class UnixSourceError(DetectError):
    """The af_unix socket cannot be reached."""


class UnixSource:
    blocking = True  # a full queue holds the reader back; auditd queues meanwhile

    def __init__(
        self, path: str, *, retry_s: float = RETRY_S, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.path = path
        self.name = f"unix:{path}"
        self.retry_s = retry_s
        self._sleep = sleep
        self._sock: socket.socket | None = None
        self._lines = LineBatcher(self.name)

    @property
    def done(self) -> bool:
        return False

    def open(self) -> None:
        try:
            self._sock = self._connect()
        except OSError as error:
            raise UnixSourceError(f"{self.path}: {error}") from None

    def _connect(self) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(self.path)
        except OSError:
            sock.close()
            raise
        sock.settimeout(TIMEOUT_S)
        return sock

    def read(self) -> Batch | None:
        if self._sock is None:
            self._reconnect()
            return None
        try:
            data = self._sock.recv(READ_SIZE)
        except TimeoutError:
            return None
        if not data:
            self._sock.close()
            self._sock = None
            self._lines.drop()
            return None
        return self._lines.push(data)

    def _reconnect(self) -> None:
        try:
            self._sock = self._connect()
        except OSError:
            self._sleep(self.retry_s)

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
