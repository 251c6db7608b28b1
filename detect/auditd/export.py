"""An event as plain data: host, @timestamp, serial, every record (raw, fields, interpreted) and
the ECS summary. Text that holds non-UTF-8 bytes is shown with `\\xNN` escapes here; the raw
record text beside it stays exactly as the kernel wrote it (hex), so nothing is lost."""

from __future__ import annotations

from typing import Any, Final

from detect.auditd import interpret, normalize
from detect.auditd.event import AuditEvent
from detect.auditd.record import Record


def record_to_dict(record: Record, arch: str | None) -> dict[str, Any]:
    fields = record.fields
    out: dict[str, Any] = {"type": record.type, "fields": fields}
    interpreted: dict[str, Any] = interpret.record_interpreted(record)
    extra: dict[str, Any] | None = None
    if record.type == "SOCKADDR":
        extra = {"sockaddr": interpret.sockaddr(record, arch)}
    elif record.type == "PATH" and "mode" in fields:
        extra = {"mode": interpret.file_mode(fields["mode"])}
    if extra is not None:
        interpreted = {**interpreted, **{k: v for k, v in extra.items() if v}}
    if interpreted:
        out["interpreted"] = interpreted
    out["raw"] = record.line.rstrip("\n")
    return out


def event_to_dict(event: AuditEvent) -> dict[str, Any]:
    arch = interpret.event_arch(event)
    out: dict[str, Any] = {
        "host": event.node,
        "@timestamp": event.timestamp,
        "serial": event.serial,
        "records": [record_to_dict(record, arch) for record in event.records],
    }
    out.update(normalize.summarize(event))
    detect: dict[str, Any] = {"completion": event.completion}
    argv = interpret.execve_argv(event)
    if argv is not None:
        detect["argv"] = argv
        if interpret.execve_truncated(event):
            detect["argv_truncated"] = True
    out["detect"] = detect
    return out


CONTROL_ESCAPES: Final = {code: f"\\x{code:02x}" for code in (*range(32), 127)} | {
    ord("\n"): "\\n",
    ord("\t"): "\\t",
}


def visible(text: str) -> str:
    """For text meant for people: non-UTF-8 bytes and control characters as escapes, so that
    a value can never break a line or fake one."""
    shown: str = printable(text)
    return shown.translate(CONTROL_ESCAPES)


def printable(value: Any) -> Any:
    """Surrogate escapes (non-UTF-8 bytes) become `\\xNN` text, recursively."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        return value
    if isinstance(value, dict):
        return {printable(key): printable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [printable(item) for item in value]
    return value
