"""Reassembly: records to events, keyed by (node, timestamp, serial).

A push object (STYLE.md 6): `push(line)` or `push_record(record)`, completed events go to the
`emit` callback, `flush()` at the end. Batch files and live sources use the same object.

An event completes on its EOE record, at once for single-record types, by audit-time expiry
(the node's newest record timestamp has moved `horizon_ms` past it; audit.log files carry no
EOE), when the in-flight table is full (evicted, counted), or at flush. Another event's header
never closes an event: records of different events interleave.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from functools import cache
from typing import Final

from detect.auditd.event import EOE, EVICTED, EXPIRED, FLUSHED, LATE, STANDALONE, AuditEvent
from detect.auditd.record import Record, parse_line
from detect.core.defaults import HORIZON_MS
from detect.core.errors import ParseError
from detect.kernel import tables

USER_MESSAGE: Final = 1005  # AUDIT_USER: `auditctl -m` and old user-space senders
MAX_INFLIGHT: Final = 50_000
RECENT_KEYS: Final = 4096  # completed keys remembered per node, to recognise late records
MAX_EXAMPLES: Final = 10
SERIAL_MODULUS: Final = 1 << 32  # the kernel's serial is an unsigned int
# A forward jump of audit time larger than this needs a second event.
MAX_JUMP_MS: Final = 10 * 60 * 1000
RESET_DISTANCE: Final = 1 << 24  # a backward jump this large is a wrap or a reboot, not disorder

Key = tuple[str, int]


@cache
def is_standalone(rtype: str) -> bool:
    """User-space and daemon messages are single records; kernel records come with a SYSCALL."""
    number = tables.record_type_number(rtype)
    if number is None:
        return False
    return number == USER_MESSAGE or 1100 <= number < 1300 or 2100 <= number < 3000


def counts_serial(rtype: str) -> bool:
    """auditd numbers its own DAEMON_* records; they say nothing about the kernel's serials."""
    return not rtype.startswith("DAEMON_")


@dataclass(slots=True)
class ReassemblyStats:
    lines: int = 0
    records: int = 0
    events: int = 0
    unparsed: int = 0
    unparsed_examples: list[ParseError] = field(default_factory=list)
    expired: int = 0
    evicted: int = 0
    late_records: int = 0
    serial_resets: int = 0
    time_jumps_held: int = 0

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {item.name: getattr(self, item.name) for item in fields(self)}
        out["unparsed_examples"] = [str(error) for error in self.unparsed_examples]
        return out


class _Node:
    """Per-node state: in-flight events in arrival order, audit-time watermark, serials."""

    __slots__ = (
        "inflight",
        "lost",
        "max_serial",
        "order",
        "pending_jump",
        "recent",
        "watermark",
    )

    def __init__(self) -> None:
        self.inflight: dict[Key, AuditEvent] = {}
        self.order: deque[tuple[int, Key]] = deque()
        self.recent: dict[Key, None] = {}
        self.watermark = -1
        self.pending_jump = -1
        self.max_serial = -1
        self.lost = 0


class Reassembler:
    """Push lines or records; receive completed events through `emit`; `flush()` at the end."""

    def __init__(
        self,
        emit: Callable[[AuditEvent], object],
        *,
        horizon_ms: int = HORIZON_MS,
        max_inflight: int = MAX_INFLIGHT,
    ) -> None:
        self._emit = emit
        self.horizon_ms = horizon_ms
        self.max_inflight = max_inflight
        self.stats = ReassemblyStats()
        self._nodes: dict[str | None, _Node] = {}
        self._inflight = 0

    @property
    def lost(self) -> int:
        """Events missing by serial gaps, over all nodes."""
        return sum(node.lost for node in self._nodes.values())

    @property
    def lost_by_node(self) -> dict[str | None, int]:
        return {name: node.lost for name, node in self._nodes.items() if node.lost}

    @property
    def inflight(self) -> int:
        return self._inflight

    def inflight_events(self) -> list[AuditEvent]:
        """The events in flight (live sources look at them to expire by wall clock)."""
        return [event for node in self._nodes.values() for event in node.inflight.values()]

    def expire(self, event: AuditEvent) -> None:
        """Complete an event in flight now, as expired; nothing if it is not in flight."""
        node = self._nodes.get(event.node)
        key = (event.stamp, event.serial)
        if node is not None and node.inflight.get(key) is event:
            self._close(node, key, event, EXPIRED)

    def audit_time(self, node: str | None) -> int:
        """The newest audit time `node`'s records have confirmed (a far jump ahead waits for a
        second event, see `_advance`); -1 before its first record."""
        found = self._nodes.get(node)
        return -1 if found is None else found.watermark

    def oldest_inflight_ms(self) -> int | None:
        """A lower bound of the audit time of the events in flight (events this old may still
        be emitted); None when none are in flight."""
        if not self._inflight:
            return None
        times = [node.order[0][0] for node in self._nodes.values() if node.inflight and node.order]
        return min(times) if times else None

    def push(self, line: str, source: str = "-", lineno: int = 0) -> None:
        """One line of text; a line that is not an audit record is counted, never raised."""
        self.feed(((line, source, lineno),))

    def feed(self, lines: Iterable[tuple[str, str, int]]) -> None:
        """Many (line, source, lineno) at once: `push` for each, in one loop (the hot path)."""
        stats, push_record = self.stats, self.push_record
        for line, source, lineno in lines:
            stats.lines += 1
            try:
                record = parse_line(line, source, lineno)
            except ParseError as error:
                self._unparsed(error)
                continue
            push_record(record)

    def push_record(self, record: Record) -> None:
        self.stats.records += 1
        node = self._nodes.get(record.node)
        if node is None:
            node = self._nodes[record.node] = _Node()
        key = (record.stamp, record.serial)
        event = node.inflight.get(key)
        if event is not None:
            if record.type == "EOE":
                self._close(node, key, event, EOE)
            else:
                event.records.append(record)
            return
        self._start(node, key, record)

    def _start(self, node: _Node, key: Key, record: Record) -> None:
        late = key in node.recent
        if record.type == "EOE":
            if late:
                self.stats.late_records += 1
            return
        event = AuditEvent(record)
        if late:
            self.stats.late_records += 1
            event.completion = LATE
        elif counts_serial(record.type):
            self._track_serial(node, record.serial)
        time_ms = event.time_ms
        if is_standalone(record.type):
            self._remember(node, key)
            self._complete(event, STANDALONE)
        else:
            node.inflight[key] = event
            node.order.append((time_ms, key))
            self._inflight += 1
        if time_ms > node.watermark and self._advance(node, time_ms):
            self._expire(node)
        if self._inflight > self.max_inflight:
            self._evict_oldest()

    def _advance(self, node: _Node, time_ms: int) -> bool:
        """Move the node's audit-time watermark; a jump of more than MAX_JUMP_MS is taken only
        when a second event confirms it, so one bogus timestamp cannot expire everything."""
        if node.watermark >= 0 and time_ms - node.watermark > MAX_JUMP_MS:
            pending = node.pending_jump
            if pending < 0 or abs(time_ms - pending) > MAX_JUMP_MS:
                node.pending_jump = time_ms
                self.stats.time_jumps_held += 1
                return False
        node.pending_jump = -1
        node.watermark = time_ms
        return True

    def _expire(self, node: _Node) -> None:
        limit = node.watermark - self.horizon_ms
        order, inflight = node.order, node.inflight
        while order:
            time_ms, key = order[0]
            event = inflight.get(key)
            if event is None:
                order.popleft()
                continue
            if time_ms >= limit:
                return
            order.popleft()
            self._close(node, key, event, EXPIRED)

    def _evict_oldest(self) -> None:
        candidates = [node for node in self._nodes.values() if node.inflight]
        oldest = min(candidates, key=lambda node: node.order[0][0] if node.order else 0)
        while oldest.order:
            _, key = oldest.order.popleft()
            event = oldest.inflight.get(key)
            if event is not None:
                self._close(oldest, key, event, EVICTED)
                return

    def _close(self, node: _Node, key: Key, event: AuditEvent, how: str) -> None:
        del node.inflight[key]
        self._inflight -= 1
        self._remember(node, key)
        self._complete(event, how)

    def _complete(self, event: AuditEvent, how: str) -> None:
        """Emit an event; a late fragment keeps its `late` mark and is counted only as late."""
        if not event.completion:
            event.completion = how
            if how == EXPIRED:
                self.stats.expired += 1
            elif how == EVICTED:
                self.stats.evicted += 1
        self.stats.events += 1
        self._emit(event)

    @staticmethod
    def _remember(node: _Node, key: Key) -> None:
        """Keep the last RECENT_KEYS..2*RECENT_KEYS completed keys (trimmed in bulk: cheap)."""
        recent = node.recent
        recent[key] = None
        if len(recent) > 2 * RECENT_KEYS:
            node.recent = dict.fromkeys(list(recent)[-RECENT_KEYS:])

    def _track_serial(self, node: _Node, serial: int) -> None:
        top = node.max_serial
        if top < 0 or serial == top:
            node.max_serial = serial
        elif serial > top:
            gap = serial - top - 1
            if gap >= RESET_DISTANCE:
                self.stats.serial_resets += 1
            else:
                node.lost += gap
            node.max_serial = serial
        elif top - serial < RESET_DISTANCE:
            if node.lost:
                node.lost -= 1  # arrived out of order: fills a gap counted earlier
        else:
            self._backward_jump(node, serial)

    def _backward_jump(self, node: _Node, serial: int) -> None:
        top = node.max_serial
        if top >= SERIAL_MODULUS - RESET_DISTANCE and serial < RESET_DISTANCE:
            node.lost += (serial + SERIAL_MODULUS - top - 1) % SERIAL_MODULUS
        else:
            self.stats.serial_resets += 1
        node.max_serial = serial

    def _unparsed(self, error: ParseError) -> None:
        self.stats.unparsed += 1
        if len(self.stats.unparsed_examples) < MAX_EXAMPLES:
            self.stats.unparsed_examples.append(error)

    def flush(self) -> None:
        """Complete everything still in flight, oldest first per node (every event in flight has
        its entry in `order`)."""
        for node in self._nodes.values():
            while node.order:
                _, key = node.order.popleft()
                event = node.inflight.get(key)
                if event is not None:
                    self._close(node, key, event, FLUSHED)
