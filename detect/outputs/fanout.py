"""Where a stream's alerts go: one formatted stream (stdout, a file, a rotating file) and any
number of remote outputs (syslog, webhook: each through its spool, detect.outputs.delivery), all
fed each alert; flushed after each batch (a remote output's spool is fsync'd then) so an alert
leaves within the batch that completed its event, and is on disk before a checkpoint says its
event is done. At the end, `drain` gives the remote outputs a bounded time to empty their
spools."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any, Protocol

from detect.core.alert import Alert
from detect.outputs.delivery import DeliveryCounts, RemoteOutput


class Closable(Protocol):
    def flush(self) -> None: ...

    def close(self) -> None: ...


class AlertOutputs:
    def __init__(self) -> None:
        self._sinks: list[Callable[[Alert], object]] = []
        self._closables: list[Closable] = []
        self._remote: list[RemoteOutput] = []
        self._sized: Any = None  # the plain file whose size a checkpoint keeps
        self._pending = False

    def add(self, sink: Callable[[Alert], object], closable: Closable | None = None) -> None:
        self._sinks.append(sink)
        if closable is not None:
            self._closables.append(closable)

    def add_remote(self, output: RemoteOutput) -> None:
        self.add(output, output)
        self._remote.append(output)

    def deliveries(self) -> list[DeliveryCounts]:
        """Per remote output: delivered, pending, retried, dropped."""
        return [output.counts() for output in self._remote]

    def drain(self, seconds: float) -> None:
        """Give the remote outputs up to `seconds` (together) to deliver what their spools
        hold, then stop their delivery threads; what is left stays in the spools."""
        deadline = time.monotonic() + seconds
        for output in self._remote:
            output.drain(deadline)
        for output in self._remote:
            output.stop()

    def size_of(self, stream: Any) -> None:
        """`stream` is a plain file: checkpoints keep its size (a restart cuts the file back to
        it: `safe_open.open_output(keep=)`)."""
        self._sized = stream

    def __call__(self, alert: Alert) -> None:
        for sink in self._sinks:
            sink(alert)
        self._pending = True

    def flush(self) -> None:
        if self._pending:
            for item in self._closables:
                item.flush()
            self._pending = False

    def size(self) -> int | None:
        if self._sized is None:
            return None
        self._sized.flush()
        return os.fstat(self._sized.fileno()).st_size

    def close(self) -> None:
        for item in self._closables:
            item.close()
