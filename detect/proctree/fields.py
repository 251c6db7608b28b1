"""The process-tree fields detections see (DESIGN §3), and the ancestry chain alerts carry.

Record views use the Sigma names themselves (`ParentImage`…); category views use the internal
names the Sigma mapping (`mappings/sigma/linux.yml`) maps those names onto. Both are computed
once per process and kept until the tree changes above it (the tree's epoch), so a busy
process costs one comparison per event. List fields (`AncestorImages`,
`AncestorCommandLines`, `ProcessLabels`) match when any element matches. Absent values
(a placeholder parent has no image) are left out, never given as empty strings.
"""

from __future__ import annotations

from hashlib import blake2b
from typing import Any, Final

from detect.core.timefmt import iso_ms
from detect.proctree.process import FORK, PROC, Process

MAX_DEPTH: Final = 64  # ancestry walks stop here (a bound, and a guard against a cycle)
TREE_FIELDS: Final = {  # Sigma name -> category view name
    "ParentImage": "process.parent.executable",
    "ParentCommandLine": "process.parent.command_line",
    "ParentUser": "process.parent.user.name",
    "ParentUserId": "process.parent.user.id",
    "GrandparentImage": "process.grandparent.executable",
    "AncestorImages": "process.ancestors.executable",
    "AncestorCommandLines": "process.ancestors.command_line",
    "ProcessTreeDepth": "process.tree.depth",
    "ProcessLabels": "process.labels",
}
TREE_KEYS: Final = frozenset(TREE_FIELDS)
REAL_STARTS: Final = frozenset((FORK, PROC))  # origins that are a process's real start
Fields = dict[str, object]


def tree_fields(process: Process) -> Fields:
    """The tree fields of `process` by their Sigma names (shared: do not mutate)."""
    return _cached(process)[0]


def category_tree_fields(process: Process) -> Fields:
    """The tree fields of `process` by their category view names (shared: do not mutate)."""
    return _cached(process)[1]


def _cached(process: Process) -> tuple[Fields, Fields]:
    epoch = process.owner.value
    cached = process.cached
    if cached is None or process.cached_epoch != epoch:
        named = _compute(process)
        internal = {TREE_FIELDS[name]: value for name, value in named.items()}
        if cached is None:
            process.owner.hold(process)  # bounded: the oldest holder's are dropped
        cached = process.cached = (named, internal)
        process.cached_epoch = epoch
    return cached


def _compute(process: Process) -> Fields:
    ancestors = process.ancestors(MAX_DEPTH)
    out: Fields = {}
    if ancestors:
        parent = ancestors[0]
        _put(out, "ParentImage", parent.executable)
        _put(out, "ParentCommandLine", parent.command_line)
        _put(out, "ParentUser", parent.user)
        _put(out, "ParentUserId", parent.uid)
        if len(ancestors) > 1:
            _put(out, "GrandparentImage", ancestors[1].executable)
        images = [p.executable for p in ancestors if p.executable is not None]
        lines = [p.command_line for p in ancestors if p.command_line is not None]
        if images:
            out["AncestorImages"] = images
        if lines:
            out["AncestorCommandLines"] = lines
    out["ProcessTreeDepth"] = len(ancestors)
    labels = sorted({label for p in (process, *ancestors) for label in p.labels})
    if labels:
        out["ProcessLabels"] = labels
    return out


def _put(out: Fields, name: str, value: str | None) -> None:
    if value is not None:
        out[name] = value


def ancestry(process: Process, limit: int = MAX_DEPTH) -> list[dict[str, Any]]:
    """The process and its ancestors, oldest first: what an alert shows of the tree."""
    chain = [process, *process.ancestors(limit)]
    return [describe(p) for p in reversed(chain)]


def entity_id(process: Process) -> str:
    """ECS `process.entity_id`: one process, not a reused PID. A digest of the tree's key
    (host, pid, and the audit time and serial of the event that first showed it): the same
    for the same log in `scan` and `stream`; a stream that seeds its tree from /proc names
    the processes alive at its start by their /proc start instead."""
    key = f"{process.host}\x00{process.pid}\x00{process.start_ms}\x00{process.serial}"
    return blake2b(key.encode("utf-8", "surrogateescape"), digest_size=8).hexdigest()


def describe(process: Process) -> dict[str, Any]:
    out: dict[str, Any] = {"pid": process.pid, "entity_id": entity_id(process)}
    for name, value in (
        ("executable", process.executable),
        ("command_line", process.command_line),
        ("user", process.user),
    ):
        if value is not None:
            out[name] = value
    # A start time only when it is one (a fork, or /proc at seeding). A process first seen in
    # its own event or as another's ppid has only a first-seen time: shown as a start, a
    # placeholder parent seen after its child would look younger than the child.
    if process.origin in REAL_STARTS:
        out["start"] = iso_ms(process.start_ms)
        out["start_from"] = process.origin
    else:
        out["first_seen"] = iso_ms(process.start_ms)
        out["seen_from"] = process.origin
    if process.exit_ms is not None:
        out["end"] = iso_ms(process.exit_ms)
    if process.labels:
        out["labels"] = list(process.labels)
    return out
