"""Engines over the same rules share what depends on the rules alone (one per host in a
partitioned scan), and keep their own process trees; other rules get their own dispatch."""

from __future__ import annotations

from pathlib import Path

from detect.matching.engine import Engine, dispatch_of
from detect.proctree.tree import ProcessTree
from detect.sigma.load import load_detections
from detect.sigma.model import Rule
from tests.capture_events import capture_events

RULE = """\
title: Echo argument world
id: 00000000-0000-4000-8000-0000000000a1
logsource: {product: linux, service: auditd}
detection:
  sel: {type: EXECVE, a2: world}
  condition: sel
"""


def _rules(tmp_path: Path, name: str = "rule.yml") -> list[Rule]:
    path = tmp_path / name
    path.write_text(RULE, encoding="utf-8")
    return load_detections([path], default=False).rules


def test_engines_over_the_same_rules_share_their_indexes_not_their_trees(tmp_path: Path) -> None:
    rules = _rules(tmp_path)
    first, second = Engine(rules), Engine(rules)
    assert first.type_indexes is second.type_indexes
    assert first._plans is second._plans
    assert first.tree is not second.tree
    assert isinstance(first.tree, ProcessTree)


def test_other_rules_or_a_changed_list_get_a_dispatch_of_their_own(tmp_path: Path) -> None:
    rules = _rules(tmp_path)
    shared = dispatch_of(rules)
    assert dispatch_of(list(rules)) is shared  # the same rule objects, another list
    assert dispatch_of(_rules(tmp_path, "again.yml")) is not shared  # equal text, new objects
    changed = dispatch_of([*rules, *rules])
    assert changed is not shared and len(changed.rules) == 2


def test_shared_indexes_give_each_engine_the_same_matches(tmp_path: Path) -> None:
    rules = _rules(tmp_path)
    events = capture_events("execve_args")
    alone = [len(Engine(rules).evaluate(event)) for event in events]
    first, second = Engine(rules), Engine(rules)
    assert [len(first.evaluate(event)) for event in events] == alone
    assert [len(second.evaluate(event)) for event in events] == alone
    assert sum(alone) >= 1
