"""The ECS top level of real alerts (issue 17): every alert of the shipped examples and of the
test captures, scanned as `detect scan` scans them (with triage: folded repeats; without: every
hit), reads back as an AlertDocument, and every field outside `detect.*` and `correlation.*` is
an ECS field of mappings/ecs_fields.yaml with a value of its ECS type. An alert standing for
several events keeps only what all of them agree on."""

from __future__ import annotations

from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import orjson
import pytest

from detect.core import ecs
from detect.outputs.document import (
    AlertDocument,
    ecs_fields,
    ecs_problems,
    leaves,
    read_alerts,
)
from detect.outputs.events import dumps
from detect.outputs.incidents import incident_document
from detect.pipeline.factory import PipelineSettings, load_rules, scan_files
from detect.proctree.fields import entity_id
from detect.proctree.process import Process
from detect.triage.settings import TriageSettings

ROOT = Path(__file__).resolve().parents[2]
SIGMA = ROOT.parent / "shared" / "sigma" / "rules" / "linux"
LOGS = sorted(ROOT.glob("examples/*.log")) + sorted(ROOT.glob("tests/**/captures/*.log"))


def scanned(triage: TriageSettings | None, incidents: list[dict[str, Any]]) -> list[str]:
    settings = PipelineSettings(
        rule_paths=(str(SIGMA),) if SIGMA.is_dir() else (), triage=triage, host="web1"
    )
    rules = load_rules(settings)
    lines: list[str] = []
    for log in LOGS:
        scan_files(
            [str(log)],
            rules,
            lambda alert: lines.append(dumps(alert.document())),
            settings,
            lambda incident, change: incidents.append(incident_document(incident, change)),
        )
    return lines


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    assert ROOT / "tests" / "triage" / "captures" / "host_day.log" in LOGS
    incidents: list[dict[str, Any]] = []
    lines = scanned(TriageSettings(), incidents) + scanned(None, incidents)
    path = tmp_path_factory.mktemp("ecs") / "alerts.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert len(read_alerts(path)) == len(lines)  # every line an AlertDocument
    assert incidents
    return [orjson.loads(line) for line in lines] + incidents


def test_every_field_outside_detect_is_an_ecs_field_of_its_type(
    documents: list[dict[str, Any]],
) -> None:
    problems = [
        f"{document['detect'].get('rule_source', 'incident')}: {problem}"
        for document in documents
        for problem in ecs_problems(document)
    ]
    assert not problems, "\n".join(sorted(set(problems))[:40])
    used = {path for document in documents for path, _ in leaves(document)}
    for needed in (
        "ecs.version",
        "agent.version",
        "host.name",
        "event.id",
        "event.category",
        "process.pid",
        "process.args",
        "process.parent.pid",
        "process.parent.executable",
        "process.working_directory",
        "user.id",
        "user.effective.id",
        "user.target.name",
        "file.path",
        "file.name",
        "file.directory",
        "destination.ip",
        "destination.port",
        "network.type",
    ):
        assert needed in used, f"no alert has {needed}"


def test_every_alert_is_an_alert_document_with_ecs_and_agent(
    documents: list[dict[str, Any]],
) -> None:
    alerts = [AlertDocument.model_validate(d) for d in documents if "rule" in d]
    assert len(alerts) > 100
    assert any(a.correlation is not None for a in alerts)
    assert any(a.detect.model_extra and "count" in a.detect.model_extra for a in alerts)
    for alert in alerts:
        assert alert.ecs is not None and alert.ecs.version == ecs.ECS_VERSION
        assert alert.agent is not None and alert.agent.name == "detect"
        assert alert.agent.version == metadata.version("detect")
        assert alert.host is not None  # the records' node=, else the settings' host
        assert alert.host.name == alert.detect.events[0].get("host", alert.host.name)
        assert alert.event.id is not None
    assert {alert.host.name for alert in alerts if alert.host} == {"web1", "testhost"}
    incidents = [d for d in documents if "rule" not in d]
    assert all(d["host"]["name"] and d["ecs"]["version"] for d in incidents)


def test_the_field_set_is_the_version_the_alerts_say() -> None:
    data = orjson.loads(orjson.dumps(_yaml(ROOT / "mappings" / "ecs_fields.yaml")))
    assert data["version"] == ecs.ECS_VERSION
    assert set(ecs_fields()) == set(data["fields"])


def _yaml(path: Path) -> Any:
    from detect.core.yamlio import parse_yaml

    return parse_yaml(path.read_text(encoding="utf-8"))


def event_value(event: dict[str, Any], path: str) -> Any:
    """A top-level field's value in one listed event (its exported form)."""
    if path == "process.args_count":
        args = event_value(event, "process.args")
        return None if args is None else len(args)
    value: Any = event
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


CHECKED = ("process.pid", "process.executable", "process.args_count", "user.id", "file.path")


def several(documents: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    return (d for d in documents if "rule" in d and len(d["detect"]["events"]) > 1)


def test_an_alert_of_several_events_keeps_only_what_they_all_agree_on(
    documents: list[dict[str, Any]],
) -> None:
    seen = 0
    for document in several(documents):
        listed = document["detect"]["events"]
        top = dict(leaves(document))
        if document["detect"].get("events_total", len(listed)) > len(listed):
            assert not {p.split(".")[0] for p in top} & {"process", "user", "file"}
            continue
        for path in CHECKED:
            values = [event_value(event, path) for event in listed]
            if path in top:
                seen += 1
                assert values == [top[path]] * len(listed), (path, document["rule"]["name"])
            elif None not in values:
                assert len(set(map(repr, values))) > 1, (path, document["rule"]["name"])
    assert seen


def test_a_non_ecs_field_or_a_wrong_type_is_reported() -> None:
    document: dict[str, Any] = {
        "@timestamp": "2026-01-01T00:00:00.000Z",
        "process": {"pid": "12", "args": "ls -l"},
        "user": {"audit": {"id": "1000"}},
        "destination": {"family": "inet", "port": 80},
        "detect": {"anything": {"goes": 1}},
        "correlation": {"group": {"x": 1}},
    }
    assert sorted(ecs_problems(document)) == [
        "destination.family: not an ECS field of the field set",
        "process.args: an array expected",
        "process.pid: '12' is not a long",
        "user.audit.id: not an ECS field of the field set",
    ]


def test_ecs_fields_of_a_connect_event() -> None:
    event = {
        "event": {"action": "connected-to", "category": ["network"], "type": ["connection"]},
        "process": {"pid": 7, "ppid": 1, "executable": "/usr/bin/nc", "parent": {"pid": 1}},
        "user": {"id": "0", "audit": {"id": "1000"}},
        "destination": {"address": "10.0.0.1", "ip": "10.0.0.1", "port": 443, "family": "inet"},
    }
    fields = ecs.alert_fields([event], [{"pid": 1, "executable": "/sbin/init"}, {"pid": 7}], None)
    assert fields["destination"] == {"address": "10.0.0.1", "ip": "10.0.0.1", "port": 443}
    assert fields["network"] == {"type": "ipv4"}
    assert fields["process"]["parent"] == {"pid": 1, "executable": "/sbin/init"}
    assert fields["user"] == {"id": "0"}
    accepted = {**event, "event": {"action": "accepted-connection-from"}}
    assert "source" in ecs.alert_fields([accepted], None, None)
    assert ecs.alert_fields([event, event], None, 3) == {}  # stands for more than it lists


def test_entity_ids_are_the_trees_processes(documents: list[dict[str, Any]]) -> None:
    """process.entity_id and process.parent.entity_id are those of the ancestry's last two
    processes when their pids are the events' own; one id per process, and a pid that two
    processes had gets two ids."""
    ids: dict[str, set[tuple[Any, ...]]] = {}
    seen = 0
    for document in documents:
        chain = document.get("detect", {}).get("ancestry") or []
        process = document.get("process", {})
        if chain and process.get("pid") == chain[-1]["pid"] and "rule" in document:
            seen += 1
            assert process["entity_id"] == chain[-1]["entity_id"]
            if len(chain) > 1 and process.get("parent", {}).get("pid") == chain[-2]["pid"]:
                assert process["parent"]["entity_id"] == chain[-2]["entity_id"]
        for node in chain:
            start = node.get("start") or node.get("first_seen")
            ids.setdefault(node["entity_id"], set()).add((node["pid"], start))
    assert seen
    assert all(len(same) == 1 for same in ids.values())


def test_a_reused_pid_is_another_entity() -> None:
    first, again = Process(("h", 42, 1_000, 7)), Process(("h", 42, 9_000, 80))
    assert entity_id(first) != entity_id(again)
    assert entity_id(first) == entity_id(Process(("h", 42, 1_000, 7)))
    assert entity_id(Process(("other", 42, 1_000, 7))) != entity_id(first)
