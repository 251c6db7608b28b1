"""Path needs as watches: `-w PATH -p PERMS -k KEY`, one line per path.

A need whose only filters are a path (`path=` or `dir=`) and, for opens, the write-flag filter is
what a watch does: the kernel hashes a watched file by inode, and a watched directory is a tree
(every file below it), and `-p` keeps only the syscalls of its permission classes
(`include/asm-generic/audit_*.h`, as `simulate.py` replays them):

- `w` the write class (truncate, rename, unlink, mkdir, creat, link, ...) and an open for
  writing (O_WRONLY or O_RDWR);
- `a` the attribute class (chmod, chown, setxattr, ...);
- `r` the read class (readlink, getxattr, ...) and an open for reading;
- `x` execve and execveat.

So the permissions come from the need's syscalls (the fewest letters that hold them all: link and
linkat are in both the write and the attribute class, so a `file_event` asks `w` alone and does
not record every chmod below the path): an open with the write-flag filter asks for `w`,
and so does an open whose flags the log does not show (openat2) beside write-class syscalls (a
`file_event`); a plain open (a `file_access`) asks for `r`, an exec for `x`; a need of every
syscall asks for `rwxa` on a file, and for `wxa` on a directory: reading a whole tree is the catch-
all that floods a host, so a detection that wants reads below a directory must say so (a
`file_access` rule, or read syscalls); the reads left out are reported. Syscalls outside every
class (the utime family: timestamps only; open_by_handle_at) are not seen by a watch; each
detection that asked for one is told so in a note.

Watches of one path are merged (permissions united), and a directory's watch takes in the
watches below it that ask for no more permissions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from detect.auditgen.derive import Filter, Need
from detect.auditgen.keys import Served
from detect.auditgen.simulate import ATTR_CLASS, EXEC_CLASS, READ_CLASS, WRITE_CLASS

PERM_ORDER = "rwxa"
PATH_FIELDS = ("path", "dir")
FLAG_FIELDS = ("a1", "a2")  # the write-flag filter of open (a1) and openat (a2)
OPENS = frozenset(("open", "openat", "openat2"))
CLASSES = (("w", WRITE_CLASS), ("a", ATTR_CLASS), ("r", READ_CLASS), ("x", EXEC_CLASS))


@dataclass
class WatchGroup:
    """One watched path, the permissions asked for it, and the detections it serves."""

    path: str
    is_dir: bool
    perms: set[str] = field(default_factory=set)
    served: set[Served] = field(default_factory=set)

    @property
    def perm_text(self) -> str:
        return "".join(p for p in PERM_ORDER if p in self.perms)

    def covers(self, other: WatchGroup) -> bool:
        inside = other.path == self.path or (
            self.is_dir and other.path.startswith(self.path.rstrip("/") + "/")
        )
        return inside and other.perms <= self.perms


def path_of(need: Need) -> Filter | None:
    return next((f for f in need.filters if f.field in PATH_FIELDS), None)


def is_watch(need: Need) -> bool:
    """Whether a watch does what the need asks: a path, and no filter a watch cannot carry."""
    if path_of(need) is None or need.entries:
        return False  # entries: the folder's own inode, which `-w FOLDER` (a tree) is not
    rest = [f for f in need.filters if f.field not in PATH_FIELDS]
    return all(f.field in FLAG_FIELDS and f.op == "&" for f in rest)


def perms_of(need: Need) -> tuple[set[str], frozenset[str]]:
    """The permissions a watch needs for `need`, and its syscalls no permission class holds."""
    if need.syscalls is None:
        where = path_of(need)
        if where is not None and where.field == "dir":
            return set("wxa"), frozenset([f"reads below {where.value}"])
        return set(PERM_ORDER), frozenset()
    writes = any(f.field in FLAG_FIELDS for f in need.filters) or bool(need.syscalls & WRITE_CLASS)
    perms: set[str] = set()
    unseen = set()
    several: list[set[str]] = []  # syscalls in two classes: link is a write and an attribute change
    for name in sorted(need.syscalls):
        letters = {letter for letter, members in CLASSES if name in members}
        if name in OPENS:
            letters = {"w" if writes else "r"}
        if not letters:
            unseen.add(name)
        elif len(letters) == 1:
            perms |= letters
        else:
            several.append(letters)
    for letters in several:  # one letter is enough: the one already asked for, else the first
        if not letters & perms:
            perms.add(next(p for p in PERM_ORDER if p in letters))
    return perms, frozenset(unseen)


def plan_watches(
    needs: Iterable[tuple[Need, Served]],
) -> tuple[list[WatchGroup], dict[Served, set[str]]]:
    """The watches for path needs (merged, covered ones folded), and per detection the
    syscalls it asked for that no watch sees."""
    by_path: dict[str, WatchGroup] = {}
    unseen: dict[Served, set[str]] = {}
    for need, served in needs:
        where = path_of(need)
        assert where is not None
        perms, missed = perms_of(need)
        if missed:
            unseen.setdefault(served, set()).update(missed)
        if not perms:
            continue
        group = by_path.setdefault(where.value, WatchGroup(where.value, where.field == "dir"))
        group.is_dir = group.is_dir or where.field == "dir"
        group.perms |= perms
        group.served.add(served)
    kept: list[WatchGroup] = []
    for group in sorted(by_path.values(), key=lambda g: (g.path.count("/"), g.path)):
        cover = next((k for k in kept if k.covers(group)), None)
        if cover is None:
            kept.append(group)
        else:
            cover.served |= group.served
    return sorted(kept, key=lambda g: (g.is_dir, g.path)), unseen
