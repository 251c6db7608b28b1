"""Index hints (matching.dispatch.index_hints): the clauses the engine's rule indexes need of a
rule's plan, stored with the rule in the cache of compiled rules. A rule read back is indexed by
them exactly as by its plan, without building the plan; hints not as written, for another
view, or made by other code are not used."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from detect.matching import dispatch
from detect.matching.dispatch import hinted_clauses, index_hints
from detect.matching.engine import Dispatch, Engine
from detect.pipeline.factory import index_hints as pipeline_hints
from detect.sigma.compiled import CompiledCache, Hints, entry_key
from detect.sigma.index import Clause, RuleIndex
from detect.sigma.load import load_detections
from detect.sigma.model import Rule

ROOT = Path(__file__).resolve().parents[2]
SIGMA = ROOT.parent / "shared" / "sigma" / "rules" / "linux"
RULE = """\
title: Shell reads the shadow file
id: 00000000-0000-4000-8000-0000000000b1
logsource: {product: linux, service: auditd}
detection:
  path: {type: PATH, name|startswith: /etc/shadow}
  exe: {type: SYSCALL, exe|endswith: [/bash, /sh]}
  condition: 1 of them
"""


def _load(paths: list[Path], cache: CompiledCache) -> list[Rule]:
    return load_detections(paths, default=True, reuse=cache).rules


def _indexes(engine: Engine) -> dict[str, RuleIndex]:
    found = {f"type {name}": index for name, index in engine.type_indexes.items()}
    if engine.any_type is not None:
        found["any type"] = engine.any_type
    found.update({f"category {n}": index for n, index in engine.category_indexes.items()})
    return found


def _described(index: RuleIndex) -> list[tuple[str, Any]]:
    """Each rule of the index (its id) and its clause, keys sorted: what `candidates` uses."""
    return [(rule.id, _sorted(index.clause_of[i])) for i, rule in enumerate(index.rules)]


def _sorted(clause: Clause | None) -> list[tuple[tuple[str, str], list[str]]] | None:
    return None if clause is None else [(atom, sorted(keys)) for atom, keys in clause.items()]


def test_hints_index_every_rule_as_its_plan_does(tmp_path: Path) -> None:
    """Over SigmaHQ's Linux rules and the shipped ones: the same indexes, rules and clauses,
    and a rule read back builds no plan to be indexed."""
    cache = CompiledCache(tmp_path / "rules", pipeline_hints())
    paths = [SIGMA] if SIGMA.is_dir() else []
    cold = _load(paths, cache)  # compiled: plans built, no hints
    warm = _load(paths, cache)
    assert all(rule.condition.built and rule.hints is None for rule in cold)
    hinted = [rule for rule in warm if rule.hints is not None]
    assert len(hinted) > len(warm) * 0.9  # all but the files with correlations
    cold_engine, warm_engine = Engine(cold), Engine(warm)
    assert not any(rule.condition.built for rule in hinted)
    cold_indexes, warm_indexes = _indexes(cold_engine), _indexes(warm_engine)
    assert cold_indexes.keys() == warm_indexes.keys()
    assert len(cold_indexes) > 10
    for name, index in cold_indexes.items():
        assert _described(warm_indexes[name]) == _described(index), name
    for rule in hinted:  # and what was stored is what the plan gives
        assert rule.hints == index_hints(rule)


def test_a_record_rule_is_hinted_per_record_type(tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "rule.yml").write_text(RULE)
    cache = CompiledCache(tmp_path / "cache", pipeline_hints())
    load_detections([folder], default=False, reuse=cache)
    (rule,) = load_detections([folder], default=False, reuse=cache).rules
    clauses = hinted_clauses(rule, dispatch.RECORD_VIEW)
    assert clauses == {  # `name` is searched for its pattern: no key table for prefixes here
        "PATH": {("name", "pattern"): frozenset({"(?si)^\\/etc\\/shadow"})},
        "SYSCALL": {("exe", "basename"): frozenset({"bash", "sh"})},
    }
    engine = Engine([rule])
    assert set(engine.type_indexes) == {"PATH", "SYSCALL"} and engine.any_type is None
    assert not rule.condition.built


@pytest.mark.parametrize(
    "hints",
    [
        None,
        "not a dict",
        {"view": "process_creation", "clauses": [["process_creation", None]]},  # another view
        {"view": "auditd"},
        {"view": "auditd", "clauses": []},
        {"view": "auditd", "clauses": [["PATH"]]},
        {"view": "auditd", "clauses": [[7, None]]},
        {"view": "auditd", "clauses": [["PATH", []]]},
        {"view": "auditd", "clauses": [["PATH", [["name", "no such key", ["/etc"]]]]]},
        {"view": "auditd", "clauses": [["PATH", [["name", "prefix", "/etc"]]]]},
        {"view": "auditd", "clauses": [["PATH", [["name", "prefix", [1]]]]]},
        {"view": "auditd", "clauses": [["PATH", [["name", "prefix"]]]]},
    ],
)
def test_hints_not_as_written_are_found_in_the_plan(tmp_path: Path, hints: object) -> None:
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "rule.yml").write_text(RULE)
    (compiled,) = load_detections([folder], default=False).rules
    expected = {name: _described(index) for name, index in _indexes(Engine([compiled])).items()}
    (rule,) = load_detections([folder], default=False).rules
    rule.hints = hints
    assert hinted_clauses(rule, dispatch.RECORD_VIEW) is None
    found = Dispatch([rule])
    engine = Engine([rule])
    assert engine.type_indexes.keys() == found.type_indexes.keys()
    assert {name: _described(index) for name, index in _indexes(engine).items()} == expected


def test_category_hints_name_their_category(tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    folder.mkdir()
    text = RULE.replace("service: auditd", "category: process_creation").replace(
        "detection:\n  path: {type: PATH, name|startswith: /etc/shadow}\n"
        "  exe: {type: SYSCALL, exe|endswith: [/bash, /sh]}\n  condition: 1 of them",
        "detection:\n  sel: {Image|endswith: /bash}\n  condition: sel",
    )
    (folder / "rule.yml").write_text(text)
    (rule,) = load_detections([folder], default=False).rules
    hints = index_hints(rule)
    assert hints == {
        "view": "process_creation",
        "clauses": [["process_creation", [["process.executable", "basename", ["bash"]]]]],
    }
    rule.hints = hints
    assert hinted_clauses(rule, "process_creation") == {
        "process_creation": {("process.executable", "basename"): frozenset({"bash"})}
    }
    rule.hints = {**hints, "clauses": [["file_event", hints["clauses"][0][1]]]}
    assert hinted_clauses(rule, "process_creation") is None


def test_hints_made_by_other_code_are_a_miss(tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "rule.yml").write_text(RULE)
    key = entry_key(RULE)
    store = tmp_path / "cache"
    load_detections([folder], default=False, reuse=CompiledCache(store, Hints("a", index_hints)))
    (stored,) = CompiledCache(store, Hints("a", index_hints)).rules(key) or []
    assert stored.data["hints"]["view"] == "auditd"
    assert CompiledCache(store, Hints("b", index_hints)).rules(key) is None
    (plain,) = CompiledCache(store).rules(key) or []  # a reader without hints: none given
    assert plain.data["hints"] is None
    load_detections([folder], default=False, reuse=CompiledCache(store, Hints("b", index_hints)))
    assert CompiledCache(store, Hints("b", index_hints)).rules(key) is not None  # written again
