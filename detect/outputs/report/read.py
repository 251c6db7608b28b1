"""The inputs of `detect report`, read back: the alert and incident JSON lines a scan or a stream
wrote, and the run summary (`--summary-json`). A bad line is refused with its `file:line`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from detect.core.errors import DetectError, Location
from detect.outputs.document import AlertFileError, parse_alert

Document = dict[str, Any]
INCIDENT_DATASET = "detect.incident"
INCIDENT_KEYS = ("id", "score", "title", "start", "end", "alerts", "tree")


class ReportInputError(DetectError):
    """A line or file the report cannot use, with where it came from and why."""

    def __init__(self, location: Location, reason: str) -> None:
        super().__init__(f"{location}: {reason}")
        self.location = location
        self.reason = reason


def _lines(path: Path) -> list[tuple[Location, str]]:
    try:
        with path.open(encoding="utf-8", errors="surrogateescape") as lines:
            return [
                (Location(str(path), number), line)
                for number, line in enumerate(lines, start=1)
                if line.strip()
            ]
    except OSError as error:
        raise ReportInputError(Location(str(path)), error.strerror or str(error)) from None


def read_alert_documents(path: Path) -> list[Document]:
    """Every alert of an alert file (JSON lines), checked by `AlertDocument`."""
    out = []
    for location, line in _lines(path):
        try:
            parse_alert(line, location)
        except AlertFileError as error:
            raise ReportInputError(error.location, f"not an alert: {error.reason}") from None
        out.append(orjson.loads(line))
    return out


def parse_incident(line: str, location: Location) -> Document:
    try:
        document = orjson.loads(line)
    except orjson.JSONDecodeError as error:
        raise ReportInputError(location, f"not JSON: {error}") from None
    dataset = document.get("event", {}).get("dataset") if isinstance(document, dict) else None
    if dataset != INCIDENT_DATASET:
        raise ReportInputError(location, f"not an incident (event.dataset is {dataset!r})")
    incident = document.get("detect", {}).get("incident")
    missing = [
        key for key in INCIDENT_KEYS if not isinstance(incident, dict) or key not in incident
    ]
    if missing:
        raise ReportInputError(location, f"incident without detect.incident.{missing[0]}")
    return dict(document)


def read_incident_documents(path: Path) -> list[Document]:
    """The incidents of an incident file, each in its last state: a stream writes a line when
    an incident opens, rises, reopens and closes; the last line of an id is what it became."""
    last: dict[str, Document] = {}
    for location, line in _lines(path):
        document = parse_incident(line, location)
        identifier = document["detect"]["incident"]["id"]
        last.pop(identifier, None)
        last[identifier] = document
    return list(last.values())


def read_summary(path: Path) -> Document:
    """A run summary as `detect scan --summary-json` wrote it."""
    [(location, line), *rest] = _lines(path) or [(Location(str(path)), "")]
    if rest or not line:
        raise ReportInputError(location, "a summary file holds one JSON object on one line")
    try:
        summary = orjson.loads(line)
    except orjson.JSONDecodeError as error:
        raise ReportInputError(location, f"not JSON: {error}") from None
    if not isinstance(summary, dict) or "records" not in summary:
        raise ReportInputError(location, "not a run summary (no `records`)")
    return dict(summary)
