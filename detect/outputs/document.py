"""The alert document at the edge (pydantic): what `detect scan` and `detect stream` write, read
back and checked field by field, for tools that consume alert files (and the tests).

Inside the pipeline an alert is a plain object (detect.core.alert.Alert); this model states the
shape of its JSON form: the ECS top level (ECS 8.17: `ecs`, `host`, `agent`, `event`, `rule`,
`tags`, `threat`, and the events' `process`, `user`, `file`, `source`/`destination`/`server`,
`network`), and `detect.*` for what ECS has no field for. Unknown keys are kept (a consumer of a
newer file loses nothing), wrong types are refused with the path of the field; `ecs` and `agent`
are optional so that files written before they existed still read.

`ecs_problems` checks a document's top level against the ECS field set the documents rely on
(`mappings/ecs_fields.yaml`: name and ECS type of each field).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from detect.core.errors import DetectError, Location
from detect.core.resources import mapping_path
from detect.core.yamlio import parse_yaml

Level = Literal["informational", "low", "medium", "high", "critical"]


class _Part(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class Ecs(_Part):
    version: str = Field(pattern=r"^\d+\.\d+\.\d+$")


class Agent(_Part):
    name: str
    type: str
    version: str


class Host(_Part):
    name: str


class EventPart(_Part):
    kind: Literal["alert"]
    module: Literal["auditd"]
    severity: int = Field(ge=0, le=100)
    id: str | None = Field(default=None, pattern=r"^[0-9a-f]{32}$")
    action: str | None = None
    category: list[str] | None = None
    type: list[str] | None = None
    outcome: Literal["success", "failure", "unknown"] | None = None


class RulePart(_Part):
    id: str | None
    name: str
    description: str
    reference: list[str]


class ParentProcess(_Part):
    pid: int | None = Field(default=None, ge=0)
    executable: str | None = None
    command_line: str | None = None


class Process(_Part):
    pid: int | None = Field(default=None, ge=0)
    name: str | None = None
    executable: str | None = None
    command_line: str | None = None
    args: list[str] | None = None
    args_count: int | None = Field(default=None, ge=0)
    title: str | None = None
    working_directory: str | None = None
    parent: ParentProcess | None = None


class UserRef(_Part):
    id: str | None = None
    name: str | None = None


class User(UserRef):
    effective: UserRef | None = None
    target: UserRef | None = None
    group: UserRef | None = None


class File(_Part):
    path: str | None = None
    name: str | None = None
    directory: str | None = None
    inode: str | None = None
    uid: str | None = None
    gid: str | None = None
    device: str | None = None
    mode: str | None = Field(default=None, pattern=r"^[0-7]{3,4}$")
    type: Literal["file", "dir", "symlink"] | None = None


class Endpoint(_Part):
    """`source`, `destination`, `server`: a socket address (an IP or a unix socket's path)."""

    address: str | None = None
    ip: str | None = None
    port: int | None = Field(default=None, ge=0, le=65535)

    @field_validator("ip")
    @classmethod
    def _an_ip(cls, value: str | None) -> str | None:
        if value is not None:
            ipaddress.ip_address(value)  # ValueError: pydantic reports it with the path
        return value


class Network(_Part):
    type: Literal["ipv4", "ipv6"] | None = None


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
    ecs: Ecs | None = None
    host: Host | None = None
    agent: Agent | None = None
    event: EventPart
    rule: RulePart
    tags: list[str]
    threat: Threat | None = None
    process: Process | None = None
    user: User | None = None
    file: File | None = None
    source: Endpoint | None = None
    destination: Endpoint | None = None
    server: Endpoint | None = None
    network: Network | None = None
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


# --- the ECS field set ----------------------------------------------------------------------

# JSON type of the values of each ECS field type the documents use
ECS_TYPES: dict[str, tuple[type, ...]] = {
    "keyword": (str,),
    "wildcard": (str,),
    "ip": (str,),
    "date": (str,),
    "long": (int,),
}
OWN_PREFIXES = ("detect.", "correlation.")  # this program's fields, outside ECS


class EcsFieldSetError(DetectError):
    pass


@cache
def ecs_fields(path: Path | None = None) -> dict[str, tuple[str, bool]]:
    """`mappings/ecs_fields.yaml`: ECS field name -> (ECS type, whether an array), checked."""
    source = path or mapping_path("ecs_fields.yaml")
    data = parse_yaml(source.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or set(data) != {"version", "fields"}:
        raise EcsFieldSetError(f"{source}: expected the keys version and fields")
    out: dict[str, tuple[str, bool]] = {}
    for name, kind in data["fields"].items():
        base = str(kind).removesuffix("[]")
        if base not in ECS_TYPES:
            raise EcsFieldSetError(f"{source}: {name}: unknown ECS type {kind!r}")
        out[str(name)] = (base, str(kind).endswith("[]"))
    return out


def ecs_problems(document: Mapping[str, Any]) -> list[str]:
    """Each leaf of `document` outside `detect.*` and `correlation.*` that is not an ECS field
    of the field set, or whose value is not of its ECS type: `path: reason`."""
    fields = ecs_fields()
    problems = []
    for path, value in leaves(document):
        if path.startswith(OWN_PREFIXES) or value is None:  # null: absent, for ECS
            continue
        known = fields.get(path)
        if known is None:
            problems.append(f"{path}: not an ECS field of the field set")
            continue
        kind, array = known
        if isinstance(value, list) != array:
            problems.append(f"{path}: {'an array' if array else 'one value'} expected")
            continue
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, bool) or not isinstance(item, ECS_TYPES[kind]):
                problems.append(f"{path}: {item!r} is not a {kind}")
    return problems


def leaves(document: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted path, value) of every leaf; a list is a leaf (of values)."""
    for key, value in document.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            yield from leaves(value, f"{path}.")
        else:
            yield path, value
