"""`--stdin`: lines on standard input, as auditd's dispatcher hands them to a plugin
(`format = string`: one record per line) or as any pipe does. End of input ends the stream."""

from __future__ import annotations

import os

from detect.sources.live import Batch, LineBatcher

READ_SIZE = 1 << 20
STDIN_FD = 0


class StdinSource:
    blocking = True  # a full queue holds the reader back; auditd queues (q_depth) meanwhile

    def __init__(self, fd: int = STDIN_FD, name: str = "<stdin>") -> None:
        self.fd = fd
        self.name = name
        self._lines = LineBatcher(name)
        self._done = False

    @property
    def done(self) -> bool:
        return self._done

    def open(self) -> None:
        os.fstat(self.fd)  # fails now, not later, when there is no such descriptor

    def read(self) -> Batch | None:
        data = os.read(self.fd, READ_SIZE)
        if not data:
            self._done = True
            return self._lines.finish()
        return self._lines.push(data)

    def close(self) -> None:
        """Standard input belongs to whoever started us: left open."""
