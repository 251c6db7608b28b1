"""Reassembly: records to events, keyed by (node, timestamp, serial).

A push object (STYLE.md 6): `push(line)` or `push_record(record)`, completed events go to the
`emit` callback, `flush()` at the end. Batch files and live sources use the same object.

An event completes on its EOE record, on its PROCTITLE record (the kernel writes it last in
every syscall event, before the EOE that audit.log files never carry: kernel/auditsc.c's
audit_log_exit; auparse completes an event there too), at once for single-record types, by
audit-time expiry (the node's newest record timestamp has moved `horizon_ms` past it: events
without either), when the in-flight table is full (evicted, counted), or at flush. Another
event's header never closes an event: records of different events interleave.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from heapq import heapify, heappop, heappush
from typing import Final, cast

from detect.auditd.event import (
    EOE,
    EVICTED,
    EXPIRED,
    FLUSHED,
    LATE,
    PROCTITLE,
    STANDALONE,
    AuditEvent,
)
from detect.auditd.numbers import EXECVE_FIELDS, PRIMARY_FIELDS, bad_numbers
from detect.auditd.record import Record, parse_line, read_header, usual_stamp
from detect.core.defaults import HORIZON_MS, MAX_LINE
from detect.core.errors import ParseError
from detect.kernel import tables

USER_MESSAGE: Final = 1005  # AUDIT_USER: `auditctl -m` and old user-space senders
MAX_INFLIGHT: Final = 50_000
RECENT_KEYS: Final = 4096  # completed keys remembered per node, to recognise late records
RECENT_SLACK: Final = 1024  # more kept until a trim back to RECENT_KEYS (~70 bytes each)
MAX_EXAMPLES: Final = 10
REST_SLOTS: Final = 5  # values kept per record after an event's first (see _Node)
SERIAL_MODULUS: Final = 1 << 32  # the kernel's serial is an unsigned int
# A forward jump of audit time larger than this needs a second event.
MAX_JUMP_MS: Final = 10 * 60 * 1000
RESET_DISTANCE: Final = 1 << 24  # a backward jump this large is a wrap or a reboot, not disorder
# Bounds (DESIGN §8): any local user chooses how many records an event has and how long they
# are; garbage or a fleet can name endless nodes.
MAX_RECORDS: Final = 20_000  # records per event (an ARG_MAX execve is ~400; items= PATHs few)
MAX_EVENT_BYTES: Final = 16 << 20  # characters per event (an ARG_MAX execve in hex: ~4.5 MB)
MAX_NODE_INFLIGHT: Final = 20_000  # events in flight per node
MAX_NODES: Final = 65_536  # nodes tracked; idle ones are forgotten first
NODE_IDLE_MS: Final = 60 * 60 * 1000  # a node silent this long (in audit time) is forgotten
SWEEP_EVERY: Final = 4096  # new nodes between looks for idle ones
MAX_FORGOTTEN_LOSSES: Final = 4096  # nodes whose losses are kept by name once forgotten
OTHER_NODES: Final = "(other forgotten nodes)"

Key = tuple[str, int]


@dataclass(frozen=True)
class Limits:
    """What reassembly holds at most; what is refused or evicted is counted in the stats.
    Pipeline settings go to worker processes (--jobs, --dask): pickled by `__reduce__`, as
    neither a frozen dataclass with slots (Python 3.11) nor the compiled class (mypyc sets its
    fields by assignment) unpickles by default."""

    max_inflight: int = MAX_INFLIGHT
    max_node_inflight: int = MAX_NODE_INFLIGHT
    max_records: int = MAX_RECORDS
    max_event_bytes: int = MAX_EVENT_BYTES
    max_nodes: int = MAX_NODES
    node_idle_ms: int = NODE_IDLE_MS
    max_line_bytes: int = MAX_LINE  # longer lines are unparsed; sources read no more of them

    def __reduce__(self) -> tuple[type[Limits], tuple[int, ...]]:
        return (Limits, tuple(getattr(self, item.name) for item in fields(self)))


STANDALONE_TYPES: Final[dict[str, bool]] = {}  # is_standalone of the types seen (bounded)
MAX_STANDALONE_TYPES: Final = 4096  # garbage can invent endless types


def is_standalone(rtype: str) -> bool:
    """User-space and daemon messages are single records; kernel records come with a SYSCALL.
    (Remembered in a dict: a call through functools.cache is a generic call under mypyc.)"""
    found = STANDALONE_TYPES.get(rtype)
    if found is None:
        found = _standalone(rtype)
        if len(STANDALONE_TYPES) < MAX_STANDALONE_TYPES:
            STANDALONE_TYPES[rtype] = found
    return found


def _standalone(rtype: str) -> bool:
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
    bad_fields: int = 0  # numbers out of range or not ASCII digits (numbers.bad_numbers)
    bad_field_examples: list[str] = field(default_factory=list)  # the first few, file:line
    expired: int = 0
    evicted: int = 0
    late_records: int = 0
    serial_resets: int = 0
    serial_outliers: int = 0  # far from the node's serials, not (yet) confirmed as a reset
    time_jumps_held: int = 0
    events_capped: int = 0  # events that reached max_records or max_event_bytes
    records_dropped: int = 0  # records refused by those events
    inflight_full: int = 0  # events evicted by max_inflight (all nodes together)
    node_inflight_full: int = 0  # events evicted by max_node_inflight
    nodes_forgotten: int = 0  # nodes dropped: idle for node_idle_ms, or by max_nodes
    nodes_full: int = 0  # of which not idle, dropped because max_nodes was reached
    events_without_host: int = 0  # events with no node= while no host was given

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {item.name: getattr(self, item.name) for item in fields(self)}
        out["unparsed_examples"] = [str(error) for error in self.unparsed_examples]
        return out


class _Node:
    """Per-node state: in-flight events in arrival order, audit-time watermark, serials.

    An event in flight holds its first record; the records after it wait in its `held` list as
    the few values a `Record` is made of again when the event completes (REST_SLOTS each: line,
    type, where the body starts, line number after the first record's, source), not as
    records: a `Record` costs ~150 bytes beside its line, and an event without a PROCTITLE
    (which completes it) waits the horizon: thousands a host at once on a busy one."""

    __slots__ = (
        "inflight",
        "lost",
        "max_serial",
        "name",
        "order",
        "pending_jump",
        "pending_serial",
        "recent",
        "watermark",
    )

    def __init__(self, name: str | None) -> None:
        self.name = name
        self.inflight: dict[Key, AuditEvent] = {}
        self.order: deque[tuple[int, Key]] = deque()
        self.recent: dict[int, bool] = {}  # recent_key of completed events (oldest first):
        # True when its PROCTITLE completed it (an EOE may follow)
        self.watermark = -1
        self.pending_jump = -1
        self.max_serial = -1
        self.pending_serial = -1
        self.lost = 0


def recent_key(key: Key) -> int:
    """An event key as one int, for the keys of completed events each node remembers (tens
    of thousands): a tuple, its stamp text and serial cost three objects, an int one. Exact:
    the stamp's digits, its number of decimals (`1.5` and `1.50` stay apart) and the serial
    (32 bits), for the stamps the parser takes (`[0-9]{1,11}.[0-9]{1,9}`). Computed twice per
    event (is it late? then remembered): the fewest string operations."""
    stamp, serial = key
    decimals = len(stamp) - stamp.find(".") - 1 if "." in stamp else 0
    return (int(stamp.replace(".", "")) * 16 + decimals) << 32 | serial


def event_recent_key(event: AuditEvent) -> int:
    """`recent_key` of an event's key, from its audit time where that is the same number (a
    stamp with the usual three decimals: its digits are the milliseconds), without reading
    the stamp's text again."""
    if usual_stamp(event.stamp):
        return (event.time_ms * 16 + 3) << 32 | event.serial
    return recent_key((event.stamp, event.serial))


# The global oldest-first order of events in flight: (audit time, arrival, node, key). Entries
# of events completed since stay until they reach the top or the heap is rebuilt (when it holds
# twice the events in flight): O(log n) per event, whatever the number of nodes.
Entry = tuple[int, int, _Node, Key]


class Reassembler:
    """Push lines or records; receive completed events through `emit`; `flush()` at the end."""

    def __init__(
        self,
        emit: Callable[[AuditEvent], object],
        *,
        horizon_ms: int = HORIZON_MS,
        max_inflight: int = MAX_INFLIGHT,
        limits: Limits | None = None,
        host: str | None = None,
    ) -> None:
        self._emit = emit
        self.host = host  # the node of records that name none (`--host`): theirs wins
        self.horizon_ms = horizon_ms
        self.limits = limits if limits is not None else Limits(max_inflight=max_inflight)
        self.max_inflight = self.limits.max_inflight
        self._max_records = self.limits.max_records
        self._max_bytes = self.limits.max_event_bytes
        self._max_line = self.limits.max_line_bytes
        self.stats = ReassemblyStats()
        self._nodes: dict[str | None, _Node] = {}
        self._inflight = 0
        self._heap: list[Entry] = []
        self._arrivals = 0
        self._new_nodes = 0
        self._newest_ms = -1  # the newest watermark of any node
        self._forgotten_lost: dict[str | None, int] = {}
        # the event in flight the last record started or joined, and its node: the next
        # record most often belongs to it (records of an event come one after another)
        self._last: AuditEvent | None = None
        self._last_node: _Node = _Node(None)  # meaningful while _last is set

    @property
    def lost(self) -> int:
        """Events missing by serial gaps, over all nodes (forgotten ones included)."""
        return sum(node.lost for node in self._nodes.values()) + sum(self._forgotten_lost.values())

    @property
    def lost_by_node(self) -> dict[str | None, int]:
        out = dict(self._forgotten_lost)
        for name, node in self._nodes.items():
            if node.lost:
                out[name] = out.get(name, 0) + node.lost
        return out

    @property
    def inflight(self) -> int:
        return self._inflight

    @property
    def nodes(self) -> int:
        """Nodes tracked now."""
        return len(self._nodes)

    def inflight_events(self) -> list[AuditEvent]:
        """The events in flight (live sources look at them to expire by wall clock): each holds
        its first record until it completes (`size` grows with each record it takes)."""
        return [event for node in self._nodes.values() for event in node.inflight.values()]

    def expire(self, event: AuditEvent) -> None:
        """Complete an event in flight now, as expired; nothing if it is not in flight."""
        node = self._nodes.get(event.node)
        key = (event.stamp, event.serial)
        if node is not None and node.inflight.get(key) is event:
            self._close(node, key, event, EXPIRED)

    def audit_time(self, node: str | None) -> int:
        """The newest audit time `node`'s records have confirmed (a jump ahead past the
        horizon waits for a second event, see `_advance`); -1 before its first record."""
        found = self._nodes.get(node)
        return -1 if found is None else found.watermark

    def oldest_inflight_ms(self) -> int | None:
        """The audit time of the oldest event in flight (events this old may still be
        emitted); None when none are in flight."""
        top = self._oldest()
        return None if top is None else top[0]

    def push(self, line: str, source: str = "-", lineno: int = 0) -> None:
        """One line of text; a line that is not an audit record is counted, never raised."""
        self.feed(((line, source, lineno),))

    def feed(self, lines: Iterable[tuple[str, str, int]]) -> None:
        """Many (line, source, lineno) at once: `push` for each, in one loop (the hot path). A
        usual header of the event the previous record started or joined is taken as its
        parts, with no Record made of it (it waits in the event's `held`, see `_Node`)."""
        short = self._max_line >> 2  # no longer than max_line bytes: 4 bytes a character at most
        for line, source, lineno in lines:
            body_at = -1
            if len(line) <= short:
                try:
                    node, rtype, stamp, serial, body_at = read_header(line, source, lineno)
                except ParseError:  # parse() below reads it again: counted there
                    body_at = -1
            if body_at < 0:  # methods called as such: compiled, direct calls
                record = self.parse(line, source, lineno)
                if record is not None:
                    self.push_record(record)
                continue
            self.stats.lines += 1
            if node is None:
                node = self.host
            last = self._last
            if last is None or stamp != last.stamp or serial != last.serial or node != last.node:
                self.push_record(Record(node, rtype, stamp, serial, line, body_at, source, lineno))
                continue
            self.stats.records += 1
            self._join(self._last_node, last, rtype, line, body_at, source, lineno)

    def parse(self, line: str, source: str = "-", lineno: int = 0) -> Record | None:
        """One line read, as `feed` reads it: its record (to `push_record` next), or None when it
        is not one (counted and reported, never raised)."""
        self.stats.lines += 1
        try:
            record = parse_line(line, source, lineno, self._max_line)
        except ParseError as error:
            self._unparsed(error)
            return None
        if record.node is None:
            record.node = self.host
        return record

    def holds(self, record: Record) -> bool:
        """Whether the event `record` belongs to is in flight (after a push: not when the record
        completed it, or was dropped, as a lone or late EOE is)."""
        node = self._nodes.get(record.node)
        return node is not None and (record.stamp, record.serial) in node.inflight

    def push_record(self, record: Record) -> None:
        self.stats.records += 1
        rtype, line, body_at, source, lineno = (
            record.type,
            record.line,
            record.body_at,
            record.source,
            record.lineno,
        )
        last = self._last
        if (
            last is not None
            and record.stamp == last.stamp  # mostly one string: the parser shares it
            and record.serial == last.serial
            and record.node == last.node
        ):
            # the event the previous record started or joined, still in flight (see _close):
            # what the lookups below would find
            self._join(self._last_node, last, rtype, line, body_at, source, lineno)
            return
        node = self._nodes.get(record.node)
        if node is None:
            node = self._new_node(record.node)
        key = (record.stamp, record.serial)
        event = node.inflight.get(key)
        if event is None:
            record.node = node.name  # equal strings: the records held share one (memory)
            self._start(node, key, record)
            return
        self._join(node, event, rtype, line, body_at, source, lineno)

    def _join(
        self,
        node: _Node,
        event: AuditEvent,
        rtype: str,
        line: str,
        body_at: int,
        source: str,
        lineno: int,
    ) -> None:
        """A record of an event in flight: an EOE closes it, others wait in `held`; a PROCTITLE
        closes it too, once held."""
        if rtype == "EOE":
            self._close(node, (event.stamp, event.serial), event, EOE)
            return
        self._last, self._last_node = event, node
        size = event.size + len(line)
        rest = event.held
        held = 1 if rest is None else 1 + len(rest) // REST_SLOTS
        if held < self._max_records and size <= self._max_bytes:
            if rest is None:
                rest = event.held = []
            rest.append(line)
            rest.append(rtype)
            rest.append(body_at)
            rest.append(lineno - event.records[0].lineno)  # small: a cached int
            rest.append(source)
            event.size = size
        else:
            self._refuse(event)
        if rtype == "PROCTITLE":  # the kernel's last record of a syscall event
            self._close(node, (event.stamp, event.serial), event, PROCTITLE)

    @staticmethod
    def _held(node: _Node, event: AuditEvent) -> None:
        """The records after the first, made again (see `_Node`): the event's node, and its
        stamp and serial (one copy for all its records)."""
        rest = event.held
        if rest is None:
            return
        event.held = None
        records, name, stamp, serial = event.records, node.name, event.stamp, event.serial
        first = records[0].lineno
        for at in range(0, len(rest), REST_SLOTS):
            line, rtype, body_at = (
                cast(str, rest[at]),
                cast(str, rest[at + 1]),
                cast(int, rest[at + 2]),
            )
            lineno, source = first + cast(int, rest[at + 3]), cast(str, rest[at + 4])
            records.append(Record(name, rtype, stamp, serial, line, body_at, source, lineno))

    def _refuse(self, event: AuditEvent) -> None:
        """A record beyond the event's bounds: dropped and counted; the event goes on."""
        if not event.dropped:
            self.stats.events_capped += 1
        event.dropped += 1
        self.stats.records_dropped += 1

    def _start(self, node: _Node, key: Key, record: Record) -> None:
        if record.type == "EOE":
            recent = recent_key(key)
            done = node.recent.get(recent)  # None: not completed lately
            if done:  # its PROCTITLE completed it, and this is the EOE that follows
                node.recent[recent] = False
            elif done is not None:
                self.stats.late_records += 1
            return
        event = AuditEvent(record)
        known = event.recent = event_recent_key(event)  # kept for _close: events in flight
        # are only ever started here
        if known in node.recent:
            self.stats.late_records += 1
            event.completion = LATE
        elif counts_serial(record.type):
            self._track_serial(node, record.serial)
        time_ms = event.time_ms
        if is_standalone(record.type):
            self._remember(node, known)
            self._complete(event, STANDALONE)
        else:
            node.inflight[key] = event
            self._last, self._last_node = event, node
            node.order.append((time_ms, key))
            self._inflight += 1
            self._arrivals += 1
            heappush(self._heap, (time_ms, self._arrivals, node, key))
            if len(node.inflight) > self.limits.max_node_inflight:
                self.stats.node_inflight_full += 1
                self._evict_first(node)
        if time_ms > node.watermark and self._advance(node, time_ms):
            self._expire(node)
        if self._inflight > self.max_inflight:
            self.stats.inflight_full += 1
            self._evict_oldest()

    def _advance(self, node: _Node, time_ms: int) -> bool:
        """Move the node's audit-time watermark. A step of more than the horizon (which would
        expire events in flight) is taken only when a second event confirms it, one no earlier
        than a horizon before the first: one record with a bogus time cannot expire
        everything; a real quiet gap costs one event's wait."""
        watermark = node.watermark
        if watermark >= 0 and time_ms - watermark > max(self.horizon_ms, 0):
            pending = node.pending_jump
            if pending < 0 or time_ms < pending - self.horizon_ms:
                if pending < 0 or time_ms > pending:
                    node.pending_jump = time_ms
                self.stats.time_jumps_held += 1
                return False
        node.pending_jump = -1
        node.watermark = time_ms
        if time_ms > self._newest_ms:
            self._newest_ms = time_ms
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

    def _oldest(self) -> Entry | None:
        """The heap's top once it names an event still in flight (completed ones dropped)."""
        heap = self._heap
        while heap:
            top = heap[0]
            if top[3] in top[2].inflight and self._nodes.get(top[2].name) is top[2]:
                return top
            heappop(heap)
        return None

    def _evict_oldest(self) -> None:
        top = self._oldest()
        if top is not None:
            heappop(self._heap)
            node, key = top[2], top[3]
            self._close(node, key, node.inflight[key], EVICTED)

    def _evict_first(self, node: _Node) -> None:
        """The node holds too many events in flight: its first (in arrival) goes."""
        while node.order:
            _, key = node.order.popleft()
            event = node.inflight.get(key)
            if event is not None:
                self._close(node, key, event, EVICTED)
                return

    def _close(self, node: _Node, key: Key, event: AuditEvent, how: str) -> None:
        del node.inflight[key]
        if event is self._last:
            self._last = None
        self._held(node, event)
        self._inflight -= 1
        self._remember(node, event.recent, how == PROCTITLE)  # made by _start
        heap = self._heap
        if len(heap) > 2 * self._inflight + 1024:
            self._heap = [
                e for e in heap if e[3] in e[2].inflight and e[2] is self._nodes.get(e[2].name)
            ]
            heapify(self._heap)
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
        if event.node is None:
            self.stats.events_without_host += 1
        self._emit(event)
        self._check_numbers(event)

    @staticmethod
    def _remember(node: _Node, known: int, eoe_follows: bool = False) -> None:
        """Keep the last RECENT_KEYS..RECENT_KEYS + RECENT_SLACK completed keys (`recent_key`;
        trimmed in bulk: cheap; a small slack makes the table stop growing early), each with
        whether its EOE may still come (completed by its PROCTITLE: that EOE is not late)."""
        recent = node.recent
        recent[known] = eoe_follows
        if len(recent) > RECENT_KEYS + RECENT_SLACK:
            node.recent = dict(list(recent.items())[-RECENT_KEYS:])

    # --- nodes ------------------------------------------------------------------------------

    def _new_node(self, name: str | None) -> _Node:
        self._new_nodes += 1
        if len(self._nodes) >= self.limits.max_nodes or self._new_nodes % SWEEP_EVERY == 0:
            self._forget_nodes()
        node = self._nodes[name] = _Node(name)
        return node

    def _forget_nodes(self) -> None:
        """Forget nodes silent for `node_idle_ms` of audit time; over `max_nodes`, also the
        longest silent ones (their events in flight evicted) down to three quarters of it.
        Runs every SWEEP_EVERY new nodes or when full, so it costs O(1) per record."""
        idle_before = self._newest_ms - self.limits.node_idle_ms
        most = self.limits.max_nodes
        by_age = sorted(self._nodes.values(), key=lambda node: node.watermark)
        excess = len(by_age) - (most * 3 // 4 if len(by_age) >= most else len(by_age))
        for node in by_age:
            if excess <= 0 and (node.watermark >= idle_before or node.inflight):
                break
            if node.inflight and excess <= 0:
                continue
            if node.inflight or node.watermark >= idle_before:
                self.stats.nodes_full += 1
            for key, event in list(node.inflight.items()):
                self._close(node, key, event, EVICTED)
            self._forget(node)
            excess -= 1

    def _forget(self, node: _Node) -> None:
        del self._nodes[node.name]
        self.stats.nodes_forgotten += 1
        if node.lost:
            name = node.name if len(self._forgotten_lost) < MAX_FORGOTTEN_LOSSES else OTHER_NODES
            self._forgotten_lost[name] = self._forgotten_lost.get(name, 0) + node.lost

    # --- serials ----------------------------------------------------------------------------

    def _track_serial(self, node: _Node, serial: int) -> None:
        top = node.max_serial
        if top < 0 or serial == top:
            node.max_serial = serial
        elif serial > top:
            gap = serial - top - 1
            if gap >= RESET_DISTANCE:
                self._far_serial(node, serial)
            else:
                node.lost += gap
                node.max_serial = serial
        elif top - serial < RESET_DISTANCE:
            if node.lost:
                node.lost -= 1  # arrived out of order: fills a gap counted earlier
        elif top >= SERIAL_MODULUS - RESET_DISTANCE and serial < RESET_DISTANCE:
            node.lost += (serial + SERIAL_MODULUS - top - 1) % SERIAL_MODULUS  # wrapped
            node.max_serial = serial
        else:
            self._far_serial(node, serial)

    def _far_serial(self, node: _Node, serial: int) -> None:
        """A serial far from the node's: a reset (reboot, another auditd) once a second record
        near it confirms it; until then one outlier, which moves nothing."""
        pending = node.pending_serial
        if pending >= 0 and abs(serial - pending) < RESET_DISTANCE:
            self.stats.serial_resets += 1
            self.stats.serial_outliers -= 1  # the first one was the reset, not an outlier
            node.max_serial = max(serial, pending)
            node.pending_serial = -1
        else:
            self.stats.serial_outliers += 1
            node.pending_serial = serial

    def _check_numbers(self, event: AuditEvent) -> None:
        """Once the event went through the pipeline: count the bad numbers among the fields
        it reads as numbers, in the records whose bodies it read (bodies are parsed only when
        something asks: `detect events` reads all, a scan what its rules need)."""
        records = event.records
        syscall: Record | None = None
        execve: Record | None = None
        for record in records:
            rtype = record.type
            if rtype == "SYSCALL" and syscall is None:
                syscall = record
            elif rtype == "EXECVE" and execve is None:
                execve = record
            if syscall is not None and execve is not None:
                break
        primary = syscall if syscall is not None else records[0]
        if primary._fields is not None:
            self._bad_fields(primary, bad_numbers(primary.fields, PRIMARY_FIELDS))
        if execve is not None and execve._fields is not None:
            self._bad_fields(execve, bad_numbers(execve.fields, EXECVE_FIELDS))

    def _bad_fields(self, record: Record, bad: list[tuple[str, str]]) -> None:
        stats = self.stats
        for name, value in bad:
            stats.bad_fields += 1
            if len(stats.bad_field_examples) < MAX_EXAMPLES:
                shown = value if len(value) <= 40 else value[:40] + "..."
                stats.bad_field_examples.append(f"{record.location}: {name}={shown!r}")

    def _unparsed(self, error: ParseError) -> None:
        self.stats.unparsed += 1
        if len(self.stats.unparsed_examples) < MAX_EXAMPLES:
            self.stats.unparsed_examples.append(error)

    def flush(self) -> None:
        """Complete everything still in flight, oldest first per node (every event in flight has
        its entry in `order`)."""
        for node in list(self._nodes.values()):
            while node.order:
                _, key = node.order.popleft()
                event = node.inflight.get(key)
                if event is not None:
                    self._close(node, key, event, FLUSHED)
