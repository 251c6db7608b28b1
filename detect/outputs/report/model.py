"""What the HTML report shows, as plain data built from documents: the alert and incident
documents a scan or a stream writes (detect.core.alert, detect.outputs.incidents), the run
summary, and the rules that were loaded. No HTML here (render.py), no I/O (read.py)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from detect.outputs.report.matrix import build_matrix

Document = dict[str, Any]
LEVELS = ("informational", "low", "medium", "high", "critical")
RANK = {level: index for index, level in enumerate(LEVELS)}
MAX_ALERTS = 5000  # alert rows embedded; more are counted in the header
MAX_RAW_EVENTS = 5  # events whose raw records an alert row carries
LABEL_ID = re.compile(r"\(([^()]*)\)$")  # "title (id)": how summaries name a rule


class RuleRef(NamedTuple):
    """A loaded rule, as the report names it."""

    id: str
    title: str
    level: str


@dataclass(frozen=True)
class ReportInput:
    alerts: Sequence[Document]
    incidents: Sequence[Document]
    summary: Document | None = None
    rules: Sequence[RuleRef] | None = None  # None: which rules never fired is unknown


def _host(document: Document) -> str:
    host = document.get("host")
    return str(host.get("name")) if isinstance(host, dict) and host.get("name") else "-"


def _event_key(event: Document) -> tuple[Any, Any, Any]:
    return (event.get("host"), event.get("serial"), event.get("@timestamp"))


def _threat_pairs(threat: Document | None, path: tuple[str, ...]) -> list[tuple[str, str]]:
    node: Any = threat or {}
    for part in path:
        node = node.get(part, {}) if isinstance(node, dict) else {}
    return list(zip(node.get("id", []), node.get("name", []), strict=False))


def techniques_of(document: Document) -> list[tuple[str, str]]:
    """(id, name) of the document's techniques and sub-techniques."""
    threat = document.get("threat")
    pairs = _threat_pairs(threat, ("technique",))
    return pairs + _threat_pairs(threat, ("technique", "subtechnique"))


def tactics_of(document: Document) -> list[tuple[str, str]]:
    return _threat_pairs(document.get("threat"), ("tactic",))


def _process(event: Document) -> Document:
    process = event.get("process")
    return process if isinstance(process, dict) else {}


def _raw_records(events: Sequence[Document]) -> list[str]:
    return [
        str(record.get("raw", ""))
        for event in events[:MAX_RAW_EVENTS]
        for record in event.get("records", [])
    ]


def alert_row(number: int, document: Document, incident: str | None) -> Document:
    detected = document.get("detect", {})
    events = detected.get("events", [])
    process = _process(events[0]) if events else {}
    rule = document.get("rule", {})
    return {
        "key": str(number),
        "time": document.get("@timestamp", ""),
        "host": _host(document),
        "level": detected.get("level", "medium"),
        "rule_id": rule.get("id") or "",
        "rule": rule.get("name", ""),
        "count": detected.get("count", 1),
        "first": detected.get("first"),
        "last": detected.get("last"),
        "techniques": techniques_of(document),
        "tactics": [name for _, name in tactics_of(document)],
        "executable": process.get("executable", ""),
        "command_line": process.get("command_line", ""),
        "events": detected.get("events_total", len(events)),
        "raw": _raw_records(events),
        "incident": incident,
    }


def _tree(incident: Document, levels: dict[str, str]) -> list[Document]:
    nodes = []
    for process in incident.get("tree", []):
        alerted = process.get("alerts", [])
        level = max((levels.get(rule, "low") for rule in alerted), key=RANK.__getitem__, default="")
        nodes.append(
            {
                "id": process.get("id"),
                "parent": process.get("parent"),
                "pid": process.get("pid"),
                "executable": process.get("executable") or "?",
                "command_line": process.get("command_line") or "",
                "user": process.get("user") or "",
                "rules": alerted,
                "level": level,
            }
        )
    return nodes


def _nested(nodes: list[Document]) -> list[Document]:
    """The tree's nodes as nested dicts (`children`) for the text tree readable without JS."""
    known = {node["id"] for node in nodes}
    children: dict[Any, list[Document]] = {}
    for node in nodes:
        parent = node["parent"] if node["parent"] in known else None
        children.setdefault(parent, []).append(node)

    def nest(node: Document, depth: int) -> Document:
        below = children.get(node["id"], []) if depth < 200 else []
        return {**node, "children": [nest(child, depth + 1) for child in below]}

    return [nest(node, 0) for node in children.get(None, [])]


def incident_row(document: Document, alert_keys: list[str]) -> Document:
    incident = document["detect"]["incident"]
    rules = [
        {
            "id": entry["rule"].get("id") or "",
            "name": entry["rule"].get("name", ""),
            "level": entry.get("level", "medium"),
            "count": entry.get("count", 1),
            "first": entry.get("first", ""),
            "last": entry.get("last", ""),
        }
        for entry in incident.get("alerts", [])
    ]
    levels = {rule["id"]: rule["level"] for rule in rules}
    tree = _tree(incident, levels)
    session = incident.get("session") or {}
    return {
        "id": str(incident["id"]),
        "level": document.get("detect", {}).get("level", "medium"),
        "score": incident.get("score", 0),
        "title": incident.get("title", ""),
        "host": _host(document),
        "users": incident.get("users", []),
        "session": session.get("id"),
        "login": session.get("login"),
        "grouped_by": incident.get("grouped_by", ""),
        "start": incident.get("start", ""),
        "end": incident.get("end", ""),
        "techniques": techniques_of(document),
        "tactics": [name for _, name in tactics_of(document)],
        "rules": rules,
        "alerts_total": incident.get("alerts_total", sum(rule["count"] for rule in rules)),
        "tags": incident.get("tags", {}),
        "tree": tree,
        "nested": _nested(tree),
        "alerts": alert_keys,
        "events_total": document.get("detect", {}).get("events_total", 0),
    }


def _incident_of_events(incidents: Iterable[Document]) -> dict[tuple[Any, Any, Any], str]:
    owner: dict[tuple[Any, Any, Any], str] = {}
    for document in incidents:
        identifier = str(document["detect"]["incident"]["id"])
        for event in document.get("detect", {}).get("events", []):
            owner.setdefault(_event_key(event), identifier)
    return owner


def _incident_of(document: Document, owner: dict[tuple[Any, Any, Any], str]) -> str | None:
    for event in document.get("detect", {}).get("events", []):
        found = owner.get(_event_key(event))
        if found is not None:
            return found
    return None


def ranked(incidents: Iterable[Document]) -> list[Document]:
    return sorted(incidents, key=lambda i: (-RANK.get(i["level"], 2), -i["score"], i["start"]))


def _by_level(counts: Counter[str]) -> list[tuple[str, int]]:
    return [(level, counts[level]) for level in reversed(LEVELS) if counts[level]]


def header(data: ReportInput, alerts: list[Document], incidents: list[Document]) -> Document:
    times = [row["time"] for row in alerts] + [i["start"] for i in incidents]
    times += [i["end"] for i in incidents]
    summary = data.summary or {}
    skipped = summary.get("rules_skipped", [])
    return {
        "hosts": sorted({row["host"] for row in [*alerts, *incidents]}),
        "start": min(times, default=""),
        "end": max(times, default=""),
        "summary": data.summary is not None,
        "files": summary.get("files"),
        "lines": summary.get("lines"),
        "records": summary.get("records"),
        "events": summary.get("events"),
        "unparsed": summary.get("unparsed", 0),
        "unparsed_examples": summary.get("unparsed_examples", []),
        "lost": summary.get("lost", 0),
        "lost_by_node": summary.get("lost_by_node", {}),
        "file_errors": summary.get("file_errors", []),
        "rules_loaded": summary.get("rules_loaded", len(data.rules or ())),
        "rules_skipped": skipped,
        "alerts": len(data.alerts),
        "alerts_shown": len(alerts),
        "incidents": len(incidents),
        "incidents_by_level": _by_level(Counter(i["level"] for i in incidents)),
    }


def rule_statistics(data: ReportInput, alerts: Sequence[Document]) -> Document:
    """Per rule: hits (the summary's count; without a summary, what the alerts stand for),
    alerts written, repeats folded, level; and the loaded rules that never fired."""
    rows: dict[str, Document] = {}

    def row(rule_id: str, title: str, level: str) -> Document:
        return rows.setdefault(
            rule_id or title,
            {"id": rule_id, "title": title, "level": level, "hits": 0, "alerts": 0, "folded": 0},
        )

    levels = {rule.id: rule.level for rule in data.rules or ()}
    for document in alerts:
        detected, rule = document.get("detect", {}), document.get("rule", {})
        entry = row(rule.get("id") or "", rule.get("name", ""), detected.get("level", "medium"))
        if "count" in detected:
            entry["folded"] += detected["count"] - 1
        else:
            entry["alerts"] += 1
    by_rule = (data.summary or {}).get("alerts_by_rule")
    if by_rule is None:
        for entry in rows.values():
            entry["hits"] = entry["alerts"] + entry["folded"]
    else:
        for label, hits in by_rule.items():
            match = LABEL_ID.search(label)
            rule_id = match.group(1) if match else ""
            title = label[: match.start()].strip() if match else label
            row(rule_id, title, levels.get(rule_id, "informational"))["hits"] = hits
    fired = set(rows)
    never = [rule for rule in data.rules or () if (rule.id or rule.title) not in fired]
    ordered = sorted(rows.values(), key=lambda r: (-r["hits"], -RANK.get(r["level"], 0)))
    return {
        "rows": ordered,
        "never": [
            rule._asdict() for rule in sorted(never, key=lambda r: (-RANK.get(r.level, 0), r.title))
        ],
        "known": data.rules is not None,
        "hits_from_summary": by_rule is not None,
    }


def timeline(alerts: Sequence[Document], incidents: Sequence[Document]) -> Document:
    return {
        "incidents": [
            {"id": i["id"], "level": i["level"], "start": i["start"], "end": i["end"],
             "title": i["title"], "host": i["host"]}
            for i in incidents
        ],
        "alerts": [
            {"key": a["key"], "level": a["level"], "time": a["time"], "rule": a["rule"],
             "host": a["host"], "count": a["count"]}
            for a in alerts
        ],
    }  # fmt: skip


def build_report(data: ReportInput) -> Document:
    """Everything the page shows, incidents highest first."""
    owner = _incident_of_events(data.incidents)
    alerts = [
        alert_row(number, document, _incident_of(document, owner))
        for number, document in enumerate(data.alerts[:MAX_ALERTS], start=1)
    ]
    keys: dict[str, list[str]] = {}
    for row in alerts:
        if row["incident"] is not None:
            keys.setdefault(row["incident"], []).append(row["key"])
    incidents = ranked(
        incident_row(document, keys.get(str(document["detect"]["incident"]["id"]), []))
        for document in data.incidents
    )
    tactics = sorted({t for row in [*alerts, *incidents] for t in row["tactics"]})
    return {
        "header": header(data, alerts, incidents),
        "incidents": incidents,
        "alerts": alerts,
        "rules": rule_statistics(data, data.alerts),
        "matrix": build_matrix(data.alerts),
        "timeline": timeline(alerts, incidents),
        "filters": {
            "hosts": sorted({row["host"] for row in [*alerts, *incidents]}),
            "levels": [level for level in reversed(LEVELS) if level != "informational"],
            "tactics": tactics,
        },
    }
