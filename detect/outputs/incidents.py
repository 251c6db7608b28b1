"""Incidents out (detect.triage.incidents): a JSON line per incident update, and the view for
people that `--format text` prints: incidents first, highest first, each with its rules and its
process tree, then one line counting the alerts behind them.

An incident line has the top-level shape of an alert (`@timestamp`, `host.name`, `event.*`,
`threat.*` with every technique and tactic of its alerts, `detect.level`, `detect.events`: each
member event's host, serial and time) plus `detect.incident`: id, score, title, status (`open`,
`raised`, `closed`), start, end, session, users, root process, the alerts by rule with counts,
the informational tags, and the process tree (each process with its parent and the rules that
alerted on it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TextIO

from detect.auditd.export import visible
from detect.core import ecs
from detect.core.alert import SEVERITY, Document
from detect.core.timefmt import iso_ms
from detect.outputs.events import dumps
from detect.triage.incidents import Incident, RuleEntry
from detect.triage.levels import rank

THREAT_LISTS = ("technique", "technique.subtechnique", "tactic")


def title_of(incident: Incident) -> str:
    top = ranked_rules(incident)
    more = f" (+{len(top) - 1} more rules)" if len(top) > 1 else ""
    _, kind, first, second, third = incident.key
    if kind == "session":
        where = f"in login session {first} (login uid {second})"
    elif kind == "service":
        where = f"under {second}" + (f", {third}" if third else "")
    elif kind == "correlation":
        where = f"correlated by {second or 'time'}"
    else:
        where = f"by {first}"
    return f"{top[0].title}{more} {where}"


def ranked_rules(incident: Incident) -> list[RuleEntry]:
    return sorted(
        incident.rules.values(), key=lambda e: (-rank(e.level), -e.count, e.first_ms, e.title)
    )


def merged_threat(entries: Iterable[RuleEntry]) -> dict[str, Any]:
    """The union of the rules' `threat.*` lists (ids and names kept paired, first seen first)."""
    out: dict[str, Any] = {}
    for entry in entries:
        threat = entry.threat
        if not threat:
            continue
        out.setdefault("framework", threat.get("framework"))
        for path in THREAT_LISTS:
            source = threat
            for part in path.split("."):
                source = source.get(part, {})
            if not source.get("id"):
                continue
            target = out
            for part in path.split("."):
                target = target.setdefault(part, {})
            for index, item in enumerate(source["id"]):
                if item in target.setdefault("id", []):
                    continue
                target["id"].append(item)
                for name in ("name", "reference"):
                    if name in source:
                        target.setdefault(name, []).append(source[name][index])
    return out


def incident_document(incident: Incident, change: str | None = None) -> Document:
    """The incident's JSON object; `change` (open, raised, reopened, closed) is its status."""
    out: Document = {"@timestamp": iso_ms(incident.last_ms), "ecs": {"version": ecs.ECS_VERSION}}
    if incident.host:
        out["host"] = {"name": incident.host}
    out["agent"] = dict(ecs.agent())
    out["event"] = {
        "kind": "alert",
        "module": "auditd",
        "dataset": "detect.incident",
        "severity": SEVERITY.get(incident.level, SEVERITY["medium"]),
    }
    threat = merged_threat(ranked_rules(incident))
    if threat:
        out["threat"] = threat
    out["detect"] = {
        "level": incident.level,
        "events": incident.events,
        "events_total": incident.events_total,
        "incident": _incident_part(incident, change or incident.status),
    }
    return out


def _incident_part(incident: Incident, status: str) -> Document:
    _, kind, *_ = incident.key
    part: Document = {
        "id": incident.id,
        "score": incident.score,
        "title": title_of(incident),
        "status": status,
        "grouped_by": kind,
        "start": iso_ms(incident.start_ms),
        "end": iso_ms(incident.last_ms),
        "session": None
        if incident.session is None
        else {"id": incident.session, "login": incident.login},
        "users": sorted(incident.users),
        "root": incident.nodes.get(incident.root or "", None),
        "alerts": [
            {
                "rule": {"id": entry.id, "name": entry.title},
                "level": entry.level,
                "count": entry.count,
                "first": iso_ms(entry.first_ms),
                "last": iso_ms(entry.last_ms),
            }
            for entry in ranked_rules(incident)
        ],
        "alerts_total": incident.alerts,
        "tags": dict(incident.tags.most_common()),
        "tree": [
            {"id": node, **process, "alerts": sorted(incident.alerted.get(node, ()))}
            for node, process in incident.nodes.items()
        ],
    }
    return part


class JsonIncidentWriter:
    """One JSON line per incident update it is given."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def __call__(self, incident: Incident, change: str) -> None:
        self.stream.write(dumps(incident_document(incident, change)))
        self.stream.write("\n")


def draw_tree(incident: Incident) -> list[str]:
    """The incident's processes as a tree, each alerting process with its rules."""
    children: dict[str | None, list[str]] = {}
    for node, process in incident.nodes.items():
        parent = process.get("parent")
        children.setdefault(parent if parent in incident.nodes else None, []).append(node)
    titles = {entry.id: entry.title for entry in incident.rules.values()}
    lines: list[str] = []

    def walk(node: str, depth: int) -> None:
        process = incident.nodes[node]
        text = [f"pid {process.get('pid')}", process.get("executable", "?")]
        if process.get("user"):
            text.append(f"({process['user']})")
        if process.get("command_line"):
            text.append(visible(process["command_line"])[:120])
        branch = "   " * (depth - 1) + "└─ " if depth else ""
        rules = sorted(titles.get(r, r) for r in incident.alerted.get(node, ()))
        marker = f"  ◀ {'; '.join(rules)}" if rules else ""
        lines.append(f"    {branch}{' '.join(text)}{marker}")
        for child in children.get(node, []):
            walk(child, depth + 1)

    for top in children.get(None, []):
        walk(top, 0)
    return lines


UNNAMED_HOST = "an unnamed host (no node=, no --host)"


def hosts_of(incident: Incident) -> str:
    """Its host; for an incident of correlations across hosts, the hosts of its events; for
    events that named no host (lines without `node=`, no `--host`), UNNAMED_HOST."""
    if incident.host:
        return incident.host
    hosts = sorted({host for host, _, _ in incident.members if host})
    return ", ".join(hosts) if hosts else UNNAMED_HOST


def incident_block(incident: Incident) -> list[str]:
    span = f"{iso_ms(incident.start_ms)[:19]} – {iso_ms(incident.last_ms)[11:19]}"
    head = f"{incident.level.upper()} incident (score {incident.score:g}) on {hosts_of(incident)}"
    lines = [f"{head}, {span}", f"  {title_of(incident)}", f"  id {incident.id}"]
    if incident.users:
        lines.append(f"  users: {', '.join(sorted(incident.users))}")
    techniques = merged_threat(incident.rules.values())
    names = techniques.get("tactic", {}).get("name", [])
    ids = [*techniques.get("technique", {}).get("id", [])]
    ids += techniques.get("technique", {}).get("subtechnique", {}).get("id", [])
    if ids:
        lines.append(f"  ATT&CK: {', '.join(ids)} [{', '.join(names)}]")
    lines.append("  alerts:")
    for entry in ranked_rules(incident):
        lines.append(f"    {entry.level.upper():<8} {entry.count:>4}×  {entry.title}")
    if incident.tags:
        tagged = ", ".join(f"{title} ×{n}" for title, n in incident.tags.most_common(3))
        lines.append(f"  tags: {tagged}")
    tree = draw_tree(incident)
    if tree:
        lines.append("  process tree:")
        lines.extend(tree)
    return lines


class TextIncidentView:
    """For people: every closed incident (its final state), highest first, printed by
    `close()`."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.incidents: dict[str, Incident] = {}

    def __call__(self, incident: Incident, change: str) -> None:
        if change == "closed":
            self.incidents[incident.id] = incident

    def close(self, footer: str = "") -> None:
        ordered = sorted(
            self.incidents.values(), key=lambda i: (-rank(i.level), -i.score, i.start_ms, i.id)
        )
        for incident in ordered:
            self.stream.write("\n".join(incident_block(incident)) + "\n\n")
        if not ordered:
            self.stream.write("no incidents\n")
        if footer:
            self.stream.write(footer + "\n")


class TextIncidentLines:
    """For people, live: one line per incident update (stream --format text)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def __call__(self, incident: Incident, change: str) -> None:
        self.stream.write(
            f"{iso_ms(incident.last_ms)} {incident.host or '-'} incident {change}: "
            f"{incident.level.upper()} (score {incident.score:g}) {title_of(incident)} "
            f"[{incident.alerts} alerts, id {incident.id}]\n"
        )


IncidentSink = Callable[[Incident, str], object]


class StreamIncidents:
    """Where `detect stream` sends incident updates: the `--incidents` file (a JSON line for
    each open, rise, reopening and close, written through at once) and, for `--format text`,
    a line each on standard output."""

    def __init__(self, path: Path | None, text: TextIO | None) -> None:
        self._file = open(path, "a", encoding="utf-8", buffering=1) if path else None  # noqa: SIM115
        self._json = JsonIncidentWriter(self._file) if self._file else None
        self._text = TextIncidentLines(text) if text is not None else None

    def __call__(self, incident: Incident, change: str) -> None:
        if self._json is not None:
            self._json(incident, change)
        if self._text is not None:
            self._text(incident, change)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
