"""`rule_tag_problems`: what `detect validate` reports about a rule's ATT&CK tags."""

from __future__ import annotations

import pytest

from detect.attack.lint import WHOLE_RULE, rule_tag_problems
from detect.attack.tags import ERROR, WARNING, TagProblem


def test_current_tags_have_no_problem() -> None:
    tags = ["attack.execution", "attack.t1059.004", "attack.g0032", "cve.2021-4034", "tlp.white"]
    assert rule_tag_problems(tags) == []


def test_technique_under_any_of_its_tactics() -> None:
    assert rule_tag_problems(["attack.persistence", "attack.t1078"]) == []
    assert rule_tag_problems(["attack.ta0005", "attack.t1078.003"]) == []


@pytest.mark.parametrize(
    ("tag", "message"),
    [
        ("attack.t9999", "unknown ATT&CK technique T9999"),
        ("attack.ta0099", "unknown ATT&CK tactic 'ta0099'"),
        ("attack.defence-evasion", "unknown ATT&CK tag 'defence-evasion'"),
    ],
)
def test_unknown_tag_is_an_error(tag: str, message: str) -> None:
    assert rule_tag_problems(["attack.execution", "attack.t1059.004", tag]) == [
        TagProblem(tag, ERROR, message)
    ]


def test_revoked_is_an_error_naming_the_replacement() -> None:
    problems = rule_tag_problems(["attack.defense-impairment", "attack.t1562.012"])
    assert problems == [
        TagProblem(
            "attack.t1562.012",
            ERROR,
            "T1562.012 (Disable or Modify Linux Audit System) is revoked in ATT&CK 19.1; "
            "replaced by T1685.004 (Disable or Modify Linux Audit System Log): "
            "tag attack.t1685.004 instead",
        )
    ]


def test_revoked_with_its_old_tactic() -> None:
    problems = rule_tag_problems(["attack.defense-evasion", "attack.t1070.002"])
    assert [(p.tag, p.severity) for p in problems] == [
        ("attack.t1070.002", ERROR),
        ("attack.defense-evasion", WARNING),
        ("attack.t1070.002", ERROR),
    ]
    assert problems[0].message.endswith("tag attack.t1685.006 instead")
    assert problems[1].message.endswith("tag attack.stealth instead")
    assert problems[2].message == (
        "T1070.002 was under defense-evasion in ATT&CK 18.1; in 19.1 T1685.006 is not under "
        "the rule's tactics: tag attack.defense-impairment"
    )


def test_deprecated_is_an_error_with_mitres_suggestion() -> None:
    (problem,) = rule_tag_problems(["attack.execution", "attack.t1064"])
    assert problem.severity == ERROR
    assert problem.message == (
        "T1064 (Scripting) is deprecated in ATT&CK 19.1; MITRE suggests T1059 "
        "(Command and Scripting Interpreter): tag attack.t1059 instead"
    )


def test_technique_under_no_tagged_tactic_is_an_error() -> None:
    problems = rule_tag_problems(["attack.impact", "attack.t1059.004", "attack.t1078"])
    assert problems == [
        TagProblem(
            "attack.t1059.004",
            ERROR,
            "T1059.004 is not under the rule's tactics: tag attack.execution",
        ),
        TagProblem(
            "attack.t1078",
            ERROR,
            "T1078 is not under the rule's tactics: tag attack.initial-access or "
            "attack.persistence or attack.privilege-escalation or attack.stealth",
        ),
    ]


def test_technique_without_any_tactic_tag_is_an_error() -> None:
    assert rule_tag_problems(["attack.t1059.004"]) == [
        TagProblem("attack.t1059.004", ERROR, "T1059.004 needs a tactic tag: attack.execution")
    ]


def test_moved_technique_keeps_its_id_but_not_its_tactic() -> None:
    problems = rule_tag_problems(["attack.stealth", "attack.t1222.002"])
    assert problems == [
        TagProblem(
            "attack.t1222.002",
            ERROR,
            "T1222.002 was under defense-evasion in ATT&CK 18.1; in 19.1 T1222.002 is not "
            "under the rule's tactics: tag attack.defense-impairment",
        )
    ]


@pytest.mark.parametrize("tags", [[], ["attack.execution"], ["cve.2021-4034"]])
def test_no_technique_tag_is_a_warning(tags: list[str]) -> None:
    assert rule_tag_problems(tags) == [TagProblem(WHOLE_RULE, WARNING, "no ATT&CK technique tag")]


def test_no_extra_warning_when_the_technique_tag_was_wrong() -> None:
    problems = rule_tag_problems(["attack.execution", "attack.t1059.999"])
    assert [p.severity for p in problems] == [ERROR]
