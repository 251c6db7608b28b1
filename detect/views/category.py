"""Category views: what a `product: linux, category: X` detection sees of an event.

Which categories an event offers is data (`mappings/categories.yaml`, loaded by
`detect.kernel.categories`), decided by its syscall; the fields are ECS-style names
(`process.executable`, `file.path`…) that the Sigma field mapping (`mappings/sigma/linux.yml`)
maps SigmaHQ's names (`Image`, `TargetFilename`…) onto.
Every category shares the process context of the SYSCALL record; file categories add
`file.path` (their target files, absolute: relative names are joined to the CWD record's
directory) and `network_connection` (IPv4 and IPv6 only, as Sysmon for Linux reports them)
adds the peer address. With a process tree, every category has the tree fields of the
event's process (`process.parent.executable`…, DESIGN §3); keyword tests do not look at them
(`CategoryView.values()`), as they describe other processes. Views are built once per event
and cached on it; callers must not mutate them.

An engine first asks a category's rule index which rules can match, and the index reads only
a few fields: `CategoryProbe` answers those one by one (the target paths, the executable, a
tree field…) without building the view, which is built only for events with candidate rules.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final

from detect.auditd import interpret, normalize
from detect.auditd.event import AuditEvent
from detect.auditd.interpret import id_name
from detect.auditd.record import Record
from detect.kernel.categories import (
    FILE_ACCESS,
    FILE_EVENT,
    FLAG_FORMS,
    NETWORK_CONNECTION,
    PROCESS_CREATION,
    WRITE_FLAGS,
    load_categories,
)
from detect.kernel.categories import CategoryError as CategoryError
from detect.proctree.fields import TREE_FIELDS, category_tree_fields
from detect.proctree.process import Process
from detect.views.record import View

INET_FAMILIES: Final = frozenset(("inet", "inet6"))
AT_FDCWD: Final = frozenset(("ffffff9c", "ffffffffffffff9c"))  # -100 as a 32- or 64-bit argument
DIRFD_ARGS: Final = {  # the directory-descriptor arguments of `*at` calls, when not just a0
    "renameat": ("a0", "a2"),
    "renameat2": ("a0", "a2"),
    "linkat": ("a0", "a2"),
    "symlinkat": ("a1",),
}
ACCESS_MODES: Final = ("O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE")
# The same values on every architecture detect reads (asm-generic, x86, arm, ppc, s390, riscv).
OPEN_FLAGS: Final = (
    (0o100, "O_CREAT"),
    (0o200, "O_EXCL"),
    (0o1000, "O_TRUNC"),
    (0o2000, "O_APPEND"),
)
OPEN_TARGETS: Final = {FILE_EVENT: ("CREATE", "NORMAL"), FILE_ACCESS: ("NORMAL",)}
# What an open call offers (`event_categories`, shared by every such event: never mutated)
Offered = dict[str, tuple[str, ...]]
OPEN_WRITES: Final[Offered] = {FILE_EVENT: OPEN_TARGETS[FILE_EVENT]}
OPEN_READS: Final[Offered] = {FILE_ACCESS: OPEN_TARGETS[FILE_ACCESS]}
OPEN_UNKNOWN: Final[Offered] = {FILE_EVENT: ("CREATE",), FILE_ACCESS: ("NORMAL",)}
NO_CATEGORIES: Final[Offered] = {}
OPEN_BY_FLAGS: Final[dict[str, Offered]] = {}  # `_open_offered` by the flags' text, bounded:
FLAG_TEXTS: Final = 4096  # texts kept (cleared when full)
NO_VALUE: Final = (None, "", interpret.UNSET_ID)
PROCESS_FIELDS: Final = (
    ("exe", "process.executable"),
    ("comm", "process.name"),
    ("pid", "process.pid"),
    ("ppid", "process.parent.pid"),
    ("uid", "user.id"),
    ("euid", "user.effective.id"),
    ("auid", "user.audit.id"),
    ("ses", "auditd.session"),
    ("tty", "auditd.tty"),
    ("success", "auditd.success"),
)
NAMED_IDS: Final = (
    ("uid", "user.name"),
    ("euid", "user.effective.name"),
    ("auid", "user.audit.name"),
)
TREE_NAMES: Final = frozenset(TREE_FIELDS.values())
TREE_DEPTH: Final = TREE_FIELDS["ProcessTreeDepth"]


class CategoryView(dict[str, object]):
    """A category view: a plain dict for lookups; `values()` (what keyword tests read) leaves
    out the tree fields, which describe the process's ancestors, not the event."""

    __slots__ = ()

    def values(self) -> Any:
        if TREE_DEPTH not in self:  # the one tree field always there when any is
            return dict.values(self)
        return [value for key, value in self.items() if key not in TREE_NAMES]


def event_categories(event: AuditEvent) -> dict[str, tuple[str, ...]]:
    """The categories `event` offers, each with the nametypes of its target PATH records
    (shared by the events that offer the same: do not mutate)."""
    return categories_of(event, event.first("SYSCALL"))


def categories_of(event: AuditEvent, syscall: Record | None) -> dict[str, tuple[str, ...]]:
    """`event_categories(event)` for the event's (first) SYSCALL record `syscall`."""
    if syscall is None:
        return NO_CATEGORIES
    name = interpret.syscall_name(syscall)
    if name is None:
        return NO_CATEGORIES
    table = load_categories()
    form = table.opens.get(name)
    if form is not None:
        return _open_offered(syscall, form)
    found = table.by_syscall.get(name)
    if found is None:
        return NO_CATEGORIES
    creates = PROCESS_CREATION in found and event.first("EXECVE") is not None
    inet = NETWORK_CONNECTION in found and _is_inet(event)
    return table.offered(name, creates, inet)


def _is_inet(event: AuditEvent) -> bool:
    """A network connection is over IPv4 or IPv6, as Sysmon for Linux reports them; unix and
    netlink sockets are local."""
    decoded = interpret.event_sockaddr(event)
    return decoded is not None and decoded.get("family") in INET_FAMILIES


def _open_categories(flags: int | None, form: str) -> dict[str, tuple[str, ...]]:
    if form == "write":
        return OPEN_WRITES
    if flags is None:  # not logged, or not a number: created files are still file events
        return OPEN_UNKNOWN
    return OPEN_WRITES if flags & WRITE_FLAGS else OPEN_READS


def _open_offered(syscall: Record, form: str) -> Offered:
    """`_open_categories` of the call's flags, by their text as logged (few: cached)."""
    if form in FLAG_FORMS:
        return _open_categories(None, form)
    text = syscall.fields.get(form, "")
    found = OPEN_BY_FLAGS.get(text)
    if found is None:
        if len(OPEN_BY_FLAGS) >= FLAG_TEXTS:
            OPEN_BY_FLAGS.clear()
        found = OPEN_BY_FLAGS[text] = _open_categories(_syscall_flag_bits(syscall, form), form)
    return found


def _flag_bits(event: AuditEvent, form: str) -> int | None:
    """The flags argument of an open call (`form` names it, e.g. `a2`); None when not logged."""
    return _syscall_flag_bits(event.first("SYSCALL"), form)


def _syscall_flag_bits(syscall: Record | None, form: str) -> int | None:
    if syscall is None or form in FLAG_FORMS:
        return None
    try:
        return int(syscall.fields.get(form, ""), 16)
    except ValueError:
        return None


def category_views(event: AuditEvent) -> dict[str, View]:
    """One view per category the event offers (built once per event)."""
    views: dict[str, View] | None = event.category_views
    if views is None:
        views = {}
        found = event_categories(event)
        if found:
            base = base_view(event)
            if event.process is not None:
                base.update(category_tree_fields(event.process))
            views = {
                name: _category_view(event, base, name, kinds) for name, kinds in found.items()
            }
        event.category_views = views
    return views


def _category_view(event: AuditEvent, base: View, name: str, kinds: tuple[str, ...]) -> View:
    view = CategoryView(base)
    if name in OPEN_TARGETS:
        flags = _event_open_flags(event)
        if flags:
            view["file.open_flags"] = flags
    if kinds:
        paths = target_paths(event, kinds)
        if paths:
            view["file.path"] = paths
    if name == NETWORK_CONNECTION:
        view.update(peer_fields(event))
    return view


def _event_open_flags(event: AuditEvent) -> list[str] | None:
    form = load_categories().opens.get(interpret.event_syscall(event) or "")
    flags = _flag_bits(event, form) if form is not None else None
    return open_flag_names(flags) if flags is not None else None


def base_view(event: AuditEvent) -> View:
    """The process context every category shares."""
    syscall = event.first("SYSCALL")
    view: View = {}
    if syscall is None:
        return view
    for field, target in PROCESS_FIELDS:
        value = process_value(syscall, field)
        if value is not None:
            view[target] = value
    for field, target in NAMED_IDS:
        named = user_name(syscall, field)
        if named is not None:
            view[target] = named
    _put_interpreted(view, interpret.record_interpreted(syscall))
    _put_process(view, event)
    return view


def process_value(syscall: Record, field: str) -> str | None:
    """A process field of the SYSCALL record as category views have it (absent: None)."""
    value = syscall.fields.get(field)
    return None if value in NO_VALUE else value


def user_name(syscall: Record, field: str) -> str | None:
    """The name of the SYSCALL record's id `field` (ENRICHED's, else the host's or `#n`)."""
    number = syscall.fields.get(field)
    named = interpret.record_interpreted(syscall).get(field.upper())
    if number is None or number in NO_VALUE or named == "unset":
        return None
    return named or id_name(number)


def _put_interpreted(view: View, names: dict[str, str]) -> None:
    if "SYSCALL" in names:
        view["auditd.syscall"] = names["SYSCALL"]
    if "ARCH" in names:
        view["auditd.arch"] = names["ARCH"]
    if "EXIT" in names:
        view["auditd.errno"] = names["EXIT"]


def _put_process(view: View, event: AuditEvent) -> None:
    keys = normalize.event_keys(event)
    if keys:
        view["auditd.keys"] = keys
    title = interpret.proctitle_argv(event)
    if title:
        view["process.title"] = " ".join(title)
    argv = interpret.execve_argv(event)
    if argv:
        view["process.args"] = argv
        view["process.command_line"] = " ".join(argv)
    cwd = working_directory(event)
    if cwd is not None:
        view["process.working_directory"] = cwd


def working_directory(event: AuditEvent) -> str | None:
    record = event.first("CWD")
    return record.fields.get("cwd") if record is not None else None


def target_paths(event: AuditEvent, kinds: tuple[str, ...]) -> list[str]:
    """Names of the PATH records of those nametypes, in record order, no repeats. Relative
    names are joined to the working directory, unless the call named a directory by file
    descriptor (an `*at` call without AT_FDCWD): the kernel logs neither that directory's path
    nor (in PARENT) anything but the working directory, so such names stay relative rather
    than be made wrong."""
    found: list[str] = []
    cwd: str | None = None
    joined = False  # whether cwd has been looked up: only for a relative name
    for record in event.records:
        if record.type != "PATH":
            continue
        fields = record.fields
        name = fields.get("name")
        if not name or fields.get("nametype") not in kinds:
            continue
        if name[0] != "/":
            if not joined:
                cwd = working_directory(event) if _relative_to_cwd(event) else None
                joined = True
            if cwd is not None:
                name = posixpath.normpath(posixpath.join(cwd, name))
        if name not in found:
            found.append(name)
    return found


def _relative_to_cwd(event: AuditEvent) -> bool:
    syscall, name = event.first("SYSCALL"), interpret.event_syscall(event)
    if syscall is None or name is None or not name.endswith(("at", "at2")):
        return True
    fields = syscall.fields
    return all(fields.get(arg, "") in AT_FDCWD for arg in DIRFD_ARGS.get(name, ("a0",)))


def open_flag_names(flags: int) -> list[str]:
    """The access mode and creation flags of an open call, by name."""
    return [ACCESS_MODES[flags & 0o3], *(name for bit, name in OPEN_FLAGS if flags & bit)]


def peer_fields(event: AuditEvent) -> View:
    """The SOCKADDR record's address: the destination of a connect, the source of an accept."""
    decoded = interpret.event_sockaddr(event)
    if not decoded:
        return {}
    initiated = interpret.event_syscall(event) in load_categories().initiated
    side = "destination" if initiated else "source"
    view: View = {"network.initiated": "true" if initiated else "false"}
    view["network.family"] = decoded["family"]
    for key, target in (("addr", "ip"), ("port", "port")):
        if key in decoded:
            view[f"{side}.{target}"] = decoded[key]
    return view


class CategoryProbe(Mapping[str, object]):
    """One category view of an event, looked up field by field without building it: what a
    rule index asks to find the candidate rules, and what the candidates read. Each field the
    probe computes itself (`PROBED`, once) is computed as the view's builder does it, so that
    it is equal to the view's, present or absent; any other field, and `values()` (keyword
    tests), are read from the whole view (`view()`), built then."""

    __slots__ = ("_read", "event", "kinds", "name", "syscall")

    def __init__(
        self,
        event: AuditEvent,
        name: str,
        kinds: tuple[str, ...],
        syscall: Record | None = None,
    ) -> None:
        """`syscall`: the event's (first) SYSCALL record, when the caller has it."""
        self.event = event
        self.name = name
        self.kinds = kinds
        self.syscall = syscall if syscall is not None else event.first("SYSCALL")
        self._read: dict[str, object] | None = None

    def get(self, key: str, default: object = None) -> object:
        read = self._read
        if read is not None and key in read:
            value = read[key]
        else:
            probe = PROBED.get(key)
            if probe is None or self.event.category_views is not None:
                value = self.view().get(key)
            else:
                if read is None:
                    read = self._read = {}
                value = read[key] = probe(self, key)
        return default if value is None else value

    def view(self) -> View:
        """The whole view (built once per event, with the event's other categories)."""
        return category_views(self.event)[self.name]

    def values(self) -> Any:
        return self.view().values()

    def __getitem__(self, key: str) -> object:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self.view())

    def __len__(self) -> int:
        return len(self.view())


def _probe_paths(probe: CategoryProbe, key: str) -> object:
    return (target_paths(probe.event, probe.kinds) if probe.kinds else None) or None


def _probe_process(probe: CategoryProbe, key: str) -> object:
    syscall = probe.syscall
    return process_value(syscall, PROCESS_SOURCES[key]) if syscall is not None else None


def _probe_user(probe: CategoryProbe, key: str) -> object:
    syscall = probe.syscall
    return user_name(syscall, NAMED_SOURCES[key]) if syscall is not None else None


def _probe_syscall(probe: CategoryProbe, key: str) -> object:
    syscall = probe.syscall
    return interpret.syscall_name(syscall) if syscall is not None else None


def _probe_command_line(probe: CategoryProbe, key: str) -> object:
    argv = interpret.execve_argv(probe.event) if probe.syscall is not None else None
    return " ".join(argv) if argv else None


def _probe_directory(probe: CategoryProbe, key: str) -> object:
    return working_directory(probe.event) if probe.syscall is not None else None


def _probe_tree(probe: CategoryProbe, key: str) -> object:
    process: Process | None = probe.event.process
    return category_tree_fields(process).get(key) if process is not None else None


PROCESS_SOURCES: Final = {target: field for field, target in PROCESS_FIELDS}
NAMED_SOURCES: Final = {target: field for field, target in NAMED_IDS}
# The fields a probe computes itself, each as the view's builder does (base_view,
# _put_process, _category_view); a field missing here costs building the view.
PROBED: Final[dict[str, Callable[[CategoryProbe, str], object]]] = {
    "file.path": _probe_paths,
    "auditd.syscall": _probe_syscall,
    "process.command_line": _probe_command_line,
    "process.working_directory": _probe_directory,
    **{target: _probe_process for target in PROCESS_SOURCES},
    **{target: _probe_user for target in NAMED_SOURCES},
    **{name: _probe_tree for name in TREE_NAMES},
}
