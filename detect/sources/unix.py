"""`--unix PATH`: the stream auditd's af_unix plugin serves (`/etc/audit/plugins.d/af_unix.conf`,
`format = string`: one record per line). auditd listens; we connect. When the connection ends
(EOF: auditd restarted) or breaks (a reset, any socket error), the source says so, drops the
unfinished line, and connects again with a backoff (RETRY_S, doubling up to MAX_RETRY_S) until
auditd is back or the stream stops; it says when it is connected again. Only the first connection
failing is an error (`open`)."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

from detect.core.defaults import MAX_LINE
from detect.core.errors import DetectError
from detect.sources.live import Batch, LineBatcher

READ_SIZE = 1 << 20
RETRY_S = 0.5
MAX_RETRY_S = 5.0
TIMEOUT_S = 0.5


class UnixSourceError(DetectError):
    """The af_unix socket cannot be reached."""


class UnixSource:
    blocking = True  # a full queue holds the reader back; auditd queues meanwhile

    def __init__(
        self,
        path: str,
        *,
        retry_s: float = RETRY_S,
        max_retry_s: float = MAX_RETRY_S,
        sleep: Callable[[float], None] = time.sleep,
        say: Callable[[str], None] = lambda text: None,
        max_line: int = MAX_LINE,
    ) -> None:
        self.path = path
        self.name = f"unix:{path}"
        self.retry_s = retry_s
        self.max_retry_s = max_retry_s
        self._sleep = sleep
        self._say = say
        self._sock: socket.socket | None = None
        self._lines = LineBatcher(self.name, max_line)
        self._delay = retry_s
        self.reconnects = 0

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
        except OSError as error:
            self._lost(error.strerror or str(error))
            return None
        if not data:
            self._lost("closed by auditd")
            return None
        return self._lines.push(data)

    def _lost(self, why: str) -> None:
        self.close()
        self._lines.drop()
        self._delay = self.retry_s
        self._say(f"{self.name}: connection lost ({why}); connecting again")

    def _reconnect(self) -> None:
        try:
            self._sock = self._connect()
        except OSError:
            self._sleep(self._delay)
            self._delay = min(self._delay * 2, self.max_retry_s)
            return
        self.reconnects += 1
        self._say(f"{self.name}: connected again")

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
