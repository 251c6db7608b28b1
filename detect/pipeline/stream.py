"""The live loop of `detect stream`: one source → reader thread → bounded queue → Reassembler →
Scan → outputs, the same Reassembler and Scan as `detect scan`.

Each turn takes a batch from the queue (or waits `tick_s`), pushes its lines, then: completes
events idle for `idle_s` of wall time (only while caught up: when batches wait in the queue the
rest of an event may be among them, and audit-time expiry does the work), flushes the outputs
(an alert leaves within the batch that completed its event), writes the checkpoint when due
(follow), the stats line when due, and reloads detections if SIGHUP asked. SIGTERM and SIGINT
stop reading; what is queued is still processed, every event in flight is completed, outputs
flushed, the checkpoint written. Remote outputs then get up to `drain_s` to deliver what their
spools hold; what they could not is said on stderr (`undelivered` is then True: the command
exits 2) and stays in the spools for the next start.

Time: the clock is injected (`clock`: monotonic seconds, `wall`: epoch seconds for lag).
"""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from detect.auditd.event import AuditEvent
from detect.auditd.record import Record, key_text, parse_line
from detect.core.errors import ParseError
from detect.outputs.delivery import DRAIN_S, DeliveryCounts
from detect.outputs.fanout import AlertOutputs
from detect.pipeline.bounds import bounds_line
from detect.pipeline.expiry import IDLE_S, WallClockExpiry
from detect.pipeline.factory import DEFAULTS, PipelineSettings, build_reassembler, reload_scan
from detect.pipeline.reader import QUEUE_SIZE, EndOfInput, Reader
from detect.pipeline.scan import Scan
from detect.pipeline.stats import RateMeter, StatsSnapshot, StreamCounts, delivery_text
from detect.sigma.model import RuleSet
from detect.sources.checkpoint import Position, Progress
from detect.sources.live import Batch, LiveSource
from detect.sources.netlink import KernelStatus

TICK_S = 0.05
EXPIRY_EVERY_S = 0.1
CHECKPOINT_EVERY_S = 0.2
STATS_EVERY_S = 60.0


@dataclass(frozen=True)
class StreamSettings:
    pipeline: PipelineSettings = DEFAULTS
    idle_s: float = IDLE_S
    queue_size: int = QUEUE_SIZE
    stats_every_s: float = STATS_EVERY_S  # 0: no stats lines
    checkpoint: Path | None = None
    checkpoint_every_s: float = CHECKPOINT_EVERY_S
    tick_s: float = TICK_S
    drain_s: float = DRAIN_S  # at the end, how long remote outputs may take to empty spools


def line_key(line: str) -> str | None:
    """`node|stamp|serial` of the event a line's record belongs to, as reassembly reads the line
    (checkpoints keep keys so); None for a line that is not a record."""
    try:
        return record_key(parse_line(line))
    except ParseError:
        return None


def record_key(record: Record) -> str:
    return key_text((record.node, record.stamp, record.serial))


class Stream:
    def __init__(
        self,
        source: LiveSource,
        scan: Scan,
        outputs: AlertOutputs,
        settings: StreamSettings | None = None,
        *,
        reload: Callable[[], RuleSet] | None = None,
        progress: Progress | None = None,
        kernel: KernelStatus | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        err: TextIO = sys.stderr,
    ) -> None:
        self.settings = settings or StreamSettings()
        self.source, self.scan, self.outputs = source, scan, outputs
        self.reload, self.progress, self.kernel = reload, progress, kernel
        self.clock, self.wall, self.err = clock, wall, err
        self.counts = StreamCounts()
        self.machine = build_reassembler(self._on_event, self.settings.pipeline, scan=scan)
        self.expiry = WallClockExpiry(self.machine, clock, self.settings.idle_s)
        self.reader = Reader(source, self.settings.queue_size)
        self.stop_requested = False
        self.reload_requested = False
        now = clock()
        self._rate = RateMeter(now)
        self._due = {"expiry": now, "checkpoint": now, "stats": now + self.settings.stats_every_s}
        self._kernel_start = kernel.lost() if kernel is not None else None
        self._last_checkpoint: Any = None
        self._newest_at = now
        self.undelivered = False  # set at the end: a remote output kept or dropped alerts

    def _on_event(self, event: AuditEvent) -> None:
        if self.progress is not None:
            self.progress.completed(key_text(event.key))
        self.counts.events += 1
        if event.time_ms > self.counts.newest_event_ms:
            self.counts.newest_event_ms, self._newest_at = event.time_ms, self.clock()
        self.scan.on_event(event)

    # --- the loop ---

    def run(self) -> None:
        """Until the input ends or a signal stops it. A source error is raised after the
        events read so far are completed and written."""
        previous = self._install_signals()
        self._first_checkpoint()
        self.reader.start()
        self.err.write(f"stream: reading {self.source.name}\n")  # signals are handled from here
        self.err.flush()
        try:
            self._loop()
        finally:
            self.reader.stop()
            self._finish()
            self._restore_signals(previous)

    def _loop(self) -> None:
        while not self.stop_requested:
            item = self.reader.get(self.settings.tick_s)
            if not self._handle(item):
                return
            self._tick()
        while (item := self.reader.get_nowait()) is not None and self._handle(item):
            pass

    def _handle(self, item: Batch | EndOfInput | BaseException | None) -> bool:
        """False at the end of input."""
        if isinstance(item, Batch):
            self.push(item)
        elif isinstance(item, EndOfInput):
            return False
        elif isinstance(item, BaseException):
            raise item
        return True

    def push(self, batch: Batch) -> None:
        self.counts.lines += len(batch.lines)
        if self.progress is not None and batch.mark is not None:
            self._push_tracked(batch)
            return
        push, source, lineno = self.machine.push, batch.source, batch.first_lineno
        for index, line in enumerate(batch.lines):
            push(line, source, lineno + index if lineno else 0)

    def _push_tracked(self, batch: Batch) -> None:
        """Each line's event key from the record reassembly parses (a line it refuses is no
        event), and an event is open only while reassembly holds it: a checkpoint never waits
        on an event that will not complete."""
        progress, machine = self.progress, self.machine
        assert progress is not None and batch.mark is not None
        mark, seq, anchor, first = batch.mark, batch.seq, batch.anchor, batch.first_lineno
        for index, line in enumerate(batch.lines):
            lineno = first + index if first else 0
            position = Position(mark, batch.offsets[index], lineno, anchor, seq)
            anchor = line
            record = machine.parse(line, batch.source, lineno)
            key = None if record is None else record_key(record)
            if progress.skip(key, position):
                self.counts.skipped_lines += 1
                continue
            if record is None or key is None:
                continue
            progress.line(key, position)
            machine.push_record(record)
            if not machine.holds(record):
                progress.unheld(key)
        end_line = first + len(batch.lines) if first else 0
        progress.advance(Position(mark, batch.end, end_line, anchor, seq))

    def _tick(self) -> None:
        now = self.clock()
        if now >= self._due["expiry"] and self.reader.queue.empty():
            self.expiry.maintain()  # only when caught up: behind, the rest may be queued
            self._advance_audit_time(now)
            self._due["expiry"] = now + EXPIRY_EVERY_S
        self.outputs.flush()
        if self.reload_requested:
            self._reload()
        if self.progress is not None and now >= self._due["checkpoint"]:
            self.write_checkpoint()
            self._due["checkpoint"] = now + self.settings.checkpoint_every_s
        if self.settings.stats_every_s and now >= self._due["stats"]:
            self.err.write(self.snapshot().line() + "\n")
            self.err.flush()
            self._due["stats"] = now + self.settings.stats_every_s

    def _advance_audit_time(self, now: float) -> None:
        """Audit time moves on while nothing arrives: the newest event's time plus the wall
        time since it came (so a replay at full speed is not pushed ahead of its own time)."""
        newest = self.counts.newest_event_ms
        if newest >= 0:
            self.scan.advance(newest + int((now - self._newest_at) * 1000))

    def _finish(self) -> None:
        self.machine.flush()
        self.scan.flush()
        self.outputs.flush()
        if self.progress is not None:
            self.write_checkpoint()
        self.outputs.drain(self.settings.drain_s)
        if self.settings.stats_every_s:
            self.err.write(self.snapshot().line() + "\n")
        deliveries = self.outputs.deliveries()
        self.err.write(self.end_line(deliveries) + "\n")
        for example in self.machine.stats.unparsed_examples:  # the first few, as scan says them
            self.err.write(f"stream: unparsed: {example}\n")
        bounds = bounds_line(self.machine, self.scan)
        if bounds is not None:
            self.err.write(bounds + "\n")
        self._report_undelivered(deliveries)
        self.err.flush()
        self.source.close()

    def end_line(self, deliveries: list[DeliveryCounts] | None = None) -> str:
        stats, counts = self.machine.stats, self.counts
        return (
            f"stream: end: {counts.lines} lines, {stats.records} records, {stats.events} events, "
            f"{self.scan.alerts} alerts, unparsed {stats.unparsed}, expired {stats.expired}, "
            f"serial gaps {self.machine.lost}, drops {self.drops}, "
            f"skipped after restart {counts.skipped_lines}, reloads {counts.reloads}"
            f"{delivery_text(deliveries or [])}"
        )

    def _report_undelivered(self, deliveries: list[DeliveryCounts]) -> None:
        for output in deliveries:
            if output.pending:
                self.err.write(
                    f"stream: {output.name}: {output.pending} alerts not delivered after "
                    f"{self.settings.drain_s:g} s; they stay in the spool {output.spool} and are "
                    "sent when the stream starts again with it\n"
                )
            if output.dropped:
                self.err.write(
                    f"stream: {output.name}: {output.dropped} alerts dropped (refused by the "
                    "receiver, or the spool was full: see above)\n"
                )
            self.undelivered = self.undelivered or bool(output.pending or output.dropped)

    # --- checkpoint, reload, stats ---

    def _first_checkpoint(self) -> None:
        """Before reading: a restart after a crash in the first moments starts here too."""
        position = getattr(self.source, "position", None)
        if self.progress is not None and self.progress.end is None and position is not None:
            self.progress.advance(position())
            self.write_checkpoint()

    def write_checkpoint(self) -> None:
        """Alerts first (flushed, their file's size kept), then the checkpoint."""
        path, progress = self.settings.checkpoint, self.progress
        if path is None or progress is None:
            return
        self.outputs.flush()
        point = progress.checkpoint(self.outputs.size())
        if point is not None and point != self._last_checkpoint:
            point.write(path)
            self._last_checkpoint = point

    def _reload(self) -> None:
        self.reload_requested = False
        if self.reload is None:
            return
        rules = self.reload()
        for error in rules.errors:
            self.err.write(f"stream: reload: rule error: {error}\n")
        if rules.errors or not rules.rules:
            why = "a rule failed" if rules.errors else "no rules loaded"
            self.err.write(f"stream: reload: {why}; the previous rules stay\n")
            return
        reload_scan(self.scan, rules, self.settings.pipeline)
        self.counts.reloads += 1
        self.err.write(f"stream: reloaded {len(rules.rules)} rules\n")
        self.err.flush()

    def snapshot(self) -> StatsSnapshot:
        newest = self.counts.newest_event_ms
        kernel = self.kernel.lost() if self.kernel is not None else None
        kernel_lost = None
        if kernel is not None and self._kernel_start is not None:
            kernel_lost = kernel - self._kernel_start
        return StatsSnapshot(
            events_per_s=self._rate.rate(self.clock(), self.counts.events),
            lag_s=None if newest < 0 else max(0.0, self.wall() - newest / 1000),
            serial_gaps=self.machine.lost,
            kernel_lost=kernel_lost,
            drops=self.drops,
            alerts=self.scan.alerts,
            inflight=self.machine.inflight,
            queued=self.reader.queue.qsize(),
            queue_size=self.reader.size,
            outputs=tuple(self.outputs.deliveries()),
        )

    @property
    def drops(self) -> int:
        return self.reader.dropped_lines + int(getattr(self.source, "overruns", 0))

    # --- signals ---

    def _on_stop(self, signum: int, frame: FrameType | None) -> None:
        self.stop_requested = True

    def _on_hup(self, signum: int, frame: FrameType | None) -> None:
        self.reload_requested = True

    def _install_signals(self) -> dict[int, Any]:
        handlers = {
            signal.SIGTERM: self._on_stop,
            signal.SIGINT: self._on_stop,
            signal.SIGHUP: self._on_hup,
        }
        return {signum: signal.signal(signum, handler) for signum, handler in handlers.items()}

    @staticmethod
    def _restore_signals(previous: dict[int, Any]) -> None:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
