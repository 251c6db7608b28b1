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
- on EXECVE records, `CommandLine`: the decoded argv joined by spaces, so that keyword
  detections spanning two arguments (`--to-ports 42`) match.

Views are built once per event and cached on it; callers must not mutate them.
"""

from __future__ import annotations

from detect.auditd import interpret
from detect.auditd.event import AuditEvent
from detect.auditd.record import Record

View = dict[str, object]

ID_FIELDS = ("auid", "uid", "euid", "suid", "fsuid", "gid", "egid", "sgid", "fsgid", "ouid", "ogid")
CONTEXT = (
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
ROOT_ID = "0"


def id_name(number: str) -> str:
    """What a RAW log's id reads as when ENRICHED names are not there."""
    if number == ROOT_ID:
        return "root"
    if number == interpret.UNSET_ID:
        return "unset"
    return number


def record_view(record: Record, context: View | None, argv: list[str] | None) -> View:
    fields = record.fields
    view: View = dict(fields)
    view["type"] = record.type
    view.update(interpret.record_interpreted(record))
    for field in ID_FIELDS:
        number = fields.get(field)
        if number is not None:
            view.setdefault(field.upper(), id_name(number))
    if context is not None and record.type != "SYSCALL":
        for name, value in context.items():
            view.setdefault(name, value)
    if record.type == "PROCTITLE" and "PROCTITLE" in view:
        view["proctitle"] = view["PROCTITLE"]  # NUL-separated argv, as the kernel logs it
    if argv is not None and record.type == "EXECVE":
        view["CommandLine"] = " ".join(argv)
    return view


def syscall_context(event: AuditEvent) -> View | None:
    """The SYSCALL record's process context, as its own view has it (ids named)."""
    syscall = event.first("SYSCALL")
    if syscall is None:
        return None
    whole = record_view(syscall, None, None)
    return {name: whole[name] for name in CONTEXT if name in whole}


def record_views(event: AuditEvent) -> list[View]:
    """One view per record, in record order (built once per event)."""
    views: list[View] | None = event.cache.get("record_views")
    if views is None:
        context = syscall_context(event)
        argv = interpret.execve_argv(event) if event.first("EXECVE") is not None else None
        views = [record_view(record, context, argv) for record in event.records]
        event.cache["record_views"] = views
    return views
