"""The alert document at the edge: every alert of the real captures (shipped and, where
present, SigmaHQ's rules), written as `detect scan` writes it, reads back as an AlertDocument;
a document of the wrong shape is refused with its file:line and the field."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from detect.core.alert import Alert
from detect.outputs.alerts import JsonAlertWriter
from detect.outputs.document import AlertFileError, read_alerts
from detect.pipeline.factory import scan_files
from detect.sigma.load import load_detections

ROOT = Path(__file__).resolve().parents[2]
SIGMA = ROOT.parent / "shared" / "sigma" / "rules" / "linux"
CAPTURES = sorted(ROOT.glob("tests/**/captures/*.log"))


def test_every_alert_of_the_captures_reads_back(tmp_path: Path) -> None:
    rules = load_detections([SIGMA] if SIGMA.is_dir() else [])
    path = tmp_path / "alerts.jsonl"
    alerts: list[Alert] = []
    with path.open("w", encoding="utf-8") as out:
        write = JsonAlertWriter(out)
        for capture in CAPTURES:
            scan_files([str(capture)], rules, lambda a: (alerts.append(a), write(a)))
    documents = read_alerts(path)
    assert len(documents) == len(alerts) > 500
    assert {d.detect.level for d in documents} >= {"informational", "medium", "high"}
    assert any(d.correlation is not None for d in documents)
    for alert, document in zip(alerts, documents, strict=True):
        assert document.rule.name == alert.rule.title and document.timestamp == alert.timestamp


def test_a_wrong_document_is_refused_with_where_and_which_field(tmp_path: Path) -> None:
    rules = load_detections()
    path = tmp_path / "alerts.jsonl"
    with path.open("w", encoding="utf-8") as out:
        scan_files([str(CAPTURES[0])], rules, JsonAlertWriter(out))
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines
    broken = orjson.loads(lines[0])
    broken["detect"]["level"] = "severe"
    path.write_text("\n".join([*lines, orjson.dumps(broken).decode()]) + "\n", encoding="utf-8")
    with pytest.raises(AlertFileError) as raised:
        read_alerts(path)
    assert raised.value.location.line == len(lines) + 1
    assert raised.value.reason.startswith("detect.level:")
