"""Deduplication (DESIGN §12): alerts of one rule on one host for the same activity (process
executable, command line, parent executable, user) within a window of audit time fold into one.

The first alert of a group is written at once (a stream must not wait); the repeats within
`window_ms` of it are folded, and when the window closes (the host's audit time moves past it,
or the input ends) a group that folded repeats writes one more alert: the first alert again
with `detect.count` (all of them), `detect.first` and `detect.last`, and `detect.events`: the
events it stands for, the first MAX_EVENTS of them, with `detect.events_total`. Correlation
alerts are never folded. State is bounded (`max_groups`; the oldest group is closed early when
full, and counted). Batch and stream give the same lines.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from detect.core.alert import Alert, Document, Fold
from detect.core.packing import pack, pickled, unpack_against
from detect.triage.deadlines import Deadlines

DEFAULT_WINDOW_MS: Final = 10 * 60 * 1000
MAX_EVENTS: Final = 20
MAX_GROUPS: Final = 50_000
GroupKey = tuple[str, str | None, str | None, str | None, str | None, str | None]


@dataclass(slots=True)
class Group:
    """An open window. Windows last minutes and there are many: each keeps what its fold
    alert needs of the first alert (not its events nor the caches it built when written) and
    the events it stands for packed (a compressed pickle each), unpacked at the close."""

    first: Alert  # the rule, host, time, ancestry and activity of the first alert; no events
    deadline_ms: int
    last_ms: int
    count: int = 1
    # the first event packed alone, the others against it (detect.core.packing): the events of
    # one activity differ little (times, serials, pids); 20 take 1,888 bytes against 3,001
    events: list[bytes] = field(default_factory=list)

    def add_events(self, events: list[Document]) -> None:
        room = MAX_EVENTS - len(self.events)
        for event in events[: max(room, 0)]:
            self.events.append(pack(event, self._preset() if self.events else None))

    def _preset(self) -> bytes:
        return pickled(self.events[0])

    def unpacked(self) -> list[Document]:
        if not self.events:
            return []
        preset = self._preset()
        return [pickle.loads(preset), *unpack_against(self.events[1:], preset)]


def _bare(alert: Alert) -> Alert:
    """What a group keeps of its first alert."""
    return Alert(
        alert.rule, alert.time_ms, alert.host, [], ancestry=alert.ancestry, activity=alert.activity
    )


@dataclass
class DedupStats:
    folded: int = 0  # alerts that were not written on their own
    updates: int = 0  # fold alerts written at a window's close
    closed_early: int = 0  # groups closed because the table was full

    def to_dict(self) -> dict[str, int]:
        return {"folded": self.folded, "updates": self.updates, "closed_early": self.closed_early}


def group_key(alert: Alert) -> GroupKey:
    activity = alert.activity
    return (
        alert.rule.id,
        alert.host,
        activity.executable,
        activity.command_line,
        activity.parent_executable,
        activity.user,
    )


class Deduplicator:
    """A push object: `push(alert)`, `advance(host, time_ms)`, `flush()`; writes to `emit`."""

    def __init__(
        self,
        emit: Callable[[Alert], object],
        window_ms: int = DEFAULT_WINDOW_MS,
        max_groups: int = MAX_GROUPS,
        earliest: dict[str | None, int] | None = None,
    ) -> None:
        """`earliest`: kept at or below each host's earliest window end (`Deadlines`)."""
        self.emit = emit
        self.window_ms = window_ms
        self.max_groups = max_groups
        self.groups: dict[GroupKey, Group] = {}
        self.deadlines: Deadlines[GroupKey] = Deadlines(earliest=earliest)
        self.stats = DedupStats()

    def push(self, alert: Alert) -> None:
        if self.window_ms <= 0 or alert.correlation is not None:
            self.emit(alert)
            return
        key = group_key(alert)
        group = self.groups.get(key)
        if group is not None and alert.time_ms <= group.deadline_ms:
            group.count += 1
            group.last_ms = max(group.last_ms, alert.time_ms)
            if len(group.events) < MAX_EVENTS:
                group.add_events(alert.events[:1])
            self.stats.folded += 1
            return
        if group is not None:
            self._close(key)
        self._open(key, alert)
        self.emit(alert)

    def _open(self, key: GroupKey, alert: Alert) -> None:
        if len(self.groups) >= self.max_groups:
            self._close_oldest()
        deadline = alert.time_ms + self.window_ms
        group = self.groups[key] = Group(_bare(alert), deadline, alert.time_ms)
        group.add_events(alert.events[:1])
        self.deadlines.add(alert.host, deadline, key)

    def advance(self, host: str | None, time_ms: int) -> None:
        """The host's audit time reached `time_ms`: close the groups whose window has passed."""
        for deadline, key in self.deadlines.expired(host, time_ms):
            group = self.groups.get(key)
            if group is not None and group.deadline_ms == deadline:
                self._close(key)

    def flush(self) -> None:
        """End of input: close every group, oldest first."""
        for key in sorted(self.groups, key=lambda k: self.groups[k].deadline_ms):
            self._close(key)
        self.deadlines.clear()

    def _close_oldest(self) -> None:
        key = min(self.groups, key=lambda k: self.groups[k].deadline_ms)
        self.stats.closed_early += 1
        self._close(key)

    def _close(self, key: GroupKey) -> None:
        group = self.groups.pop(key)
        if group.count < 2:
            return
        first = group.first
        self.stats.updates += 1
        self.emit(
            Alert(
                first.rule,
                group.last_ms,
                first.host,
                group.unpacked(),
                ancestry=first.ancestry,
                events_total=group.count,
                activity=first.activity,
                fold=Fold(group.count, first.time_ms, group.last_ms),
            )
        )
