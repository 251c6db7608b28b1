"""One process of the tree: its identity, its exec chain, its parent, its labels.

A process is never a bare PID (PIDs are reused): its key is `(host, pid, first_ms,
first_serial)`, the audit time and serial of the event that first showed it (a fork, its own
event, a `ppid` naming it, or `/proc` at seeding, serial 0). Its images form the exec chain:
each `Image` is one program the process ran, in order, with where we learnt it from.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Final

# How an image became known.
EXECVE: Final = "execve"  # an audited execve/execveat
FORK: Final = "fork"  # inherited from the parent at an audited fork/clone
SEEN: Final = "seen"  # the `exe` of one of the process's events (its exec was not audited)
PROC: Final = "proc"  # read from /proc when seeding
# How a process's start became known (its key's time): only FORK and PROC are its real start.
EVENT: Final = "event"  # its first own event
PPID: Final = "ppid"  # another process named it as its parent

MAX_CACHED: Final = 256  # processes that keep their tree fields cached (FieldCache)
ARG_END: Final = "\x00"  # ends each argument of a packed argv (no argument holds one)
ProcessKey = tuple[str, int, int, int]  # (host, pid, first_ms, first_serial)


class FieldCache:
    """The bound of the tree fields cached on processes: the last MAX_CACHED processes that
    cached their fields keep them, an older one's are dropped (computed again if it has
    another event). A table of many thousands of processes, most of them done, would
    otherwise keep two dicts each.

    A tree has its own unless it is given one: a scan partitioned by host runs a tree per
    host, and the trees of one worker share one bound, as the hosts of one tree do (eight
    trees of 256 each held 2,048 processes' fields, ~2 MB on 2M records). Only what is
    recomputed depends on it, never a value."""

    __slots__ = ("holders",)

    def __init__(self) -> None:
        self.holders: deque[Process] = deque()  # oldest first; may hold one twice

    def hold(self, process: Process) -> None:
        """`process` has just cached its fields (it had none)."""
        holders = self.holders
        holders.append(process)
        if len(holders) > MAX_CACHED:
            holders.popleft().cached = None


class Epoch:
    """A tree's change counter, shared by its processes: fields cached on a process are valid
    while the counter has not moved (it moves when a process with children changes). Caching
    fields goes through `hold`, which keeps the caches within their bound (`FieldCache`)."""

    __slots__ = ("cache", "value")

    def __init__(self, cache: FieldCache | None = None) -> None:
        self.value = 0
        self.cache = cache if cache is not None else FieldCache()

    def hold(self, process: Process) -> None:
        """`process` has just cached its fields (it had none)."""
        self.cache.hold(process)


class Image:
    """One program a process ran: executable, argv (None when unknown), since when.

    The argv is kept packed in one string, each argument followed by a NUL (`args`): an
    argument cannot hold a NUL (the kernel passes C strings), so packing loses nothing, and
    one string costs far less than a tuple of strings (a 3,000-argument argv: 25 KB instead of
    175 KB), and equal argvs are shared as one string (ProcessTree.intern). `argv` and
    `command_line` unpack on demand. (Only a forged log can put a NUL inside an argument; it
    then reads as a boundary between two.) Shared and never changed once made (a plain slotted
    class: building one is on the exec path; a frozen dataclass costs four times as much)."""

    __slots__ = ("args", "how", "path", "since_ms", "title")

    def __init__(
        self, path: str, args: str | None, since_ms: int, how: str, title: str | None = None
    ) -> None:
        self.path = path
        self.args = args  # the argv packed by `pack_argv`, None when unknown
        self.since_ms = since_ms
        self.how = how
        self.title = title  # the PROCTITLE when argv is unknown (cut at 128 bytes)

    @property
    def argv(self) -> tuple[str, ...] | None:
        args = self.args
        if args is None:
            return None
        return tuple(args[:-1].split(ARG_END)) if args else ()

    @property
    def command_line(self) -> str | None:
        args = self.args
        if args is not None:
            return args[:-1].replace(ARG_END, " ")
        return self.title

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Image):
            return NotImplemented
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def _fields(self) -> tuple[str, str | None, int, str, str | None]:
        return (self.path, self.args, self.since_ms, self.how, self.title)

    def __repr__(self) -> str:
        return f"Image({self.path!r}, {self.argv!r}, {self.since_ms}, {self.how!r})"


def pack_argv(argv: Sequence[str]) -> str:
    """The argv as one string, each argument followed by a NUL (see `Image`)."""
    return "".join([argument + ARG_END for argument in argv])


class Process:
    """A node of the tree. `parent` is None only while the parent is unknown; a placeholder
    (seen only as another process's `ppid`) has no image until its own events fill it in.

    Memory: a table holds up to `max_processes` of these, so a process keeps its identity in
    slots (no key tuple), its current image in `image` and the earlier ones of its exec chain
    in `earlier` (a tuple, empty for most processes: no list per process)."""

    __slots__ = (
        "cached",
        "cached_epoch",
        "confirmed",
        "earlier",
        "exit_ms",
        "host",
        "image",
        "labels",
        "last_ms",
        "origin",
        "owner",
        "parent",
        "pid",
        "ppid",
        "serial",
        "start_ms",
        "uid",
        "user",
    )

    def __init__(
        self, key: ProcessKey, parent: Process | None = None, owner: Epoch | None = None
    ) -> None:
        self.host, self.pid, self.start_ms, self.serial = key
        self.owner = owner if owner is not None else Epoch()  # the tree's change counter
        self.parent = parent
        self.ppid: int | None = parent.pid if parent is not None else None
        self.image: Image | None = None  # what it runs now
        self.earlier: tuple[Image, ...] = ()  # the exec chain before `image`, oldest first
        self.uid: str | None = None
        self.user: str | None = None
        self.labels: tuple[str, ...] = ()  # its own; descendants inherit them
        self.exit_ms: int | None = None
        self.last_ms = self.start_ms
        self.confirmed = False  # an event of its own has been seen
        self.origin = EVENT  # how its start became known: FORK, PROC, EVENT or PPID
        self.cached: tuple[dict[str, object], dict[str, object]] | None = None
        self.cached_epoch = -1

    @property
    def key(self) -> ProcessKey:
        return (self.host, self.pid, self.start_ms, self.serial)

    @property
    def placeholder(self) -> bool:
        return self.image is None and not self.confirmed

    @property
    def images(self) -> list[Image]:
        """The exec chain, oldest first (a new list: change it through the tree)."""
        return [*self.earlier, self.image] if self.image is not None else []

    @property
    def executable(self) -> str | None:
        image = self.image
        return image.path if image is not None else None

    @property
    def command_line(self) -> str | None:
        image = self.image
        return image.command_line if image is not None else None

    def run(self, image: Image, keep: int) -> None:
        """`image` is now what the process runs; the chain keeps the first and the latest
        images, `keep` of them in all."""
        current = self.image
        if current is not None:
            earlier = (*self.earlier, current)
            if len(earlier) >= keep:
                earlier = (earlier[0], *earlier[len(earlier) - keep + 2 :])
            self.earlier = earlier
        self.image = image

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
        where = f"{self.host or ''} pid {self.pid} @{self.start_ms}:{self.serial}"
        return f"Process({where} {self.executable})"
