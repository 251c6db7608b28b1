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
    for name in ("file", "source", "destination"):
        part = summary.get(name)
        if part:
            out.append(f"  {name} {describe(part)}")
    keys = summary.get("tags")
    if keys:
        out.append("  keys " + ", ".join(export.visible(str(key)) for key in keys))
    return out


def describe(part: dict[str, Any]) -> str:
    """An ECS part as people read it: what it names first (a path, or an address with its
    port: `[::1]:53` for IPv6), then its other fields as `name=value` (nested ones dotted)."""
    fields = dict(_flat(part))
    head = fields.pop("path", None)
    if head is None:
        address = fields.pop("address", None)
        ip = fields.pop("ip", None)
        head = address if address is not None else ip
        port = fields.pop("port", None)
        if head is not None and port is not None:
            head = f"[{head}]:{port}" if ":" in str(head) else f"{head}:{port}"
    shown = [f"{name}={export.visible(str(value))}" for name, value in fields.items()]
    return " ".join([export.visible(str(head)), *shown] if head is not None else shown)


def _flat(part: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for name, value in part.items():
        if isinstance(value, dict):
            out.extend(_flat(value, f"{prefix}{name}."))
        elif isinstance(value, list | tuple):
            out.append((f"{prefix}{name}", ",".join(str(item) for item in value)))
        elif value is not None:
            out.append((f"{prefix}{name}", value))
    return out


# The event formats of `detect events`, by --format name.
EVENT_WRITERS: dict[str, Callable[[TextIO], Callable[[AuditEvent], object]]] = {
    "jsonl": JsonLinesWriter,
    "text": TextWriter,
}
