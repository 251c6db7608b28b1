"""Alerts as ECS-aligned data, and their writers: JSON lines, or a readable block per alert.

An alert names its rule (id, title, description, references, level as `event.severity`), the
rule's ATT&CK techniques and tactics (`threat.*`, from the catalog), and the matched event in
full (`detect.events`: host, serial, @timestamp, interpreted fields and every raw record), and
with a process tree the process's ancestry (`detect.ancestry`: oldest first, each with pid,
executable, command line, user and start time); the text format draws it as a small tree.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol, TextIO

from detect.attack.catalog import Catalog
from detect.attack.tags import resolve_tags, threat_fields
from detect.auditd import export
from detect.auditd.views import id_name
from detect.engine import Match
from detect.errors import Location
from detect.outputs.events import dumps
from detect.proctree.fields import ancestry
from detect.rules.model import Rule

SEVERITY = {"informational": 1, "low": 21, "medium": 47, "high": 73, "critical": 99}
DEFAULT_LEVEL = "medium"


def nest(dotted: Mapping[str, Any]) -> dict[str, Any]:
    """`{"a.b": 1}` -> `{"a": {"b": 1}}`."""
    out: dict[str, Any] = {}
    for key, value in dotted.items():
        target = out
        *parents, last = key.split(".")
        for part in parents:
            target = target.setdefault(part, {})
        target[last] = value
    return out


class AlertBuilder:
    """Builds alert dicts; the per-rule part (rule, threat) is computed once per rule."""

    def __init__(self, catalog: Catalog | None = None) -> None:
        self.catalog = catalog
        self._rule_parts: dict[int, dict[str, Any]] = {}

    def __call__(self, match: Match) -> dict[str, Any]:
        event = match.event
        alert: dict[str, Any] = {"@timestamp": event.timestamp}
        if event.node:
            alert["host"] = {"name": event.node}
        alert.update(self.rule_part(match.rule))
        detected = export.event_to_dict(event)
        detected["view"] = match.view
        alert["detect"] = {**alert["detect"], "events": [detected]}
        if event.process is not None:
            alert["detect"]["ancestry"] = ancestry(event.process)
        return alert

    def rule_part(self, rule: Rule) -> dict[str, Any]:
        part = self._rule_parts.get(id(rule))
        if part is None:
            part = self._rule_parts[id(rule)] = rule_fields(rule.id, rule, self.catalog)
        return part


class Described(Protocol):
    """What an alert says of the rule (or correlation) that raised it."""

    title: str
    level: str | None
    description: str
    references: tuple[str, ...]
    tags: tuple[str, ...]
    source: Location


def rule_fields(rule_id: str, rule: Described, catalog: Catalog | None) -> dict[str, Any]:
    """The per-rule part of an alert: event kind and severity, rule, tags, threat, level."""
    level = rule.level or DEFAULT_LEVEL
    out: dict[str, Any] = {
        "event": {
            "kind": "alert",
            "module": "auditd",
            "severity": SEVERITY.get(level, SEVERITY[DEFAULT_LEVEL]),
        },
        "rule": {
            "id": rule_id,
            "name": rule.title,
            "description": rule.description,
            "reference": list(rule.references),
        },
        "tags": list(rule.tags),
    }
    threat = threat_fields(resolve_tags(rule.tags, catalog), catalog)
    out.update(nest(threat))
    out["detect"] = {"level": level, "rule_source": str(rule.source)}
    return out


class JsonAlertWriter:
    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def __call__(self, alert: dict[str, Any]) -> None:
        self.stream.write(dumps(alert))
        self.stream.write("\n")


class TextAlertWriter:
    """For people: time, host, level, rule; who ran what; the techniques."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def __call__(self, alert: dict[str, Any]) -> None:
        event = alert["detect"]["events"][0]
        level = alert["detect"]["level"].upper()
        head = f"{alert['@timestamp']} {event.get('host') or '-'} #{event['serial']} {level}"
        lines = [f"{head}  {alert['rule']['name']}"]
        lines.extend(_details(event))
        lines.extend(draw_ancestry(alert["detect"].get("ancestry", [])))
        lines.append(f"  techniques: {_techniques(alert)}")
        lines.append(f"  rule: {alert['rule']['id']} ({alert['detect']['rule_source']})")
        self.stream.write("\n".join(lines) + "\n\n")


def _details(event: dict[str, Any]) -> list[str]:
    user, process = event.get("user", {}), event.get("process", {})
    who = user.get("name") or id_name(str(user.get("id", "?")))
    audit = user.get("audit", {})
    login = audit.get("name") or audit.get("id")
    if login and login != "unset":
        who += f" (login {login})"
    out = [f"  user: {who}"]
    if process:
        out.append(f"  process: {process.get('executable', '?')} pid {process.get('pid', '?')}")
    command = event.get("detect", {}).get("argv")
    if command:
        out.append(f"  command: {export.visible(' '.join(command))}")
    elif process.get("title"):
        out.append(f"  title: {export.visible(process['title'])}")
    file_path = event.get("file", {}).get("path")
    if file_path:
        out.append(f"  file: {export.visible(file_path)}")
    if event.get("tags"):
        out.append(f"  audit keys: {', '.join(event['tags'])}")
    return out


def draw_ancestry(chain: list[dict[str, Any]]) -> list[str]:
    """The ancestry as a small tree, oldest first, the matched process last:

    ancestry:
      pid 100 /usr/sbin/nginx (www-data) nginx: master process  [14:02:11.250]
      └─ pid 120 /usr/bin/dash (www-data) sh -c id  [14:02:12.001]
    """
    if not chain:
        return []
    out = ["  ancestry:"]
    for depth, entry in enumerate(chain):
        branch = "   " * (depth - 1) + "└─ " if depth else ""
        out.append(f"    {branch}{_ancestor(entry)}")
    return out


def _ancestor(entry: dict[str, Any]) -> str:
    parts = [f"pid {entry['pid']}", entry.get("executable", "?")]
    if entry.get("user"):
        parts.append(f"({entry['user']})")
    if entry.get("command_line"):
        parts.append(export.visible(entry["command_line"]))
    start = entry.get("start", "")
    seen = "" if entry.get("start_from") in ("fork", "proc") else "seen "
    return " ".join(parts) + f"  [{seen}{start[11:23]}]"


def _techniques(alert: dict[str, Any]) -> str:
    threat = alert.get("threat", {})
    technique = threat.get("technique", {})
    parts = (technique, technique.get("subtechnique", {}))
    shown = (
        ", ".join(
            f"{i} {n}"
            for part in parts
            for i, n in zip(part.get("id", []), part.get("name", []), strict=True)
        )
        or "-"
    )
    tactics = threat.get("tactic", {}).get("name", [])
    return f"{shown} [{', '.join(tactics)}]" if tactics else shown


# The alert formats of `detect scan` and `detect stream`, by --format name.
ALERT_WRITERS: dict[str, Callable[[TextIO], Callable[[dict[str, Any]], object]]] = {
    "jsonl": JsonAlertWriter,
    "text": TextAlertWriter,
}
