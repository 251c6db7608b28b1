"""ATT&CK Navigator layers, checked field by field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from detect.attack.layer import build_layer, write_layer

DETECTIONS = {
    "T1059.004": ["Shell spawned by web server", "Reverse shell"],
    "t1078": ["Login as service account"],
    "T1562.012": ["Audit rules deleted"],  # revoked: counted under T1685.004
    "T1685.004": ["auditd stopped", "Audit rules deleted"],
}


def test_layer_header() -> None:
    layer = build_layer(DETECTIONS, name="Coverage", description="enabled detections")
    assert layer["name"] == "Coverage"
    assert layer["description"] == "enabled detections"
    assert layer["versions"] == {"attack": "19", "navigator": "5.3.2", "layer": "4.5"}
    assert layer["domain"] == "enterprise-attack"
    assert layer["layout"]["expandedSubtechniques"] == "annotated"
    assert layer["gradient"] == {"colors": ["#dbeafe", "#1d4ed8"], "minValue": 0, "maxValue": 2}
    assert layer["metadata"] == [{"name": "ATT&CK", "value": "19.1"}]
    assert "filters" not in layer


def test_layer_techniques() -> None:
    techniques = build_layer(DETECTIONS, name="Coverage")["techniques"]
    assert [(t["techniqueID"], t["tactic"]) for t in techniques] == [
        ("T1059.004", "execution"),
        ("T1078", "initial-access"),
        ("T1078", "persistence"),
        ("T1078", "privilege-escalation"),
        ("T1078", "stealth"),
        ("T1685.004", "defense-impairment"),
    ]
    shell = techniques[0]
    assert shell == {
        "techniqueID": "T1059.004",
        "tactic": "execution",
        "score": 2,
        "comment": "Reverse shell; Shell spawned by web server",
        "enabled": True,
    }
    audit = techniques[-1]
    assert (audit["score"], audit["comment"]) == (2, "Audit rules deleted; auditd stopped")
    assert {t["score"] for t in techniques[1:5]} == {1}


def test_layer_scores_and_platforms() -> None:
    layer = build_layer(
        {"T1059.004": ["Shell"]}, name="Alerts", scores={"t1059.004": 40}, platforms=["Linux"]
    )
    assert layer["techniques"][0]["score"] == 40
    assert layer["gradient"]["maxValue"] == 40
    assert layer["filters"] == {"platforms": ["Linux"]}


def test_layer_rejects_unknown_techniques() -> None:
    with pytest.raises(ValueError, match="unknown ATT&CK techniques: T9999"):
        build_layer({"T9999": ["x"]}, name="bad")


def test_empty_layer() -> None:
    layer = build_layer({}, name="Nothing")
    assert layer["techniques"] == []
    assert layer["gradient"]["maxValue"] == 1


def test_write_layer(tmp_path: Path) -> None:
    layer = build_layer(DETECTIONS, name="Coverage")
    path = tmp_path / "layer.json"
    write_layer(layer, path)
    text = path.read_text(encoding="utf-8")
    assert text.endswith("}\n")
    assert json.loads(text) == layer
