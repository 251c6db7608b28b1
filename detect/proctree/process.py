"""One process of the tree: its identity, its exec chain, its parent, its labels.

A process is never a bare PID (PIDs are reused): its key is `(host, pid, first_ms,
first_serial)`, the audit time and serial of the event that first showed it (a fork, its own
event, a `ppid` naming it, or `/proc` at seeding, serial 0). Its images form the exec chain:
each `Image` is one program the process ran, in order, with where we learnt it from.
"""

from __future__ import annotations

from dataclasses import dataclass

# How an image became known.
EXECVE = "execve"  # an audited execve/execveat
FORK = "fork"  # inherited from the parent at an audited fork/clone
SEEN = "seen"  # the `exe` of one of the process's events (its exec was not audited)
PROC = "proc"  # read from /proc when seeding
# How a process's start became known (its key's time): only FORK and PROC are its real start.
EVENT = "event"  # its first own event
PPID = "ppid"  # another process named it as its parent

ProcessKey = tuple[str, int, int, int]  # (host, pid, first_ms, first_serial)


class Epoch:
    """A tree's change counter, shared by its processes: fields cached on a process are valid
    while the counter has not moved (it moves when a process with children changes)."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0


@dataclass(frozen=True, slots=True)
class Image:
    """One program a process ran: executable, argv (None when unknown), since when."""

    path: str
    argv: tuple[str, ...] | None
    since_ms: int
    how: str
    title: str | None = None  # the PROCTITLE when argv is unknown (cut at 128 bytes)

    @property
    def command_line(self) -> str | None:
        if self.argv is not None:
            return " ".join(self.argv)
        return self.title


class Process:
    """A node of the tree. `parent` is None only while the parent is unknown; a placeholder
    (seen only as another process's `ppid`) has no image until its own events fill it in."""

    __slots__ = (
        "cached",
        "cached_epoch",
        "confirmed",
        "exit_ms",
        "images",
        "key",
        "labels",
        "last_ms",
        "origin",
        "owner",
        "parent",
        "ppid",
        "uid",
        "user",
    )

    def __init__(
        self, key: ProcessKey, parent: Process | None = None, owner: Epoch | None = None
    ) -> None:
        self.key = key
        self.owner = owner if owner is not None else Epoch()  # the tree's change counter
        self.parent = parent
        self.ppid: int | None = parent.pid if parent is not None else None
        self.images: list[Image] = []
        self.uid: str | None = None
        self.user: str | None = None
        self.labels: tuple[str, ...] = ()  # its own; descendants inherit them
        self.exit_ms: int | None = None
        self.last_ms = key[2]
        self.confirmed = False  # an event of its own has been seen
        self.origin = EVENT  # how its start became known: FORK, PROC, EVENT or PPID
        self.cached: tuple[dict[str, object], dict[str, object]] | None = None
        self.cached_epoch = -1

    @property
    def host(self) -> str:
        return self.key[0]

    @property
    def pid(self) -> int:
        return self.key[1]

    @property
    def start_ms(self) -> int:
        return self.key[2]

    @property
    def placeholder(self) -> bool:
        return not self.images and not self.confirmed

    @property
    def image(self) -> Image | None:
        return self.images[-1] if self.images else None

    @property
    def executable(self) -> str | None:
        return self.images[-1].path if self.images else None

    @property
    def command_line(self) -> str | None:
        return self.images[-1].command_line if self.images else None

    def ancestors(self, limit: int) -> list[Process]:
        """Parent first, at most `limit` of them (a cycle cannot loop: the limit stops it)."""
        found: list[Process] = []
        current = self.parent
        while current is not None and len(found) < limit:
            found.append(current)
            current = current.parent
        return found

    def add_label(self, label: str) -> bool:
        if label in self.labels:
            return False
        self.labels = (*self.labels, label)
        return True

    def __repr__(self) -> str:
        host, pid, first_ms, serial = self.key
        return f"Process({host or ''} pid {pid} @{first_ms}:{serial} {self.executable})"
