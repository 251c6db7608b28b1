"""The record view: what a `product: linux, service: auditd` detection sees of each record.

SigmaHQ writes its auditd rules per record (`type: EXECVE` with `a0`…; `type: PATH` with
`name`; `type: SYSCALL` with `SYSCALL: <name>`), so such a rule is tested on each record of an
event. A record's view holds:

- `type`, the record type name;
- the record's own fields by their raw names, hex decoded (`name`, `a0`…; `proctitle` with
  the NULs between arguments read as spaces, as auparse shows it);
- the interpreted upper-case names ENRICHED logs carry (`SYSCALL`, `ARCH`, `AUID`, `UID`…),
  produced from RAW logs too: ids the log does not name become `root` for 0, `unset` for
  4294967295 and the number otherwise, so a rule reads the same on both formats;
- where the record lacks them, the process context of the event's SYSCALL record (CONTEXT):
  never that record's `a0`–`a3`, which mean nothing on another record;
- on the first EXECVE record (the one with `argc`), `CommandLine`: the decoded argv joined by
  spaces, so that keyword detections spanning two arguments (`--to-ports 42`) match; later
  EXECVE records of a long command line carry only their own arguments.

With a process tree (`detect.proctree`), a record's view also answers the tree fields of its
event's process (`ParentImage`, `AncestorImages`…, DESIGN §3), computed only when asked. They
describe other processes than the record's own, so keyword (value-only) tests do not look at
them: `values()` is the record's own.

`RecordView` answers lookups without building the whole mapping: the engine asks a few
fields of each record (the rule index's, then the candidate rules'), so a record nobody asks
about costs one small object. `record_view` builds the whole mapping (keyword tests, output,
tests); both give the same answer for every key.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, ValuesView
from typing import Any, Final

from detect.auditd import interpret
from detect.auditd.event import AuditEvent
from detect.auditd.interpret import id_name
from detect.auditd.record import Record
from detect.proctree.fields import TREE_KEYS, tree_fields
from detect.proctree.process import Process

View = dict[str, object]

ID_FIELDS: Final = (
    "auid",
    "uid",
    "euid",
    "suid",
    "fsuid",
    "gid",
    "egid",
    "sgid",
    "fsgid",
    "ouid",
    "ogid",
)
ID_KEYS: Final = {field.upper(): field for field in ID_FIELDS}  # the name of each id, by its field
COMPOSED_KEYS: Final = frozenset(("proctitle", "CommandLine"))  # extras made from other extras
CONTEXT: Final = (
    "exe",
    "comm",
    "key",
    "pid",
    "ppid",
    "auid",
    "uid",
    "euid",
    "gid",
    "ses",
    "tty",
    "success",
    "exit",
    "syscall",
    "arch",
    "SYSCALL",
    "ARCH",
    "AUID",
    "UID",
    "EUID",
    "GID",
    "EXIT",
)
TREE_DEPTH: Final = "ProcessTreeDepth"  # the one tree field always there when any is


def record_view(
    record: Record,
    context: Mapping[str, object] | None,
    argv: list[str] | None,
    process: Process | None = None,
) -> View:
    """The whole view of one record, as a dict (with the tree fields of `process`)."""
    view: View = dict(record.fields)
    view.update(_extras(record, argv))
    view["type"] = record.type
    if context is not None and record.type != "SYSCALL":
        for name, value in context.items():
            view.setdefault(name, value)
    if process is not None:
        view = WithTree(view)
        for name, value in tree_fields(process).items():
            view.setdefault(name, value)
    return view


class WithTree(dict[str, object]):
    """A whole record view with tree fields: `values()` (what keyword tests read) is the
    record's own, as `RecordView.values()` is."""

    __slots__ = ()

    def values(self) -> Any:
        if TREE_DEPTH not in self:
            return dict.values(self)
        return [value for key, value in self.items() if key not in TREE_KEYS]


class RecordView(Mapping[str, object]):
    """A record's view, looked up lazily: own fields, then its extras (`type`, interpreted
    names, `CommandLine`), then the tree fields of `process`, then the SYSCALL context; equal
    to `record_view` key by key. `values()` leaves the tree fields out (keyword tests)."""

    __slots__ = ("_argv", "_aux", "_context", "_extras", "_process", "_whole", "record", "type")

    def __init__(
        self,
        record: Record,
        context: Mapping[str, object] | None,
        argv: list[str] | None,
        process: Process | None = None,
    ) -> None:
        self.record = record
        self._process = process
        self.type = record.type
        self._context = context if record.type != "SYSCALL" else None
        self._aux = self._context is not None and record.type in AUXILIARY_TYPES
        self._argv = argv
        self._extras: View | None = None
        self._whole: View | None = None

    def get(self, key: str, default: object = None) -> object:
        if key == "type":
            return self.type
        if self._aux and key in CONTEXT_KEYS:  # never a field of these records: no parse
            return self._context.get(key, default)  # type: ignore[union-attr]
        if key in EXTRA_KEYS or key[:1].isupper():
            value = self._extra(key)
            if value is None:
                value = self.record.fields.get(key)
            if value is None and self._process is not None and key in TREE_KEYS:
                value = tree_fields(self._process).get(key)
        else:
            value = self.record.fields.get(key)
        if value is None and self._context is not None:
            value = self._context.get(key)
        return default if value is None else value

    def _extra(self, key: str) -> object:
        """`extras().get(key)`; an interpreted name or an id's name is read without building
        the extras (as `_extras` makes them: the interpreted names, then the ids' names)."""
        if self._extras is not None or key in COMPOSED_KEYS:
            return self.extras().get(key)
        record = self.record
        value = interpret.interpreted_value(record, key)
        if value is None:
            field = ID_KEYS.get(key)
            number = record.fields.get(field) if field is not None else None
            if number is not None:
                return id_name(number)
        return value

    def extras(self) -> View:
        """What the view adds to the record's own fields (see `_extras`), computed once."""
        extras = self._extras
        if extras is None:
            extras = self._extras = _extras(self.record, self._argv)
        return extras

    def context(self) -> View:
        """The CONTEXT fields of this view (of a SYSCALL record: its event's context)."""
        whole = {**self.record.fields, **self.extras()}
        return {name: whole[name] for name in CONTEXT if name in whole}

    def context_get(self, key: str) -> object:
        """`context().get(key)` for a CONTEXT key, without building the context."""
        value = self._extra(key)
        return self.record.fields.get(key) if value is None else value

    def __getitem__(self, key: str) -> object:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def whole(self) -> View:
        """The record's own view (no tree fields)."""
        if self._whole is None:
            self._whole = record_view(self.record, self._context, self._argv)
        return self._whole

    def _tree(self) -> View:
        own = self.whole()
        if self._process is None:
            return {}
        return {k: v for k, v in tree_fields(self._process).items() if k not in own}

    def __iter__(self) -> Iterator[str]:
        yield from self.whole()
        yield from self._tree()

    def __len__(self) -> int:
        return len(self.whole()) + len(self._tree())

    def values(self) -> ValuesView[object]:
        return self.whole().values()


EXTRA_KEYS: Final = frozenset(("proctitle",))  # own fields the extras override
CONTEXT_KEYS: Final = frozenset(CONTEXT)
# Kernel records that follow a SYSCALL record and never carry a CONTEXT field themselves (nor
# its upper-case name, ENRICHED or not): their context comes straight from the SYSCALL record.
AUXILIARY_TYPES: Final = frozenset(
    ("PATH", "CWD", "PROCTITLE", "SOCKADDR", "EXECVE", "BPRM_FCAPS", "MMAP", "FD_PAIR")
)


# The fields the kernel writes in these records, all of them (kernel/auditsc.c audit_log_exit,
# audit_log_task_info, show_special, audit_log_proctitle; kernel/audit.c audit_log_name; with
# several LSMs, `subj=?`/`obj=?` and records of their own, MAC_TASK_CONTEXTS...): a field
# outside its type's set is never a record's own, so looking it up needs no parse of the body.
# EXECVE is not here: its argument fields (a0, a1[0], a1_len…) are unbounded.
KERNEL_FIELDS: Final = {
    "SYSCALL": frozenset(
        (
            *("arch", "syscall", "per", "success", "exit", "a0", "a1", "a2", "a3", "items"),
            *("ppid", "pid", "auid", "uid", "gid", "euid", "suid", "fsuid", "egid", "sgid"),
            *("fsgid", "tty", "ses", "comm", "exe", "subj", "key"),
        )
    ),
    "PATH": frozenset(
        (
            *("item", "name", "inode", "dev", "mode", "ouid", "ogid", "rdev", "nametype"),
            *("obj", "osid", "cap_fp", "cap_fi", "cap_fe", "cap_fver", "cap_frootid"),
        )
    ),
    "CWD": frozenset(("cwd",)),
    "PROCTITLE": frozenset(("proctitle",)),
    "SOCKADDR": frozenset(("saddr",)),
    "BPRM_FCAPS": frozenset(
        (
            *("fver", "fp", "fi", "fe", "frootid", "pp", "pi", "pe", "pa"),
            *("old_pp", "old_pi", "old_pe", "old_pa"),
        )
    ),
    "MMAP": frozenset(("fd", "flags")),
    "FD_PAIR": frozenset(("fd0", "fd1")),
}


FieldSources = tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]


def record_sources(record_type: str, fields: Iterable[str], context: bool) -> FieldSources | None:
    """Where the view of a record of `record_type` finds each of `fields` (`context`: its
    event has a SYSCALL record): (the event's context: the same for every auxiliary record of
    the event; the record's own parsed fields, nothing else; anything else, to be asked of
    the view); None when only the view can tell (records of other types). An auxiliary record
    (AUXILIARY_TYPES) takes the CONTEXT fields from the context, a SYSCALL record has no
    context; a field the type never carries (`KERNEL_FIELDS`) is left out: it is absent."""
    auxiliary = context and record_type in AUXILIARY_TYPES
    if not auxiliary and record_type != "SYSCALL":
        return None
    carried = KERNEL_FIELDS.get(record_type)
    from_context: list[str] = []
    own: list[str] = []
    other: list[str] = []
    for name in fields:
        if auxiliary and name in CONTEXT_KEYS:
            from_context.append(name)
        elif name == "type" or name in EXTRA_KEYS or name[:1].isupper():
            other.append(name)
        elif carried is None or name in carried:
            own.append(name)  # a lower-case CONTEXT key is one here: no fallback to it
    return tuple(from_context), tuple(own), tuple(other)


def _extras(record: Record, argv: list[str] | None) -> View:
    """What a record's view adds to its own fields (no context): names, type, CommandLine."""
    extras: View = dict(interpret.record_interpreted(record))
    fields = record.fields
    for field in ID_FIELDS:
        number = fields.get(field)
        if number is not None:
            extras.setdefault(field.upper(), id_name(number))
    if record.type == "PROCTITLE" and "PROCTITLE" in extras:
        extras["proctitle"] = extras["PROCTITLE"]
    if argv is not None and record.type == "EXECVE" and "argc" in fields:
        # only the first EXECVE record (the kernel writes argc there, once): an ARG_MAX execve
        # spans ~400 records, and a whole command line on each cost every keyword rule ~400
        # passes over it (issue 18); the event matches on this one record all the same
        extras["CommandLine"] = " ".join(argv)
    return extras


def syscall_view(event: AuditEvent) -> RecordView | None:
    """The view of the event's (first) SYSCALL record, built once per event: the context of
    the other records is read from it, and the engine tests it as that record's view."""
    if not event.syscall_view_done:
        syscall = event.first("SYSCALL")
        view = None if syscall is None else RecordView(syscall, None, None, event.process)
        event.syscall_view, event.syscall_view_done = view, True
    found: RecordView | None = event.syscall_view
    return found


class SyscallContext(Mapping[str, object]):
    """The context of an event's SYSCALL record read from its view key by key (each value
    once): equal to `view.context()`, which is built only if the whole mapping is asked for."""

    __slots__ = ("_built", "_read", "view")

    def __init__(self, view: RecordView) -> None:
        self.view = view
        self._built: View | None = None
        self._read: dict[str, object] = {}

    def get(self, key: str, default: object = None) -> object:
        read = self._read
        if key in read:
            value = read[key]
        elif key in CONTEXT_KEYS:
            value = read[key] = self.view.context_get(key)
        else:
            return default
        return default if value is None else value

    def __getitem__(self, key: str) -> object:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def _whole(self) -> View:
        if self._built is None:
            self._built = self.view.context()
        return self._built

    def __iter__(self) -> Iterator[str]:
        return iter(self._whole())

    def __len__(self) -> int:
        return len(self._whole())


def syscall_context(event: AuditEvent) -> View | None:
    """The SYSCALL record's process context, as its own view has it (ids named)."""
    view = syscall_view(event)
    return None if view is None else view.context()


def record_views(event: AuditEvent) -> list[View]:
    """One view per record, in record order (built once per event)."""
    views: list[View] | None = event.record_views
    if views is None:
        context = syscall_context(event)
        argv = interpret.execve_argv(event) if event.first("EXECVE") is not None else None
        process = event.process
        views = [record_view(record, context, argv, process) for record in event.records]
        event.record_views = views
    return views
