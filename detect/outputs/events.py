"""Writers for `detect events`: one JSON object per line, or a readable block per event."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from typing import Any, TextIO

import orjson

from detect.auditd import export, interpret, normalize
from detect.auditd.event import AuditEvent


def dumps(data: dict[str, Any]) -> str:
    """One JSON line; non-UTF-8 text is escaped only when present (the rare, slow path)."""
    try:
        return orjson.dumps(data).decode()
    except TypeError:
        return orjson.dumps(export.printable(data)).decode()


class JsonLinesWriter:
    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def __call__(self, event: AuditEvent) -> None:
        self.stream.write(dumps(export.event_to_dict(event)))
        self.stream.write("\n")


class TextWriter:
    """For people: time, host, serial, action, who, what; then one line per record."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def __call__(self, event: AuditEvent) -> None:
        summary = normalize.summarize(event)
        action = summary["event"].get("action", "-")
        outcome = summary["event"].get("outcome", "")
        head = f"{event.timestamp} {event.node or '-'} #{event.serial} {action} {outcome}"
        syscall = event.first("SYSCALL")
        if syscall is not None:
            names = interpret.record_interpreted(syscall)
            head += f" [{names.get('SYSCALL', '?')} {names.get('EXIT', '')}]".replace(" ]", "]")
        lines = [head]
        lines.extend(_who_what(event, summary))
        for record in event.records:
            shown = " ".join(f"{k}={export.visible(v)}" for k, v in record.fields.items())
            lines.append(f"  {record.type}: {shown}")
        self.stream.write("\n".join(lines) + "\n\n")


def _who_what(event: AuditEvent, summary: dict[str, Any]) -> list[str]:
    out: list[str] = []
    user = summary.get("user", {})
    process = summary.get("process", {})
    if user or process:
        who = user.get("name") or user.get("id", "?")
        audit = user.get("audit", {})
        login = audit.get("name") or audit.get("id", "?")
        exe = export.visible(str(process.get("executable", "?")))
        out.append(f"  user {who} (login {login}) pid {process.get('pid', '?')} exe {exe}")
    argv = interpret.execve_argv(event)
    if argv:
        out.append("  argv " + " ".join(shlex.quote(export.visible(arg)) for arg in argv))
    for name in ("file", "destination"):
        part = summary.get(name)
        if part:
            out.append(f"  {name} {export.visible(str(part))}")
    keys = summary.get("tags")
    if keys:
        out.append(f"  keys {keys}")
    return out


# The event formats of `detect events`, by --format name.
EVENT_WRITERS: dict[str, Callable[[TextIO], Callable[[AuditEvent], object]]] = {
    "jsonl": JsonLinesWriter,
    "text": TextWriter,
}
