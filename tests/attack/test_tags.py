"""Sigma tag resolution, tactic consistency and ECS threat fields."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from detect.attack.lint import rule_tag_problems
from detect.attack.tags import (
    ERROR,
    INFO,
    WARNING,
    TagProblem,
    resolve_tags,
    threat_fields,
)

SIGMA = Path(__file__).resolve().parents[3] / "shared" / "sigma"


def test_technique_tags() -> None:
    resolution = resolve_tags(["attack.t1059.004", "attack.T1059", "attack.t1059.004"])
    assert resolution.technique_ids == ("T1059.004", "T1059")
    assert resolution.problems == ()
    first = resolution.techniques[0]
    assert (first.tag, first.original, first.technique.name, first.replaced) == (
        "attack.t1059.004",
        "T1059.004",
        "Unix Shell",
        False,
    )


@pytest.mark.parametrize(
    ("tag", "tactic_id"),
    [
        ("attack.defense-evasion", "TA0005"),
        ("attack.defense_evasion", "TA0005"),
        ("attack.stealth", "TA0005"),
        ("attack.ta0005", "TA0005"),
        ("attack.TA0005", "TA0005"),
        ("attack.defense-impairment", "TA0112"),
        ("attack.defense_impairment", "TA0112"),
        ("attack.privilege-escalation", "TA0004"),
        ("attack.privilege_escalation", "TA0004"),
        ("attack.command-and-control", "TA0011"),
        ("attack.command_and_control", "TA0011"),
        ("attack.resource-development", "TA0042"),
        ("attack.initial_access", "TA0001"),
        ("attack.lateral-movement", "TA0008"),
        ("attack.credential_access", "TA0006"),
        ("attack.execution", "TA0002"),
        ("attack.impact", "TA0040"),
    ],
)
def test_tactic_spellings(tag: str, tactic_id: str) -> None:
    resolution = resolve_tags([tag])
    assert resolution.tactic_ids == (tactic_id,)
    assert resolution.errors == () and resolution.warnings == ()


def test_every_tactic_by_id_and_short_name() -> None:
    from detect.attack.catalog import load_catalog

    for tactic in load_catalog().tactics:
        spellings = [tactic.id.lower(), tactic.short_name, tactic.short_name.replace("-", "_")]
        resolution = resolve_tags([f"attack.{s}" for s in spellings])
        assert resolution.tactic_ids == (tactic.id,), spellings
        assert len(resolution.tactics) == 1


def test_defense_evasion_is_stealth_with_a_note() -> None:
    resolution = resolve_tags(["attack.defense-evasion"])
    tactic = resolution.tactics[0].tactic
    assert (tactic.id, tactic.name) == ("TA0005", "Stealth")
    assert [p.severity for p in resolution.problems] == [INFO]
    assert "18.1 name of TA0005" in resolution.problems[0].message


@pytest.mark.parametrize(
    ("tag", "message"),
    [
        ("attack.t9999", "unknown ATT&CK technique T9999"),
        ("attack.t1059.999", "unknown ATT&CK technique T1059.999"),
        ("attack.ta0099", "unknown ATT&CK tactic 'ta0099'"),
        ("attack.defence-evasion", "unknown ATT&CK tag 'defence-evasion'"),
    ],
)
def test_unknown_attack_ids_are_errors(tag: str, message: str) -> None:
    resolution = resolve_tags([tag])
    assert resolution.errors == (TagProblem(tag, ERROR, message),)
    assert resolution.techniques == () and resolution.tactics == ()


@pytest.mark.parametrize(
    ("tag", "replacement"), [("attack.t1562.012", "T1685.004"), ("attack.t1070.002", "T1685.006")]
)
def test_revoked_resolves_with_warning(tag: str, replacement: str) -> None:
    resolution = resolve_tags([tag])
    resolved = resolution.techniques[0]
    assert resolved.technique.id == replacement
    assert resolved.replaced and resolved.original == tag.split(".", 1)[1].upper()
    assert [p.severity for p in resolution.problems] == [WARNING]
    assert f"replaced by {replacement}" in resolution.problems[0].message
    assert resolved.note == resolution.problems[0].message


def test_deprecated_is_kept_with_warning() -> None:
    resolution = resolve_tags(["attack.t1064"])
    assert resolution.technique_ids == ("T1064",)
    assert resolution.warnings[0].message.endswith(
        "deprecated in ATT&CK 19.1; MITRE suggests T1059 (Command and Scripting Interpreter)"
    )


def test_other_namespaces_are_ignored() -> None:
    tags = [
        "attack.g0001",
        "attack.s0001",
        "cve.2021-4034",
        "car.2016-04-005",
        "detection.emerging-threats",
        "tlp.white",
        "attack.execution",
    ]
    resolution = resolve_tags(tags)
    assert resolution.ignored == tuple(tags[:-1])
    assert resolution.problems == ()
    assert resolution.tactic_ids == ("TA0002",)


def test_threat_fields_for_subtechnique() -> None:
    fields = threat_fields(resolve_tags(["attack.execution", "attack.t1059.004"]))
    assert fields == {
        "threat.framework": "MITRE ATT&CK",
        "threat.tactic.id": ["TA0002"],
        "threat.tactic.name": ["Execution"],
        "threat.tactic.reference": ["https://attack.mitre.org/tactics/TA0002"],
        "threat.technique.id": ["T1059"],
        "threat.technique.name": ["Command and Scripting Interpreter"],
        "threat.technique.reference": ["https://attack.mitre.org/techniques/T1059"],
        "threat.technique.subtechnique.id": ["T1059.004"],
        "threat.technique.subtechnique.name": ["Unix Shell"],
        "threat.technique.subtechnique.reference": [
            "https://attack.mitre.org/techniques/T1059/004"
        ],
    }


def test_threat_fields_tactics_from_techniques_when_rule_names_none() -> None:
    fields = threat_fields(resolve_tags(["attack.t1078", "attack.t1070.004"]))
    assert fields["threat.tactic.id"] == ["TA0001", "TA0003", "TA0004", "TA0005"]
    assert fields["threat.technique.id"] == ["T1078", "T1070"]
    assert fields["threat.technique.subtechnique.id"] == ["T1070.004"]
    assert "threat.technique.subtechnique.id" not in threat_fields(resolve_tags(["attack.t1078"]))


def test_threat_fields_empty_without_attack_tags() -> None:
    assert threat_fields(resolve_tags(["cve.2021-4034"])) == {}


@pytest.mark.skipif(not SIGMA.is_dir(), reason="../shared/sigma is not available")
def test_sigmahq_tags_resolve_cleanly() -> None:
    offenders = []
    for path in sorted(SIGMA.rglob("*.yml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if isinstance(doc, dict) and doc.get("tags"):
                resolution = resolve_tags(doc["tags"])
                problems = [*resolution.errors, *resolution.warnings]
                problems += [p for p in rule_tag_problems(doc["tags"]) if p.severity == ERROR]
                offenders += [f"{path.relative_to(SIGMA)}: {p}" for p in problems]
    assert offenders == []
