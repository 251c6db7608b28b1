"""Alert writers (detect.core.alert): JSON lines, or a readable block per alert for people,
which draws the process ancestry as a small tree."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TextIO

from detect.auditd import export
from detect.auditd.interpret import id_name
from detect.core.alert import Alert
from detect.outputs.events import dumps


class JsonAlertWriter:
    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def __call__(self, alert: Alert) -> None:
        self.stream.write(dumps(alert.document()))
        self.stream.write("\n")


class TextAlertWriter:
    """For people: time, host, level, rule; who ran what; the techniques."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def __call__(self, alert: Alert) -> None:
        event = alert.events[0]
        rule = alert.rule
        host = event.get("host") or "-"
        head = f"{alert.timestamp} {host} #{event['serial']} {rule.level.upper()}"
        lines = [f"{head}  {rule.title}"]
        lines.extend(_details(event))
        lines.extend(draw_ancestry(alert.ancestry or []))
        lines.append(f"  techniques: {_techniques(rule.fields)}")
        lines.append(f"  rule: {rule.fields['rule']['id']} ({rule.source})")
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
    start = entry.get("start")
    when = start[11:23] if start else "seen " + entry.get("first_seen", "")[11:23]
    return " ".join(parts) + f"  [{when}]"


def _techniques(fields: Mapping[str, Any]) -> str:
    threat = fields.get("threat", {})
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
ALERT_WRITERS: dict[str, Callable[[TextIO], Callable[[Alert], object]]] = {
    "jsonl": JsonAlertWriter,
    "text": TextAlertWriter,
}
