"""Which paths an event's PATH records name, resolved as the kernel looked them up.

The kernel matches a watch (`path=`/`dir=`) by inode, while the log names a file opened relative
to a directory descriptor by its bare name (and that lookup's parent by the CWD). So
`PathMemory.learn(event)`, called on events in log order, remembers the path of each inode and
of each descriptor a successful open returned, and resolves the names of later events with them:

- an absolute name is taken as it is (normalised);
- a relative name is joined to the CWD, or for an `*at` call with a directory descriptor other
  than AT_FDCWD, to that descriptor's path;
- a PARENT record that names the CWD in such a call stands for the descriptor's directory;
- a record without a usable name is known by its (dev, inode) when an earlier event named it.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field

from detect.auditd.event import AuditEvent
from detect.auditd.record import Record
from detect.kernel import tables

OPENS = frozenset(("open", "openat", "openat2", "open_by_handle_at"))
DIRFD_SYSCALLS = frozenset(
    [
        "openat",
        "openat2",
        "mkdirat",
        "mknodat",
        "fchownat",
        "futimesat",
        "newfstatat",
        "unlinkat",
        "renameat",
        "renameat2",
        "linkat",
        "readlinkat",
        "fchmodat",
        "fchmodat2",
        "faccessat",
        "faccessat2",
        "utimensat",
        "execveat",
        "statx",
        "name_to_handle_at",
    ]
)
AT_FDCWD = ("ffffff9c", "ffffffffffffff9c")  # a0 of a lookup relative to the CWD

Inode = tuple[str, str]  # (dev, inode) as the PATH record prints them
Descriptor = tuple[str, int]  # (pid, fd)


@dataclass
class PathMemory:
    """Where inodes and descriptors are, learnt from the events seen so far in log order."""

    inodes: dict[Inode, str] = field(default_factory=dict)
    descriptors: dict[Descriptor, str] = field(default_factory=dict)

    def learn(self, event: AuditEvent) -> list[str]:
        """The resolved paths of the event's PATH records; remembers what they reveal."""
        return [path for path in self.learn_names(event) if path is not None]

    def learn_names(self, event: AuditEvent) -> list[str | None]:
        """Each PATH record's resolved path (None when unknown), in record order: the kernel's
        names list, which the inode rules are looked up by, one name after the other."""
        records = event.all("PATH")
        lookup = Lookup(event, self)
        paths = lookup.resolve(records)
        self.remember_inodes(records, paths)
        self.remember_descriptor(lookup, paths)
        return paths

    def remember_inodes(self, records: list[Record], paths: list[str | None]) -> None:
        for record, path in zip(records, paths, strict=True):
            if path is not None and inode_of(record)[1]:
                self.inodes[inode_of(record)] = path

    def remember_descriptor(self, lookup: Lookup, paths: list[str | None]) -> None:
        """An open that succeeded: its result descriptor names the last path it looked up."""
        exit_text = lookup.fields.get("exit", "")
        if lookup.syscall not in OPENS or not exit_text.isdigit() or not paths:
            return
        if paths[-1] is not None:
            self.descriptors[(lookup.fields.get("pid", ""), int(exit_text))] = paths[-1]


class Lookup:
    """One event's lookup: the directory its relative names start from."""

    def __init__(self, event: AuditEvent, memory: PathMemory) -> None:
        self.memory = memory
        self.cwd = event_cwd(event)
        syscall = event.first("SYSCALL")
        self.fields = syscall.fields if syscall is not None else {}
        self.syscall = syscall_name(self.fields)
        self.base: str | None = self.cwd
        if self.syscall in DIRFD_SYSCALLS and self.fields.get("a0") not in AT_FDCWD:
            fd = int(self.fields.get("a0", "0"), 16)
            self.base = memory.descriptors.get((self.fields.get("pid", ""), fd))
        self.relative_to_dirfd = self.base is not self.cwd

    def resolve(self, records: list[Record]) -> list[str | None]:
        """Each record's path (None when unknown), in record order."""
        paths = [self.path_of(record) for record in records]
        parents = [path for record, path in zip(records, paths, strict=True) if is_parent(record)]
        if self.base is None and parents and parents[0] is not None:
            self.base = parents[0]  # the descriptor's directory, known by its inode
            paths = [self.path_of(record) for record in records]
        return paths

    def path_of(self, record: Record) -> str | None:
        known = self.memory.inodes.get(inode_of(record))
        name = record.fields.get("name", "")
        if self.relative_to_dirfd and is_parent(record) and name.rstrip("/") == self.cwd:
            return self.base or known  # the kernel printed the CWD for the descriptor
        if name.startswith("/"):
            return posixpath.normpath(name)
        if name and self.base is not None:
            return posixpath.normpath(posixpath.join(self.base, name))
        return known


def syscall_name(fields: dict[str, str]) -> str:
    """The SYSCALL record's syscall name, or "" when its arch or number is unknown."""
    arch = tables.arch_name(fields.get("arch", "") or "0")
    number = fields.get("syscall", "")
    name = tables.syscall_name(arch, int(number)) if arch and number.isdigit() else None
    return name or ""


def is_parent(record: Record) -> bool:
    return record.fields.get("nametype") == "PARENT"


def event_cwd(event: AuditEvent) -> str:
    record = event.first("CWD")
    return record.fields.get("cwd", "/") if record is not None else "/"


def inode_of(record: Record) -> Inode:
    return (record.fields.get("dev", ""), record.fields.get("inode", ""))
