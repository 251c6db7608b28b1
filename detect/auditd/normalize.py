"""The ECS-aligned summary of an event: event.*, process.*, user.*, file.*, destination.*.

What each syscall and record type does is data (`mappings/ecs.yaml`), loaded once and validated.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any, Final

from detect.auditd import interpret
from detect.auditd.event import AuditEvent
from detect.auditd.numbers import parse_uint
from detect.auditd.record import Record
from detect.core.errors import DetectError
from detect.core.resources import mapping_path
from detect.core.yamlio import parse_yaml

ECS_CATEGORIES: Final = frozenset(
    (
        "api", "authentication", "configuration", "database", "driver", "email", "file", "host",
        "iam", "intrusion_detection", "library", "malware", "network", "package", "process",
        "registry", "session", "threat", "vulnerability", "web",
    )
)  # fmt: skip
ECS_TYPES: Final = frozenset(
    (
        "access", "admin", "allowed", "change", "connection", "creation", "deletion", "denied",
        "end", "error", "group", "indicator", "info", "installation", "protocol", "start", "user",
    )
)  # fmt: skip
ACCOUNT_CHANGES: Final = frozenset(
    ("ADD_USER", "DEL_USER", "USER_MGMT", "USER_CHAUTHTOK", "ADD_GROUP", "DEL_GROUP", "GRP_MGMT")
)
PATH_PREFERENCE: Final = ("CREATE", "DELETE", "NORMAL", "UNKNOWN")
PROCESS_FIELDS: Final = (("pid", "pid"), ("ppid", "ppid"), ("exe", "executable"), ("comm", "name"))
NUMERIC_PROCESS_FIELDS: Final = frozenset(("pid", "ppid"))  # a `comm` of digits stays a name


class MappingError(DetectError):
    pass


@cache
def load_actions(path: Path | None = None) -> dict[str, dict[str, dict[str, Any]]]:
    """`mappings/ecs.yaml`, checked strictly: a bad built-in table fails at start-up."""
    source = path or mapping_path("ecs.yaml")
    data = parse_yaml(source.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or set(data) != {"record_types", "syscalls"}:
        raise MappingError(f"{source}: expected the keys record_types and syscalls")
    for section, entries in data.items():
        for name, entry in entries.items():
            _check_action(source, section, name, entry)
    return data


def _check_action(source: Path, section: str, name: str, entry: Any) -> None:
    where = f"{source}: {section}.{name}"
    if not isinstance(entry, dict) or set(entry) != {"action", "category", "type"}:
        raise MappingError(f"{where}: needs exactly action, category, type")
    if not set(entry["category"]) <= ECS_CATEGORIES:
        raise MappingError(f"{where}: unknown ECS category in {entry['category']}")
    if not set(entry["type"]) <= ECS_TYPES:
        raise MappingError(f"{where}: unknown ECS type in {entry['type']}")


def summarize(event: AuditEvent) -> dict[str, Any]:
    """The ECS summary, computed once per event."""
    found = event.ecs
    if found is None:
        found = event.ecs = _build(event)
    return found


def _build(event: AuditEvent) -> dict[str, Any]:
    out: dict[str, Any] = {"event": _event_fields(event)}
    syscall = event.first("SYSCALL")
    primary = syscall or event.records[0]
    for name, part in (
        ("process", _process(event, primary)),
        ("user", _user(primary)),
        ("file", _file(event)),
        ("destination", _destination(event)),
    ):
        if part:
            out[name] = part
    keys = event_keys(event)
    if keys:
        out["tags"] = keys
    return out


def _event_fields(event: AuditEvent) -> dict[str, Any]:
    actions = load_actions()
    syscall = event.first("SYSCALL")
    name = interpret.event_syscall(event)
    entry = None
    for record in event.records:
        entry = actions["record_types"].get(record.type)
        if entry is not None:
            break
    if entry is None and name is not None:
        entry = actions["syscalls"].get(name)
    fields: dict[str, Any] = {"kind": "event", "module": "auditd"}
    if entry is not None:
        fields.update(action=entry["action"], category=entry["category"], type=entry["type"])
    outcome = _outcome(syscall or event.records[0])
    if outcome:
        fields["outcome"] = outcome
    return fields


def _outcome(record: Record) -> str | None:
    fields = record.fields
    value = fields.get("success") or fields.get("res")
    if value in ("yes", "success", "1"):
        return "success"
    if value in ("no", "failed", "fail", "0"):
        return "failure"
    return None


def _process(event: AuditEvent, primary: Record) -> dict[str, Any]:
    fields = primary.fields
    out: dict[str, Any] = {}
    for field, target in PROCESS_FIELDS:
        value = fields.get(field)
        if value is not None:
            number = parse_uint(value) if field in NUMERIC_PROCESS_FIELDS else None
            out[target] = value if number is None else number
    if "ppid" in out:
        out["parent"] = {"pid": out.pop("ppid")}
    argv = interpret.execve_argv(event)
    if argv:
        out["args"] = argv
        out["command_line"] = " ".join(argv)
    title = interpret.proctitle_argv(event)
    if title:
        out["title"] = " ".join(title)
    cwd = event.first("CWD")
    if cwd is not None and "cwd" in cwd.fields:
        out["working_directory"] = cwd.fields["cwd"]
    return out


def _user(primary: Record) -> dict[str, Any]:
    fields, names = primary.fields, interpret.record_interpreted(primary)
    out: dict[str, Any] = {}
    for field, target in (("uid", ""), ("euid", "effective."), ("auid", "audit.")):
        if field in fields:
            _put(out, target + "id", fields[field])
        if field.upper() in names:
            _put(out, target + "name", names[field.upper()])
    if "acct" in fields:  # the account acted on: the actor itself, but for account changes
        _put(out, "target.name" if primary.type in ACCOUNT_CHANGES else "name", fields["acct"])
    if primary.type in ACCOUNT_CHANGES and "id" in fields:
        _put(out, "target.id", fields["id"])
    if "gid" in fields:
        _put(out, "group.id", fields["gid"])
    return out


def _file(event: AuditEvent) -> dict[str, Any]:
    paths = [record for record in event.records if record.type == "PATH"]
    if not paths:
        return {}
    chosen = min(paths, key=_path_rank)
    fields = chosen.fields
    out: dict[str, Any] = {}
    if "name" in fields:
        out["path"] = fields["name"]
    if "inode" in fields:
        out["inode"] = fields["inode"]
    for field, target in (("ouid", "uid"), ("ogid", "gid"), ("dev", "device")):
        if field in fields:
            out[target] = fields[field]
    mode = interpret.file_mode(fields["mode"]) if "mode" in fields else None
    if mode is not None:
        out["mode"] = mode["perms"]
        out["type"] = mode["type"]
    return out


def _path_rank(record: Record) -> int:
    nametype = record.fields.get("nametype", "UNKNOWN")
    return PATH_PREFERENCE.index(nametype) if nametype in PATH_PREFERENCE else len(PATH_PREFERENCE)


def _destination(event: AuditEvent) -> dict[str, Any]:
    decoded = interpret.event_sockaddr(event)
    if not decoded:
        return {}
    out: dict[str, Any] = {}
    if "addr" in decoded:
        out["address"] = out["ip"] = decoded["addr"]
    elif "path" in decoded:
        out["address"] = decoded["path"]
    if "port" in decoded:
        out["port"] = decoded["port"]
    out["family"] = decoded["family"]
    return out


def event_keys(event: AuditEvent) -> list[str]:
    """Audit keys of the event: several keys in one field are joined by 0x01."""
    for record in event.records:
        key = record.fields.get("key")
        if key:
            return [part for part in key.split("\x01") if part]
    return []


def _put(target: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    for part in parts[:-1]:
        target = target.setdefault(part, {})
    target[parts[-1]] = value
