"""The alert document at the edge (pydantic): what `detect scan` and `detect stream` write, read
back and checked field by field, for tools that consume alert files (and the tests).

Inside the pipeline an alert is a plain object (detect.core.alert.Alert); this model states the
shape of its JSON form: the ECS-aligned top level, and `detect.*` for what ECS has no field for.
Unknown keys are kept (a consumer of a newer file loses nothing), wrong types are refused with
the path of the field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from detect.core.errors import DetectError, Location

Level = Literal["informational", "low", "medium", "high", "critical"]


class _Part(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class Host(_Part):
    name: str


class EventPart(_Part):
    kind: Literal["alert"]
    module: Literal["auditd"]
    severity: int = Field(ge=0, le=100)


class RulePart(_Part):
    id: str | None
    name: str
    description: str
    reference: list[str]


class Technique(_Part):
    id: list[str]
    name: list[str]
    reference: list[str]


class Threat(_Part):
    framework: str
    technique: Technique | None = None
    tactic: Technique | None = None


class DetectPart(_Part):
    level: Level
    rule_source: str
    events: list[dict[str, Any]]
    events_total: int | None = None
    ancestry: list[dict[str, Any]] | None = None


class AlertDocument(_Part):
    timestamp: str = Field(alias="@timestamp", pattern=r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
    host: Host | None = None
    event: EventPart
    rule: RulePart
    tags: list[str]
    threat: Threat | None = None
    detect: DetectPart
    correlation: dict[str, Any] | None = None


class AlertFileError(DetectError):
    """A line of an alert file that is not an alert document, with where and why."""

    def __init__(self, location: Location, reason: str) -> None:
        super().__init__(f"{location}: {reason}")
        self.location = location
        self.reason = reason


NOWHERE = Location()  # a line given without its file


def parse_alert(line: str, location: Location = NOWHERE) -> AlertDocument:
    try:
        return AlertDocument.model_validate(orjson.loads(line))
    except orjson.JSONDecodeError as error:
        raise AlertFileError(location, f"not JSON: {error}") from None
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise AlertFileError(location, f"{where}: {first['msg']}") from None


def read_alerts(path: Path) -> list[AlertDocument]:
    """Every alert of a JSON-lines alert file; the first bad line raises with its line."""
    with path.open(encoding="utf-8", errors="surrogateescape") as lines:
        return [
            parse_alert(line, Location(str(path), number))
            for number, line in enumerate(lines, start=1)
            if line.strip()
        ]
