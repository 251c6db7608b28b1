"""The correlation engine: a push object over hits, in audit time.

`push(hit)` takes a match of a rule that some correlation references; `advance(time_ms)`
says audit time has reached `time_ms` (the newest event seen); `flush()` ends the input. Hits
wait in a reorder buffer until audit time has moved `horizon_ms` past them, then go to the
windows in (time, tie-breaker) order, so that events that arrive out of order within the
horizon are placed where they happened and a batch scan and a live stream of the same events
give the same alerts. A hit older than what was already released is *late*: it is placed in
time order in its group all the same, and counted.

Windows that close (audit time passed their end) are decided before any later hit is released.
A correlation's result goes to `emit` unless a correlation over it has `generate: false`, and
to every correlation over it, as a hit at the time its window completed.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from detect.core.defaults import HORIZON_MS
from detect.sigma.correlation.hit import Hit, Result
from detect.sigma.correlation.model import Correlation
from detect.sigma.correlation.window import Limits, Windows, WindowStats

MAX_PENDING = 100_000  # hits waiting for the horizon; beyond it the oldest goes at once


@dataclass
class CorrelatorStats:
    pending_forced: int = 0  # released before the horizon passed (buffer full)
    late: int = 0  # arrived after audit time had passed them by the horizon
    by_correlation: dict[str, WindowStats] = field(default_factory=dict)

    def totals(self) -> WindowStats:
        total = WindowStats()
        for stats in self.by_correlation.values():
            total.add(stats)
        return total

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"late": self.late, "pending_forced": self.pending_forced}
        out.update(self.totals().to_dict())
        return out


class Correlator:
    def __init__(
        self,
        correlations: Sequence[Correlation],
        emit: Callable[[Result], object],
        *,
        silent: frozenset[str] = frozenset(),
        horizon_ms: int = HORIZON_MS,
        limits: Limits | None = None,
        reuse: dict[str, Windows] | None = None,
    ) -> None:
        self.emit = emit
        self.silent = silent
        self.horizon_ms = horizon_ms
        self.windows: dict[str, Windows] = {}
        self.by_input: dict[str, list[Windows]] = {}
        for correlation in correlations:  # dependency order: inputs first
            windows = _reused(reuse, correlation) or Windows(correlation, limits)
            self.windows[correlation.key] = windows
            for key in dict.fromkeys(correlation.inputs):
                self.by_input.setdefault(key, []).append(windows)
        self.stats = CorrelatorStats(
            by_correlation={key: w.stats for key, w in self.windows.items()}
        )
        self.watermark = -1  # hits at or before it have been released
        self._pending: list[tuple[int, tuple[object, ...], int, Hit]] = []
        self._seq = 0

    def wants(self, rule: str) -> bool:
        return rule in self.by_input

    def push(self, hit: Hit) -> None:
        if hit.time_ms <= self.watermark:
            self.stats.late += 1
            self._release(hit)
            return
        self._seq += 1
        heapq.heappush(self._pending, (hit.time_ms, hit.order, self._seq, hit))
        if len(self._pending) > MAX_PENDING:
            self.stats.pending_forced += 1
            self._next()

    def advance(self, time_ms: int) -> None:
        """Audit time reached `time_ms`: release what the horizon no longer holds back."""
        self.release_until(time_ms - self.horizon_ms)

    def release_until(self, limit_ms: int) -> None:
        if limit_ms <= self.watermark:
            return
        pending = self._pending
        while pending and pending[0][0] <= limit_ms:
            self._next()
        self.watermark = limit_ms
        self._close(limit_ms, inclusive=True)

    def flush(self) -> None:
        while self._pending:
            self._next()
        for windows in self.windows.values():
            self._results(windows, windows.flush())

    def drain_pending(self) -> list[Hit]:
        """Take the hits still waiting (to hand them to a reloaded correlator)."""
        hits = [item[3] for item in sorted(self._pending)]
        self._pending = []
        return hits

    @property
    def pending(self) -> int:
        return len(self._pending)

    def busy(self) -> bool:
        """Whether hits wait for the horizon or windows hold any: audit time matters."""
        return bool(self._pending) or any(windows.held for windows in self.windows.values())

    @property
    def held(self) -> int:
        return sum(windows.held for windows in self.windows.values())

    def _next(self) -> None:
        hit = heapq.heappop(self._pending)[3]
        self._close(hit.time_ms, inclusive=False)
        self._release(hit)

    def _close(self, limit_ms: int, inclusive: bool) -> None:
        for windows in self.windows.values():
            due = windows.due_ms  # kept exact by the windows: this runs for every event
            if windows.groups and (due < limit_ms or (inclusive and due == limit_ms)):
                self._results(windows, windows.close_until(limit_ms, inclusive))

    def _release(self, hit: Hit) -> None:
        for windows in self.by_input.get(hit.rule, ()):
            self._results(windows, windows.insert(hit))
        hit.spend()  # the windows took what they read of its fields: the view can go

    def _results(self, windows: Windows, results: list[Result]) -> None:
        key = windows.correlation.key
        for result in results:
            if key not in self.silent:
                self.emit(result)
            outer = self.by_input.get(key)
            if outer:
                self._release(result.as_hit(key))


def _reused(reuse: dict[str, Windows] | None, correlation: Correlation) -> Windows | None:
    """The state of an unchanged correlation across a reload (same key, same definition)."""
    old = (reuse or {}).get(correlation.key)
    if old is None or old.correlation.sigma.to_dict() != correlation.sigma.to_dict():
        return None
    old.correlation = correlation
    return old
