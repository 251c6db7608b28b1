"""The process tree: one graph per host, parent -> child, built from audit events.

Fed by the engine (detect.matching.engine): `observe(event)` reads one completed event,
attaches its process to it (`event.process`) and updates the graph; `advance(time_ms)` expires
what the grace period allows. Each event is applied as it comes, so nothing is pending at the
end of input. Time comes from the events (the newest audit time seen), never from the wall
clock, so replaying a log is deterministic.

Identity: the graph's nodes are `Process` objects, each keyed by (host, pid, first seen time,
first seen serial); `current` maps host and pid to the process that holds that PID now. A fork
of a PID still held, an event of a PID whose holder has exited, or a new process's own first
event under another parent makes a new process: PIDs are reused.

Bounds: an exited process leaves `grace_ms` after its exit unless it still has children in the
graph (the ancestors of living processes stay; it leaves with its last child). A process no
event has shown for `idle_ms` of audit time leaves too (exits are often not audited), unless it
has children or a label; swept once per IDLE_SWEEPS-th of `idle_ms`, so O(1) per event. Past
`max_processes`, the least recently seen leaves go first, exited ones before living ones, and
every such eviction is counted. Removing only leaves keeps every remaining ancestry whole.

Cached fields (detect/proctree/fields.py): a process's tree fields read its ancestors (their
images, users, labels) and its own labels, never its own image or user. So a change moves the
tree's epoch (every cached field stale) only when the process has children and changes what
they read, and marks the process's own fields stale only when its labels or its parent change:
the exec of a leaf, the usual case, leaves every cache valid (tests/proctree/test_cache.py).

Memory: a table of up to `max_processes` processes; each costs about 630 bytes (a fork and an
exec; only the last 256 processes keep their tree fields cached: tests/proctree/test_memory.py).
Graphs keep only who is whose child (detect/proctree/graph.py), images share equal paths,
titles and argvs (`intern`).
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Final

from detect.proctree.graph import ProcessGraph
from detect.proctree.observe import observe_event
from detect.proctree.process import (
    EXECVE,
    FORK,
    PPID,
    SEEN,
    Epoch,
    FieldCache,
    Image,
    Process,
    pack_argv,
)
from detect.proctree.settings import TreeSettings, load_settings

if TYPE_CHECKING:
    from detect.auditd.event import AuditEvent

EVICT_TO: Final = 0.9  # an eviction pass brings the table down to this share of its maximum
IDLE_SWEEPS: Final = 8  # idle processes are looked for this many times per `idle_ms`
MAX_IMAGES: Final = 16  # exec chain kept per process: the first image and the latest ones
MAX_INTERNED_CHARS: Final = 2_000_000  # paths, titles and argvs shared between images, in all
MAX_INTERNED_TEXT: Final = 256_000  # longer ones are not shared
NO_ARGV: Final[Sequence[str] | None] = None


@dataclass
class TreeStats:
    processes: int = 0  # created, placeholders included
    placeholders: int = 0  # parents first seen only as a ppid
    forks: int = 0
    execs: int = 0
    exits: int = 0
    reused: int = 0  # a PID taken by a new process while the old holder was still in the table
    expired: int = 0  # exited processes removed after the grace period
    idle: int = 0  # processes removed after `idle_ms` without an event
    evicted: int = 0  # removed because the table was full
    evicted_living: int = 0  # of which not seen exiting

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


class ProcessTree:
    """Per-host process graphs; see the module's description."""

    def __init__(
        self, settings: TreeSettings | None = None, cache: FieldCache | None = None
    ) -> None:
        """`cache`: the bound of cached tree fields, when shared with other trees (FieldCache);
        by default the tree's own."""
        self.settings = settings if settings is not None else load_settings()
        self.graphs: dict[str, ProcessGraph] = {}
        self.current: dict[str, dict[int, Process]] = {}  # host -> pid -> its holder now
        self.exited: deque[Process] = deque()
        self.stats = TreeStats()
        # moves when a process with children changes: cached fields go stale
        self.epoch = Epoch(cache)
        self.now_ms = 0
        self.next_sweep_ms = -1  # audit time of the next look for idle processes
        self.size = 0
        self.key_labels = self.settings.key_labels  # audit key -> labels (read per event)
        self.strings: dict[str, str] = {}  # see `intern`
        self.interned_chars = 0

    # --- the push interface -----------------------------------------------------------------

    def observe(self, event: AuditEvent) -> Process | None:
        """Update the tree from `event`; set and return `event.process`."""
        return observe_event(self, event)

    def advance(self, time_ms: int) -> None:
        """Audit time has reached `time_ms`: remove exited processes past their grace."""
        if time_ms > self.now_ms:
            self.now_ms = time_ms
        deadline = self.now_ms - self.settings.grace_ms
        exited = self.exited
        while exited and (exited[0].exit_ms or 0) <= deadline:
            self._expire(exited.popleft(), deadline)
        if self.now_ms >= self.next_sweep_ms:
            if self.next_sweep_ms >= 0:
                self._forget_idle(self.now_ms - self.settings.idle_ms)
            self.next_sweep_ms = self.now_ms + max(self.settings.idle_ms // IDLE_SWEEPS, 1)

    def __len__(self) -> int:
        return self.size

    def processes(self, host: str = "") -> list[Process]:
        graph = self.graphs.get(host)
        return list(graph) if graph is not None else []

    # --- building -----------------------------------------------------------------------------

    def lookup(self, host: str, pid: int) -> Process | None:
        pids = self.current.get(host)
        return pids.get(pid) if pids is not None else None

    def create(
        self, host: str, pid: int, time_ms: int, serial: int, parent: Process | None
    ) -> Process:
        """A new process now holding `pid`; its predecessor, if still there, has ended."""
        pids = self.current.get(host)
        if pids is None:
            pids = self.current[host] = {}
        old = pids.get(pid)
        if old is not None:
            self.stats.reused += 1
            if old.exit_ms is None:
                self.end(old, time_ms)
        process = Process((host, pid, time_ms, serial), parent, self.epoch)
        graph = self.graphs.get(host)
        if graph is None:
            graph = self.graphs[host] = ProcessGraph()
        graph.add_node(process)
        if parent is not None:
            graph.add_edge(parent, process)
        pids[pid] = process
        self.stats.processes += 1
        self.size += 1
        if self.size > self.settings.max_processes:
            self._evict()
        return process

    def placeholder(self, host: str, pid: int, time_ms: int, serial: int) -> Process:
        """The process holding `pid`, or one standing in for it (seen only as a ppid)."""
        found = self.lookup(host, pid)
        if found is not None and found.exit_ms is None:
            return found
        self.stats.placeholders += 1
        process = self.create(host, pid, time_ms, serial, None)
        process.origin = PPID
        return process

    def fork(self, parent: Process, pid: int, time_ms: int, serial: int) -> Process:
        """`parent` forked `pid`: the child starts with the parent's image and user."""
        self.stats.forks += 1
        found = self.lookup(parent.host, pid)
        if found is not None and found.exit_ms is None and found.start_ms >= time_ms:
            self.adopt(found, parent)  # its own events completed before the fork's
            return found
        child = self.create(parent.host, pid, time_ms, serial, parent)
        child.origin = FORK
        image = parent.image
        if image is not None:
            child.image = Image(image.path, image.args, time_ms, FORK, image.title)
        child.uid, child.user = parent.uid, parent.user
        return child

    def adopt(self, process: Process, parent: Process) -> None:
        """Give `process` its parent (a placeholder's first own event, or a late fork)."""
        if process.parent is parent or _is_ancestor(process, parent, self.settings.max_depth):
            return
        graph = self.graphs[process.host]
        if process.parent is not None and graph.has_edge(process.parent, process):
            graph.remove_edge(process.parent, process)
        process.parent, process.ppid = parent, parent.pid
        graph.add_edge(parent, process)
        self.changed(process)

    def exec(
        self,
        process: Process,
        path: str,
        argv: Sequence[str] | None,
        time_ms: int,
        title: str | None = None,
        how: str = EXECVE,
    ) -> None:
        """`process` now runs `path`: the exec chain grows, image and argument labels apply.

        What is stale afterwards: the fields of the descendants (they read this process's
        image), and the process's own fields only when it gained a label (its own fields
        read its ancestors and its labels, never its own image)."""
        if how == EXECVE:
            self.stats.execs += 1
        before = process.image
        args = self.intern(pack_argv(argv)) if argv is not None else None
        image = Image(self.intern(path), args, time_ms, how, self._title(title))
        process.run(image, MAX_IMAGES)
        settings = self.settings
        labelled = False
        if settings.labels:
            command_line = image.command_line if settings.arg_rules else None
            for label in settings.image_labels(image.path, command_line):
                labelled = process.add_label(label) or labelled
        if labelled:
            process.cached_epoch = -1
        if labelled or before is None or _differs(before, image):
            self._descendants_stale(process)

    def seen(self, process: Process, path: str, time_ms: int, title: str | None) -> None:
        """An event shows `path` as the executable: an exec the log did not show."""
        self.exec(process, path, NO_ARGV, time_ms, title, SEEN)

    def label(self, process: Process, label: str) -> None:
        """Label `process` (and so everything below it)."""
        if process.add_label(label):
            self.changed(process)

    def set_user(self, process: Process, uid: str, user: str) -> None:
        """A new user: the children's fields are stale (ParentUser), the process's are not."""
        if process.uid != uid:
            process.uid, process.user = uid, user
            self._descendants_stale(process)

    def end(self, process: Process, time_ms: int) -> None:
        """`process` has exited (exit_group, or its PID was taken)."""
        if process.exit_ms is None:
            process.exit_ms = max(time_ms, process.start_ms)
            self.stats.exits += 1
            self.exited.append(process)

    def changed(self, process: Process) -> None:
        """Fields computed from `process` are stale: its own, and its descendants' if any."""
        process.cached_epoch = -1
        self._descendants_stale(process)

    def _descendants_stale(self, process: Process) -> None:
        """The epoch moves (every cached field goes stale) only when `process` has children:
        the fields of a leaf's descendants cannot be stale, it has none."""
        graph = self.graphs.get(process.host)
        if graph is not None and graph.children.get(process):
            self.epoch.value += 1

    def intern(self, text: str) -> str:
        """One copy of each executable path, title and packed argv, however many images hold
        it. The table is bounded (MAX_INTERNED_CHARS in all; a longer text is not shared):
        when full it is emptied, which only costs the sharing."""
        found = self.strings.get(text)
        if found is None:
            size = len(text)
            if size > MAX_INTERNED_TEXT:
                return text
            if self.interned_chars + size > MAX_INTERNED_CHARS:
                self.strings.clear()
                self.interned_chars = 0
            self.strings[text] = found = text
            self.interned_chars += size
        return found

    def _title(self, title: str | None) -> str | None:
        return self.intern(title) if title is not None else None

    # --- bounds -------------------------------------------------------------------------------

    def _expire(self, process: Process, deadline: int) -> None:
        graph = self.graphs.get(process.host)
        if graph is None or process not in graph or graph.children[process]:
            return  # already gone, or still an ancestor: it leaves with its last child
        self.stats.expired += 1
        parent = self._remove(graph, process)
        while parent is not None and _expired_leaf(graph, parent, deadline):
            self.stats.expired += 1
            parent = self._remove(graph, parent)

    def _forget_idle(self, before_ms: int) -> None:
        """Remove the leaves last shown before `before_ms` without a label, and each parent
        that becomes such a leaf (the ancestors of what stays stay)."""
        for graph in self.graphs.values():
            leaves = [p for p, out in graph.children.items() if not out and _idle(p, before_ms)]
            for process in leaves:
                parent: Process | None = process
                while (
                    parent is not None and _idle(parent, before_ms) and not graph.children[parent]
                ):
                    self.stats.idle += 1
                    parent = self._remove(graph, parent)

    def _remove(self, graph: ProcessGraph, process: Process) -> Process | None:
        parent = graph.parent(process)
        graph.remove_node(process)
        self.size -= 1
        pids = self.current[process.host]
        if pids.get(process.pid) is process:
            del pids[process.pid]
        return parent

    def _evict(self) -> None:
        """Down to EVICT_TO of the table: leaves in eviction order, and a parent as soon as its
        last child went (a chain of forks has a single leaf). One scan for the leaves, then a
        heap: O(n log n) per pass, one pass per tenth of the table, O(log n) per process."""
        target = int(self.settings.max_processes * EVICT_TO)
        tie = itertools.count()
        heap = [
            (_eviction_order(p), next(tie), p)
            for graph in self.graphs.values()
            for p, out in graph.children.items()
            if not out
        ]
        heapq.heapify(heap)
        while self.size > target and heap:
            process = heapq.heappop(heap)[2]
            self.stats.evicted += 1
            self.stats.evicted_living += process.exit_ms is None
            graph = self.graphs[process.host]
            parent = self._remove(graph, process)
            if parent is not None and not graph.children[parent]:
                heapq.heappush(heap, (_eviction_order(parent), next(tie), parent))


def _eviction_order(process: Process) -> tuple[bool, int]:
    """Exited before living, then least recently seen first."""
    return (process.exit_ms is None, process.last_ms)


def _idle(process: Process, before_ms: int) -> bool:
    return process.last_ms < before_ms and not process.labels


def _expired_leaf(graph: ProcessGraph, process: Process, deadline: int) -> bool:
    exit_ms = process.exit_ms
    return exit_ms is not None and exit_ms <= deadline and not graph.children[process]


def _differs(before: Image, after: Image) -> bool:
    """Whether what descendants read of a process (executable, command line) may differ."""
    return before.path != after.path or before.args != after.args or before.title != after.title


def _is_ancestor(process: Process, candidate: Process, limit: int) -> bool:
    """True when `candidate` is `process` or one of its descendants (adopting would loop)."""
    current: Process | None = candidate
    for _ in range(limit):
        if current is None:
            return False
        if current is process:
            return True
        current = current.parent
    return True
