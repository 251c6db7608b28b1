"""Collection-wide: the ATT&CK tags of every shipped detection are current (v19) and placed.

Each rule document under `detections/` is read straight from its YAML (so a rule the engine
cannot compile yet is still checked here; compiling is tests/detections' job). Every problem
`rule_tag_problems` reports — errors and warnings alike — and every rule filed under a folder
other than its first tactic's short name is collected; the test fails once, listing them all.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from detect.attack.catalog import load_catalog
from detect.attack.layer import NAVIGATOR_VERSION
from detect.attack.lint import rule_tag_problems
from detect.attack.tags import resolve_tags
from detect.cli.attack import attack
from detect.core.resources import ROOT

DETECTIONS = ROOT / "detections"
SUFFIXES = (".yml", ".yaml")


Rules = list[tuple[Path, dict[str, Any]]]


def rule_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.suffix in SUFFIXES and p.is_file())


def rule_documents(path: Path) -> Iterator[dict[str, Any]]:
    """The rule documents of a file (correlations and filters have no `detection`)."""
    for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
        if isinstance(document, dict) and "detection" in document:
            yield document


def name_of(path: Path, document: dict[str, Any], folder: Path) -> str:
    return f"{path.relative_to(folder.parent)}: {document.get('title', '<no title>')}"


def tags_of(document: dict[str, Any]) -> list[str]:
    tags = document.get("tags") or []
    return [str(tag) for tag in tags] if isinstance(tags, list) else [str(tags)]


def collect(folder: Path) -> tuple[Rules, list[str]]:
    """Every rule document with its file, and the files that are not YAML."""
    rules: Rules = []
    unreadable = []
    for path in rule_files(folder):
        try:
            rules += [(path, document) for document in rule_documents(path)]
        except yaml.YAMLError as exc:
            problem = str(exc).replace("\n", " ")
            unreadable.append(f"{path.relative_to(folder.parent)}: not YAML: {problem}")
    return rules, unreadable


def tag_offenders(rules: Rules, folder: Path) -> list[str]:
    return [
        f"{name_of(path, document, folder)}: {problem}"
        for path, document in rules
        for problem in rule_tag_problems(tags_of(document))
    ]


def folder_offenders(rules: Rules, folder: Path) -> list[str]:
    """Rules not filed under `<folder>/<short name of the first tactic tag>/`."""
    offenders = []
    for path, document in rules:
        parts = path.relative_to(folder).parts
        filed = parts[0] if len(parts) > 1 else "<top>"
        tactics = resolve_tags(tags_of(document)).tactics
        first = tactics[0].tactic.short_name if tactics else "<no tactic tag>"
        if filed != first:
            where = name_of(path, document, folder)
            offenders.append(f"{where}: first tactic tag is {first}, filed under {filed}")
    return offenders


def shipped() -> Rules:
    if not rule_files(DETECTIONS):
        pytest.skip(f"no shipped detections yet under {DETECTIONS}")
    rules, unreadable = collect(DETECTIONS)
    assert unreadable == []
    assert rules, f"{DETECTIONS} has rule files but no rule document (with `detection:`)"
    return rules


def test_shipped_detection_tags_are_current_attack() -> None:
    assert tag_offenders(shipped(), DETECTIONS) == []


def test_shipped_detections_are_filed_under_their_first_tactic() -> None:
    assert folder_offenders(shipped(), DETECTIONS) == []


RULE = "title: {title}\ndetection: {{sel: {{a: b}}, condition: sel}}\ntags: {tags}\n"


def test_the_checks_list_every_offender(tmp_path: Path) -> None:
    """The collection-wide checks on a folder of known offenders report each of them."""
    folder = tmp_path / "detections"
    files = {
        "execution/good.yml": ("Good", "[attack.execution, attack.t1059.004]"),
        "execution/old.yml": ("Old", "[attack.defense-evasion, attack.t1562.012]"),
        "persistence/wrong.yml": ("Wrong", "[attack.persistence, attack.t1059.004]"),
        "stray.yml": ("Stray", "[attack.execution, attack.t1059.004]"),
    }
    for name, (title, tags) in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(RULE.format(title=title, tags=tags), encoding="utf-8")
    (folder / "execution" / "broken.yml").write_text("title: [x\n", encoding="utf-8")
    rules, unreadable = collect(folder)
    assert [document["title"] for _, document in rules] == ["Good", "Old", "Wrong", "Stray"]
    assert [line.split(":")[0] for line in unreadable] == ["detections/execution/broken.yml"]
    tagged = [line.split(": ")[:4] for line in tag_offenders(rules, folder)]
    assert tagged == [
        ["detections/execution/old.yml", "Old", "error", "attack.t1562.012"],
        ["detections/execution/old.yml", "Old", "warning", "attack.defense-evasion"],
        ["detections/execution/old.yml", "Old", "error", "attack.t1562.012"],
        ["detections/persistence/wrong.yml", "Wrong", "error", "attack.t1059.004"],
    ]
    assert folder_offenders(rules, folder) == [
        "detections/execution/old.yml: Old: first tactic tag is stealth, filed under execution",
        "detections/stray.yml: Stray: first tactic tag is execution, filed under <top>",
    ]


def test_layer_of_the_shipped_detections(tmp_path: Path) -> None:
    """`detect attack coverage --layer` on the shipped detections: a Navigator layer whose every
    technique entry names a v19 technique under that tactic, scored by its detections."""
    shipped()
    path = tmp_path / "layer.json"
    result = CliRunner().invoke(attack, ["coverage", "--layer", str(path)])
    assert result.exit_code == 0, result.output
    layer = json.loads(path.read_text(encoding="utf-8"))
    assert layer["versions"] == {"attack": "19", "navigator": NAVIGATOR_VERSION, "layer": "4.5"}
    assert layer["domain"] == "enterprise-attack"
    assert layer["techniques"], "the shipped detections name no technique"
    catalog = load_catalog()
    short_names = {tactic.id: tactic.short_name for tactic in catalog.tactics}
    for entry in layer["techniques"]:
        technique = catalog.techniques[entry["techniqueID"]]
        assert technique.is_active
        assert entry["tactic"] in [short_names[t] for t in technique.tactics]
        names = entry["comment"].split("; ")
        assert entry["score"] == len(names) >= 1
        assert entry["enabled"] is True
