"""A batch scan's progress on stderr (rich, imported only when shown): one bar per worker
when there are several, and a total, each with bytes read (on disk, the ETA comes from the
input sizes), records read, records/s, alerts written and incidents closed so far. Off, it
does nothing: `detect scan` turns it on for a terminal only (or with `--progress`)."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, TextIO

from detect.pipeline.partition import Bundle

if TYPE_CHECKING:  # rich is imported only for a scan that shows progress (~5.7 MB, 20 ms)
    from rich.progress import Progress, TaskID

    from detect.pipeline.hostscan import BundleResult

REFRESH_PER_SECOND = 4
COUNTS = (
    "{task.fields[records]:>11,} records {task.fields[rate]:>9,.0f}/s "
    "{task.fields[alerts]:>6,} alerts {task.fields[incidents]:>5,} incidents"
)


def progress_columns() -> tuple[object, ...]:
    from rich.progress import BarColumn, DownloadColumn, TextColumn, TimeRemainingColumn

    return (
        TextColumn("{task.description:<12}"),
        BarColumn(bar_width=24),
        DownloadColumn(),
        TextColumn(COUNTS),
        TimeRemainingColumn(),
    )


class ScanProgress:
    """Progress of the bundles of one scan; `update` with each worker's running totals."""

    def __init__(
        self,
        bundles: Sequence[Bundle],
        enabled: bool,
        stream: TextIO | None = None,
        title: str = "total",
    ) -> None:
        """`title`: the total's name ("rescan": the hosts the probe missed, scanned again)."""
        self.enabled = enabled
        self._started = time.monotonic()
        self._last: dict[int, tuple[int, int, int, int]] = {}
        self._progress: Progress | None = None
        self._tasks: dict[int, TaskID] = {}
        self._total: TaskID | None = None
        self._sizes = {bundle.index: bundle.size for bundle in bundles}
        if not enabled:
            return
        from rich.console import Console
        from rich.progress import Progress

        console = Console(file=stream or sys.stderr, force_terminal=True)
        self._progress = Progress(
            *progress_columns(),  # type: ignore[arg-type]
            console=console,
            refresh_per_second=REFRESH_PER_SECOND,
        )
        fields: dict[str, Any] = {"records": 0, "rate": 0.0, "alerts": 0, "incidents": 0}
        if len(bundles) > 1:
            for bundle in bundles:
                name = f"worker {bundle.index + 1}"
                self._tasks[bundle.index] = self._progress.add_task(
                    name, total=bundle.size, **fields
                )
        total = sum(bundle.size for bundle in bundles)
        self._total = self._progress.add_task(title, total=total, **fields)

    def __enter__(self) -> ScanProgress:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.refresh()
            self._progress.stop()

    def update(self, index: int, lines: int, done: int, alerts: int, closed: int) -> None:
        """Bundle `index` has read `lines` lines, `done` bytes, written `alerts` alerts and
        closed `closed` incidents so far."""
        if self._progress is None:
            return
        self._last[index] = (lines, done, alerts, closed)
        rate = lines / max(time.monotonic() - self._started, 1e-6)
        task = self._tasks.get(index)
        if task is not None:
            self._set(task, lines, done, alerts, closed, rate)
        if self._total is not None:
            lines, done, alerts, closed = (sum(v) for v in zip(*self._last.values(), strict=True))
            total_rate = lines / max(time.monotonic() - self._started, 1e-6)
            self._set(self._total, lines, done, alerts, closed, total_rate)

    def finished(self, result: BundleResult) -> None:
        """A bundle ended (on a cluster, the only news of it)."""
        lines = sum(host.counts.reassembly["lines"] for host in result.hosts)
        alerts = sum(len(host.alerts) for host in result.hosts)
        closed = sum(len(host.incidents) for host in result.hosts)
        self.update(result.index, lines, self._sizes[result.index], alerts, closed)

    def _set(
        self, task: TaskID, lines: int, done: int, alerts: int, closed: int, rate: float
    ) -> None:
        assert self._progress is not None
        self._progress.update(
            task, completed=done, records=lines, rate=rate, alerts=alerts, incidents=closed
        )
