"""The ECS top level of an alert document (ECS 8.17): `ecs.version`, `agent.*`, and the
`process.*`, `user.*`, `file.*`, network endpoint and `event.*` categorisation fields of the
events the alert stands for, under their ECS names only (the field set is
`mappings/ecs_fields.yaml`; anything ECS has no field for stays under `detect.*`).

Built from the alert's exported events (`detect.events`: detect.auditd.export) and the process
ancestry, once per alert, so that every alert gets it, however it was made (a rule's match, a
correlation, a deduplicated fold). An alert that stands for several events keeps a field only
where all of them agree, and only when it lists them all: one that lists fewer than it stands for
(`detect.events_total`) says nothing of the others, and keeps none of these fields.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from importlib import metadata
from typing import Any, Final

Document = dict[str, Any]
Flat = dict[str, Any]  # dotted ECS path -> value

ECS_VERSION: Final = "8.17.0"
AGENT_NAME: Final = "detect"
# The exported event's process and user parts (detect.auditd.normalize), kept where ECS has the
# same field; `user.audit` (the login uid) has no ECS field and stays in detect.events.
PROCESS_FIELDS: Final = (
    "pid",
    "executable",
    "name",
    "args",
    "command_line",
    "title",
    "working_directory",
    "parent.pid",
)
USER_FIELDS: Final = (
    "id",
    "name",
    "effective.id",
    "effective.name",
    "target.id",
    "target.name",
    "group.id",
    "group.name",
)
FILE_FIELDS: Final = ("path", "inode", "uid", "gid", "device", "mode")
FILE_TYPES: Final = {"file": "file", "dir": "dir", "link": "symlink"}  # ECS file.type values
EVENT_FIELDS: Final = ("action", "category", "type", "outcome")
# Which end of a connection the event's socket address is, by what the event did (its
# event.action, from mappings/ecs.yaml): the peer it connected or sent to is the destination,
# the peer it accepted or received from is the source, the address it bound is its own (server).
ENDPOINTS: Final = {
    "connected-to": "destination",
    "sent-to": "destination",
    "accepted-connection-from": "source",
    "received-from": "source",
    "bound-socket": "server",
}
NETWORK_TYPES: Final = {"inet": "ipv4", "inet6": "ipv6"}
# ECS types of the event fields that are not one string (keyword): a value of another type is
# left out (the exported event keeps it), e.g. a `comm` that reads as a number
NUMBERS: Final = frozenset(
    ("process.pid", "process.parent.pid", "source.port", "destination.port", "server.port")
)
LISTS: Final = frozenset(("process.args", "event.category", "event.type"))
# from the process tree's ancestry
PARENT_FIELDS: Final = ("executable", "command_line", "entity_id")


@cache
def agent() -> Document:
    """`agent.*`: this program, its version from the installed package's metadata."""
    try:
        version = metadata.version(AGENT_NAME)
    except metadata.PackageNotFoundError:  # a source tree that was never installed
        version = "unknown"
    return {"name": AGENT_NAME, "type": AGENT_NAME, "version": version}


def event_fields(event: Mapping[str, Any]) -> Flat:
    """The ECS fields of one exported event, flat (`process.pid` -> 1234)."""
    out: Flat = {}
    _copy(out, "process", event.get("process"), PROCESS_FIELDS)
    _copy(out, "user", event.get("user"), USER_FIELDS)
    _file(out, event.get("file"))
    happened = event.get("event") or {}
    _copy(out, "event", happened, EVENT_FIELDS)
    _endpoint(out, happened.get("action"), event.get("destination"))
    for path in [path for path, value in out.items() if not _typed(path, value)]:
        del out[path]
    if "process.args" in out:
        out["process.args_count"] = len(out["process.args"])
    return out


def _copy(out: Flat, prefix: str, part: Any, names: Iterable[str]) -> None:
    if not isinstance(part, Mapping):
        return
    for name in names:
        value = _get(part, name)
        if value is not None:
            out[f"{prefix}.{name}"] = value


def _file(out: Flat, part: Any) -> None:
    if not isinstance(part, Mapping):
        return
    _copy(out, "file", part, FILE_FIELDS)
    path = part.get("path")
    if isinstance(path, str) and path:
        directory, name = posixpath.split(path)
        if name:
            out["file.name"] = name
            if posixpath.isabs(path):
                out["file.directory"] = directory
    kind = FILE_TYPES.get(part.get("type", ""))
    if kind is not None:
        out["file.type"] = kind


def _endpoint(out: Flat, action: Any, part: Any) -> None:
    end = ENDPOINTS.get(action) if isinstance(action, str) else None
    if end is None or not isinstance(part, Mapping) or "address" not in part:
        return
    for name in ("address", "ip", "port"):
        if name in part:
            out[f"{end}.{name}"] = part[name]
    network = NETWORK_TYPES.get(part.get("family", ""))
    if network is not None:
        out["network.type"] = network


def _typed(path: str, value: Any) -> bool:
    if path in NUMBERS:
        return _is_number(value)
    if path in LISTS:
        return isinstance(value, list) and all(isinstance(item, str) for item in value)
    return isinstance(value, str)


def _is_number(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _get(part: Mapping[str, Any], dotted: str) -> Any:
    value: Any = part
    for key in dotted.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def common(parts: Sequence[Flat]) -> Flat:
    """The fields all of `parts` have, with the same value."""
    if not parts:
        return {}
    first, *others = parts
    return {
        path: value
        for path, value in first.items()
        if all(other.get(path, _ABSENT) == value for other in others)
    }


_ABSENT = object()


def alert_fields(
    events: Sequence[Mapping[str, Any]],
    ancestry: Sequence[Mapping[str, Any]] | None,
    events_total: int | None,
) -> Document:
    """The ECS fields of an alert's events (see the module's docstring), nested."""
    if events_total is not None and events_total > len(events):
        return {}
    flat = common([event_fields(event) for event in events])
    _tree(flat, ancestry)
    return nest(flat)


def _tree(flat: Flat, ancestry: Sequence[Mapping[str, Any]] | None) -> None:
    """From the process tree's ancestry: the process's `entity_id` when the tree's process is
    the events' own (the same pid), and the parent's executable, command line and `entity_id`
    when the tree's parent is the events' parent (the same pid)."""
    if not ancestry:
        return
    own = ancestry[-1]
    if flat.get("process.pid") == own.get("pid") and isinstance(own.get("entity_id"), str):
        flat["process.entity_id"] = own["entity_id"]
    if len(ancestry) < 2:
        return
    parent = ancestry[-2]
    if flat.get("process.parent.pid") != parent.get("pid"):
        return
    for name in PARENT_FIELDS:
        value = parent.get(name)
        if isinstance(value, str):
            flat[f"process.parent.{name}"] = value


def nest(flat: Mapping[str, Any]) -> Document:
    """`{"a.b": 1}` -> `{"a": {"b": 1}}`."""
    out: Document = {}
    for key, value in flat.items():
        target = out
        *parents, last = key.split(".")
        for part in parents:
            target = target.setdefault(part, {})
        target[last] = value
    return out
