"""The process tree: one networkx graph per host, parent -> child, built from audit events.

A push object (STYLE.md 6): `push(event)` (the same as `observe`) reads one completed event,
attaches its process to it (`event.process`) and updates the graph; `advance(time_ms)` expires
what the grace period allows; `flush()` and `close()` end a run. Time comes from the events
(the newest audit time seen), never from the wall clock, so replaying a log is deterministic.

Identity: the graph's nodes are `Process` objects, each keyed by (host, pid, first seen time,
first seen serial); `current` maps (host, pid) to the process that holds that PID now. A fork
of a PID still held, an event of a PID whose holder has exited, or a new process's own first
event under another parent makes a new process: PIDs are reused.

Bounds: an exited process leaves `grace_ms` after its exit unless it still has children in the
graph (the ancestors of living processes stay; it leaves with its last child). Past
`max_processes`, the least recently seen leaves go first, exited ones before living ones, and
every such eviction is counted. Removing only leaves keeps every remaining ancestry whole.
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import networkx as nx

from detect.proctree.observe import observe_event
from detect.proctree.process import EXECVE, FORK, PPID, SEEN, Epoch, Image, Process
from detect.proctree.settings import TreeSettings, load_settings

if TYPE_CHECKING:
    from detect.auditd.event import AuditEvent

EVICT_TO = 0.9  # an eviction pass brings the table down to this share of its maximum
MAX_IMAGES = 16  # exec chain kept per process: the first image and the latest ones
NO_ARGV: tuple[str, ...] | None = None


@dataclass
class TreeStats:
    processes: int = 0  # created, placeholders included
    placeholders: int = 0  # parents first seen only as a ppid
    forks: int = 0
    execs: int = 0
    exits: int = 0
    reused: int = 0  # a PID taken by a new process while the old holder was still in the table
    expired: int = 0  # exited processes removed after the grace period
    evicted: int = 0  # removed because the table was full
    evicted_living: int = 0  # of which not seen exiting

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


class ProcessTree:
    """Per-host process graphs; see the module's description."""

    def __init__(self, settings: TreeSettings | None = None) -> None:
        self.settings = settings if settings is not None else load_settings()
        self.graphs: dict[str, nx.DiGraph] = {}
        self.current: dict[tuple[str, int], Process] = {}
        self.exited: deque[Process] = deque()
        self.stats = TreeStats()
        self.epoch = Epoch()  # moves when a process with children changes: cached fields go stale
        self.now_ms = 0
        self.size = 0

    # --- the push interface -----------------------------------------------------------------

    def observe(self, event: AuditEvent) -> Process | None:
        """Update the tree from `event`; set and return `event.process`."""
        return observe_event(self, event)

    def push(self, event: AuditEvent) -> Process | None:
        """The push interface's name for `observe`."""
        return self.observe(event)

    def advance(self, time_ms: int) -> None:
        """Audit time has reached `time_ms`: remove exited processes past their grace."""
        if time_ms > self.now_ms:
            self.now_ms = time_ms
        deadline = self.now_ms - self.settings.grace_ms
        exited = self.exited
        while exited and (exited[0].exit_ms or 0) <= deadline:
            self._expire(exited.popleft(), deadline)

    def flush(self) -> None:
        """End of input: nothing is pending (each event is applied as it comes)."""

    def close(self) -> None:
        self.flush()

    def __len__(self) -> int:
        return self.size

    def processes(self, host: str = "") -> list[Process]:
        graph = self.graphs.get(host)
        return list(graph) if graph is not None else []

    # --- building -----------------------------------------------------------------------------

    def lookup(self, host: str, pid: int) -> Process | None:
        return self.current.get((host, pid))

    def create(
        self, host: str, pid: int, time_ms: int, serial: int, parent: Process | None
    ) -> Process:
        """A new process now holding `pid`; its predecessor, if still there, has ended."""
        old = self.current.get((host, pid))
        if old is not None:
            self.stats.reused += 1
            if old.exit_ms is None:
                self.end(old, time_ms)
        process = Process((host, pid, time_ms, serial), parent, self.epoch)
        graph = self.graphs.get(host)
        if graph is None:
            graph = self.graphs[host] = nx.DiGraph()
        graph.add_node(process)
        if parent is not None:
            graph.add_edge(parent, process)
        self.current[(host, pid)] = process
        self.stats.processes += 1
        self.size += 1
        if self.size > self.settings.max_processes:
            self._evict()
        return process

    def placeholder(self, host: str, pid: int, time_ms: int, serial: int) -> Process:
        """The process holding `pid`, or one standing in for it (seen only as a ppid)."""
        found = self.current.get((host, pid))
        if found is not None and found.exit_ms is None:
            return found
        self.stats.placeholders += 1
        process = self.create(host, pid, time_ms, serial, None)
        process.origin = PPID
        return process

    def fork(self, parent: Process, pid: int, time_ms: int, serial: int) -> Process:
        """`parent` forked `pid`: the child starts with the parent's image and user."""
        self.stats.forks += 1
        found = self.current.get((parent.host, pid))
        if found is not None and found.exit_ms is None and found.start_ms >= time_ms:
            self.adopt(found, parent)  # its own events completed before the fork's
            return found
        child = self.create(parent.host, pid, time_ms, serial, parent)
        child.origin = FORK
        image = parent.image
        if image is not None:
            child.images.append(Image(image.path, image.argv, time_ms, FORK, image.title))
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
        argv: tuple[str, ...] | None,
        time_ms: int,
        title: str | None = None,
        how: str = EXECVE,
    ) -> None:
        """`process` now runs `path`: the exec chain grows, image and argument labels apply."""
        if how == EXECVE:
            self.stats.execs += 1
        images = process.images
        images.append(Image(path, argv, time_ms, how, title))
        if len(images) > MAX_IMAGES:
            del images[1]  # the first (how it started) and the latest stay
        command_line = images[-1].command_line
        for label in self.settings.image_labels(path, command_line):
            process.add_label(label)
        self.changed(process)

    def seen(self, process: Process, path: str, time_ms: int, title: str | None) -> None:
        """An event shows `path` as the executable: an exec the log did not show."""
        self.exec(process, path, NO_ARGV, time_ms, title, SEEN)

    def label(self, process: Process, label: str) -> None:
        """Label `process` (and so everything below it)."""
        if process.add_label(label):
            self.changed(process)

    def set_user(self, process: Process, uid: str, user: str) -> None:
        if process.uid != uid:
            process.uid, process.user = uid, user
            self.changed(process)

    def end(self, process: Process, time_ms: int) -> None:
        """`process` has exited (exit_group, or its PID was taken)."""
        if process.exit_ms is None:
            process.exit_ms = max(time_ms, process.start_ms)
            self.stats.exits += 1
            self.exited.append(process)

    def changed(self, process: Process) -> None:
        """Fields computed from `process` are stale: its own, and its descendants' if any."""
        process.cached_epoch = -1
        graph = self.graphs.get(process.host)
        if graph is not None and graph._succ.get(process):
            self.epoch.value += 1

    # --- bounds -------------------------------------------------------------------------------

    def _expire(self, process: Process, deadline: int) -> None:
        graph = self.graphs.get(process.host)
        if graph is None or process not in graph or graph._succ[process]:
            return  # already gone, or still an ancestor: it leaves with its last child
        self.stats.expired += 1
        parent = self._remove(graph, process)
        while parent is not None and _expired_leaf(graph, parent, deadline):
            self.stats.expired += 1
            parent = self._remove(graph, parent)

    def _remove(self, graph: nx.DiGraph, process: Process) -> Process | None:
        parents = list(graph._pred[process])
        graph.remove_node(process)
        self.size -= 1
        key = (process.host, process.pid)
        if self.current.get(key) is process:
            del self.current[key]
        return parents[0] if parents else None

    def _evict(self) -> None:
        target = int(self.settings.max_processes * EVICT_TO)
        while self.size > target:
            leaves = sorted(
                (p for graph in self.graphs.values() for p, out in graph._succ.items() if not out),
                key=_eviction_order,
            )
            for process in leaves[: self.size - target]:
                self.stats.evicted += 1
                self.stats.evicted_living += process.exit_ms is None
                self._remove(self.graphs[process.host], process)


def _eviction_order(process: Process) -> tuple[bool, int]:
    """Exited before living, then least recently seen first."""
    return (process.exit_ms is None, process.last_ms)


def _expired_leaf(graph: nx.DiGraph, process: Process, deadline: int) -> bool:
    exit_ms = process.exit_ms
    return exit_ms is not None and exit_ms <= deadline and not graph._succ[process]


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
