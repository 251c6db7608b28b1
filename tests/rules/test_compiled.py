"""The cache of compiled rules (detect/sigma/compiled.py): a hit gives the rules a miss gives,
without pySigma until asked, and builds a rule's plan when first asked for; entries corrupt,
altered or of another compiler are ignored and written again (a recipe altered with its digest
is compiled from the file); 0600 files in a 0700 folder; pruned; what it must not hold, it does
not."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import stat
import time
from pathlib import Path
from typing import Any

import pytest

from detect.matching.engine import Engine
from detect.sigma import compiled as compiled_module
from detect.sigma.cache import disk_bytes, prune
from detect.sigma.compiled import CompiledCache
from detect.sigma.condition import AllOf, AnyOf, FieldTest, KeywordTest, Negation, Node, ViewTest
from detect.sigma.load import DEFAULT_RULES, RuleCacheError, load_detections
from detect.sigma.model import Deferred, Rule, RuleSet
from detect.sigma.values import ValueSpec

ROOT = Path(__file__).resolve().parents[2]
SIGMA = ROOT.parent / "shared" / "sigma" / "rules" / "linux"
RULE = """\
title: Exec under /tmp
id: 6a0f6c8e-1111-4c1e-9a55-00000000c001
tags: [attack.execution, attack.t1204.002]
logsource: {product: linux, category: process_creation}
detection:
    selection:
        Image|startswith: /tmp/
        CommandLine|re: '(?i)curl .*\\|\\s*sh'
    filter:
        User: root
    condition: selection and not filter
level: medium
"""
FILTER = """\
title: Not for the build user
id: 6a0f6c8e-1111-4c1e-9a55-00000000c0f1
logsource: {product: linux, category: process_creation}
filter:
    rules: [6a0f6c8e-1111-4c1e-9a55-00000000c001]
    selection:
        User: builder
    condition: not selection
"""


FORMAT = f'"format": {compiled_module.FORMAT}'.encode()


def _cache(tmp_path: Path) -> CompiledCache:
    return CompiledCache(tmp_path / "cache" / "detect" / "rules")


def _entries(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "cache" / "detect" / "rules").glob("*.json"))


def _load(paths: list[Path], cache: CompiledCache, default: bool = False) -> RuleSet:
    return load_detections(paths, default=default, reuse=cache)


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def _spec(spec: ValueSpec) -> tuple[Any, ...]:
    keys = sorted((name, sorted(values)) for name, values in spec.keys.items())
    return (spec.cost, spec.kind, spec.items, keys)


def shape(node: Node) -> tuple[Any, ...]:
    """What a compiled condition is, closures aside (those are compared by behaviour)."""
    if isinstance(node, FieldTest):
        return ("field", node.field, _spec(node.spec))
    if isinstance(node, KeywordTest):
        return ("keyword", _spec(node.spec))
    if isinstance(node, ViewTest):
        return ("view", node.cost)
    if isinstance(node, AllOf | AnyOf):
        return (type(node).__name__, tuple(shape(child) for child in node.children))
    assert isinstance(node, Negation)
    return ("not", shape(node.child))


def described(rule: Rule) -> tuple[Any, ...]:
    return (
        rule.id,
        rule.name,
        rule.title,
        rule.level,
        rule.status,
        rule.description,
        rule.references,
        rule.tags,
        rule.falsepositives,
        rule.logsource,
        rule.source,
        rule.fields,
        rule.attributes,
        shape(rule.plan),
    )


def test_a_hit_gives_the_rules_a_miss_gives(tmp_path: Path) -> None:
    paths = [SIGMA] if SIGMA.is_dir() else []
    cold = _load(paths, _cache(tmp_path), default=True)  # every file compiled and stored
    stored = len(_entries(tmp_path))
    assert stored > 50
    cold_sigma = [rule.origin._rule for rule in cold.rules]
    warm = _load(paths, _cache(tmp_path), default=True)
    assert len(_entries(tmp_path)) == stored  # nothing written again
    assert [described(r) for r in warm.rules] == [described(r) for r in cold.rules]
    assert warm.errors == cold.errors and warm.warnings == cold.warnings
    parsed = [rule for rule in warm.rules if rule.origin._rule is not None]
    assert len(parsed) < len(warm.rules) / 10  # pySigma not run...
    assert all(_has_correlation(rule) for rule in parsed)  # (files with correlations aside)
    for hit, miss in zip(warm.rules, cold_sigma, strict=True):  # ...until asked
        assert miss is not None and hit.sigma.to_dict() == miss.to_dict()
    applicable = Engine(warm.rules).not_applicable
    assert [r.id for r in applicable] == [r.id for r in Engine(cold.rules).not_applicable]


def test_what_orjson_refuses_still_reads_back(tmp_path: Path) -> None:
    """Entries are read with orjson, which refuses NaN and integers past 64 bits; a rule
    whose own keys hold them (YAML's `.nan`) is still a hit, read as the standard library
    reads it."""
    odd = "level: medium\nweight: .nan\nbig: 123456789012345678901234"
    text = RULE.replace("level: medium", odd)
    folder = tmp_path / "rules"
    _write(folder, "odd.yml", text)
    cold = _load([folder], _cache(tmp_path))
    assert len(_entries(tmp_path)) == 1
    (entry,) = _entries(tmp_path)
    written = entry.stat().st_mtime_ns
    warm = _load([folder], _cache(tmp_path))
    assert entry.stat().st_mtime_ns == written  # a hit: not compiled and written again
    (rule,) = warm.rules
    assert rule.origin._rule is None  # pySigma not run: it came from the entry
    assert rule.attributes["big"] == 123456789012345678901234
    assert rule.attributes["weight"] != rule.attributes["weight"]  # NaN
    assert described(rule)[:-2] == described(cold.rules[0])[:-2]


def _has_correlation(rule: Rule) -> bool:
    return "correlation:" in Path(rule.source.source).read_text()


def test_a_hit_matches_what_a_miss_matches(tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    _write(folder, "tmp.yml", RULE)
    cold, warm = (_load([folder], _cache(tmp_path)).rules[0] for _ in range(2))
    assert warm.origin._rule is None
    views = [
        _view("/tmp/x", "CURL http://e | sh", "alice"),
        _view("/tmp/x", "curl http://e | sh", "root"),
        _view("/usr/bin/x", "curl http://e | sh", "alice"),
        _view("/tmp/x", "wget", "alice"),
    ]
    assert (
        [warm.match(v) for v in views]
        == [cold.match(v) for v in views]
        == [True, False, False, False]
    )


def test_a_hit_builds_its_plan_on_first_use_once_and_copies_share_it(tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    _write(folder, "tmp.yml", RULE)
    cold = _load([folder], _cache(tmp_path)).rules[0]
    warm, copy = (_load([folder], _cache(tmp_path)).rules[0] for _ in range(2))
    assert not warm.condition.built and type(warm.match) is Deferred
    tuned = dataclasses.replace(warm, level="high")  # as tuning copies a rule
    assert type(tuned.match) is Deferred and tuned.match is not warm.match
    view = _view("/tmp/x", "curl http://e | sh", "alice")
    assert tuned.match(view) and tuned.condition.built  # built, for the rule and its copy
    assert type(tuned.match) is not Deferred  # later calls go to the compiled predicate
    assert warm.condition.built and warm.match(view) and type(warm.match) is not Deferred
    assert shape(warm.plan) == shape(cold.plan)
    assert not copy.condition.built  # another load: its own
    assert shape(dataclasses.replace(copy, level="low").plan) == shape(cold.plan)
    later = dataclasses.replace(warm, level="low")  # a copy made after: the built predicate
    assert type(later.match) is not Deferred and later.match(view)


def _view(image: str, command_line: str, user: str) -> dict[str, str]:
    return {"process.executable": image, "process.command_line": command_line, "user.name": user}


DAMAGES = [
    lambda raw: raw[: len(raw) // 2],  # cut short
    lambda raw: raw.replace(b"/tmp/", b"/tmq/"),  # altered: the digest no longer fits
    lambda raw: raw.replace(FORMAT, b'"format": 99'),  # another format
    lambda raw: b"\x00\xff" + raw,  # not JSON
]


@pytest.mark.parametrize("damage", DAMAGES)
def test_a_damaged_entry_is_ignored_and_written_again(tmp_path: Path, damage) -> None:
    folder = tmp_path / "rules"
    _write(folder, "tmp.yml", RULE)
    expected = [described(r) for r in _load([folder], _cache(tmp_path)).rules]
    (entry,) = _entries(tmp_path)
    good = entry.read_bytes()
    entry.write_bytes(damage(good))
    again = _load([folder], _cache(tmp_path))
    assert [described(r) for r in again.rules] == expected
    assert again.rules[0].origin._rule is not None  # compiled from the file, not the entry
    assert entry.read_bytes() == good  # written again


@pytest.mark.parametrize(
    "recipe",
    [
        ["no such node"],
        ["str", "Image", "cidr", ["10.0.0.0/8"]],  # a kind that is no string test
        ["str", "Image", "prefix", ["/tmp/", 5]],  # an item that is no string
        ["str", "Image", "prefix", "/tmp/"],  # items that are no list
        ["str", "Image", "prefix", []],  # no item
        ["str", "Image", "prefix"],
        "not JSON [",  # the recipe is stored as its JSON text
        {"a": "mapping"},
    ],
)
def test_an_entry_that_reads_back_but_does_not_build_is_not_trusted(
    tmp_path: Path, recipe: list[Any] | str | dict[str, str]
) -> None:
    folder = tmp_path / "rules"
    _write(folder, "tmp.yml", RULE)
    expected = [described(r) for r in _load([folder], _cache(tmp_path)).rules]
    (entry,) = _entries(tmp_path)
    head, body = entry.read_bytes().split(b"\n")
    rules = json.loads(body)
    rules[0]["rule"]["recipe"] = recipe if isinstance(recipe, str) else json.dumps(recipe)
    body = json.dumps(rules).encode()
    data = {**json.loads(head), "digest": hashlib.sha256(body).hexdigest()}
    altered = json.dumps(data).encode() + b"\n" + body
    entry.write_bytes(altered)
    again = _load([folder], _cache(tmp_path))
    (rule,) = again.rules
    assert rule.origin._rule is None and not rule.condition.built  # built when asked for...
    assert [described(r) for r in again.rules] == expected
    assert rule.origin._rule is not None  # ...compiled from the file, not the entry
    views = [_view("/tmp/x", "curl http://e | sh", "alice"), _view("/tmp/x", "ls", "alice")]
    assert [rule.match(v) for v in views] == [True, False]


def test_another_compiler_does_not_read_the_entries(tmp_path: Path, monkeypatch) -> None:
    folder = tmp_path / "rules"
    _write(folder, "tmp.yml", RULE)
    _load([folder], _cache(tmp_path))
    monkeypatch.setattr(compiled_module, "_salt", lambda: b"another compiler\0")
    again = _load([folder], _cache(tmp_path))
    assert again.rules[0].origin._rule is not None  # a miss
    assert len(_entries(tmp_path)) == 2  # keyed apart


def test_the_salt_covers_this_package_and_the_mappings() -> None:
    parts = compiled_module._salt().split(b"\0")
    sources = [*sorted(Path(compiled_module.__file__).parent.glob("*.py"))]
    assert len(sources) > 10
    for source in sources:
        assert hashlib.sha256(source.read_bytes()).hexdigest().encode() in parts


def test_entries_are_private(tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    _write(folder, "tmp.yml", RULE)
    _load([folder], _cache(tmp_path))
    (entry,) = _entries(tmp_path)
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600
    for path in (entry.parent, entry.parent.parent):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700


def test_a_shared_folder_is_not_used(tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    _write(folder, "tmp.yml", RULE)
    shared = tmp_path / "cache" / "detect" / "rules"
    shared.mkdir(parents=True)
    shared.chmod(0o777)
    _load([folder], _cache(tmp_path))
    assert _entries(tmp_path) == []


def test_files_with_errors_filters_or_correlations_are_not_stored(tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    _write(folder, "bad.yml", RULE.replace("(?i)curl", "(unclosed"))
    _write(folder, "two.yml", RULE + "---\n" + FILTER.replace("c0f1", "c0f2"))
    _load([folder], _cache(tmp_path))
    assert _entries(tmp_path) == []


def test_a_filter_applies_to_a_rule_the_cache_holds(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    _write(rules, "tmp.yml", RULE)
    _load([rules], _cache(tmp_path))  # stored unfiltered
    filters = _write(tmp_path / "filters", "filter.yml", FILTER)
    (rule,) = _load([rules, filters], _cache(tmp_path)).rules
    view = _view("/tmp/x", "curl e | sh", "builder")
    assert not rule.match(view)
    assert rule.match({**view, "user.name": "alice"})
    (unfiltered,) = _load([rules], _cache(tmp_path)).rules  # and the entry is as it was
    assert unfiltered.match(view) and unfiltered.origin._rule is None


def test_placeholders_never_use_the_cache(tmp_path: Path) -> None:
    from detect.sigma.load import load_rules

    folder = tmp_path / "rules"
    _write(folder, "tmp.yml", RULE)
    load_rules([folder], placeholders={"x": ["y"]}, reuse=_cache(tmp_path))
    assert _entries(tmp_path) == []


def _aged(path: Path, days: float, size: int = 10) -> Path:
    path.write_bytes(b"x" * size)
    then = time.time() - days * 86400
    os.utime(path, (then, then))
    return path


def test_prune_removes_what_was_not_used_for_30_days(tmp_path: Path) -> None:
    old = _aged(tmp_path / "old.json", 31)
    recent = _aged(tmp_path / "recent.json", 29)
    partial = _aged(tmp_path / "left.partial", 1)
    assert prune(tmp_path) == 2
    assert not old.exists() and not partial.exists() and recent.exists()


def test_prune_keeps_the_folder_under_its_size_least_recently_used_first(tmp_path: Path) -> None:
    """The bound is on the disk the entries take (a 100-byte file takes a block)."""
    entries = [_aged(tmp_path / f"{age}.json", age, size=100) for age in (1, 2, 3, 4)]
    taken = disk_bytes(entries[0].stat())
    assert taken >= 100
    assert prune(tmp_path, max_bytes=2 * taken + taken // 2) == 2
    assert [path.exists() for path in entries] == [True, True, False, False]


def test_a_hit_marks_its_entry_used(tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    _write(folder, "tmp.yml", RULE)
    _load([folder], _cache(tmp_path))
    (entry,) = _entries(tmp_path)
    _aged(entry, 20, size=0)
    entry.unlink()
    _load([folder], _cache(tmp_path))  # written again
    then = time.time() - 20 * 86400
    os.utime(entry, (then, then))
    _load([folder], _cache(tmp_path))  # a hit
    assert time.time() - entry.stat().st_mtime < 3600


def test_the_cache_is_pruned_once_a_day(tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    _write(folder, "tmp.yml", RULE)
    base = tmp_path / "cache" / "detect" / "rules"
    base.mkdir(parents=True, mode=0o700)
    (tmp_path / "cache" / "detect").chmod(0o700)
    old = _aged(base / "old.json", 40)
    _load([folder], _cache(tmp_path))
    assert not old.exists()
    stamp = base.parent / ".pruned-rules"
    assert stamp.exists()
    old = _aged(base / "old.json", 40)
    _load([folder], _cache(tmp_path))  # pruned less than a day ago: left for tomorrow
    assert old.exists()


def test_a_run_that_writes_prunes_at_most_hourly(tmp_path: Path) -> None:
    """Pruned 2 h ago: a run that only reads leaves the folder for tomorrow, one that writes
    (a new rule file) prunes it; pruned 10 min ago, a run that writes leaves it too."""
    folder = tmp_path / "rules"
    _write(folder, "one.yml", RULE)
    base = tmp_path / "cache" / "detect" / "rules"
    _load([folder], _cache(tmp_path))  # makes the folder and its stamp, writes one.yml's entry
    stamp = base.parent / ".pruned-rules"
    for minutes, written, kept in ((120, False, True), (120, True, False), (10, True, True)):
        old = _aged(base / "old.json", 40)
        then = time.time() - minutes * 60
        os.utime(stamp, (then, then))
        if written:
            _write(folder, f"new-{minutes}.yml", RULE.replace("title: ", "title: new "))
        _load([folder], _cache(tmp_path))
        assert old.exists() == kept, (minutes, written)


def test_shipped_detections_load_from_the_cache(tmp_path: Path) -> None:
    cold = _load([], _cache(tmp_path), default=True)
    warm = _load([], _cache(tmp_path), default=True)
    assert len(warm.rules) == len(cold.rules) > 20
    files = {rule.source.source for rule in cold.rules if not _has_correlation(rule)}
    assert len(_entries(tmp_path)) == len(files) + 1  # and the set's (detect.sigma.packed)
    assert all(Path(rule.source.source).is_relative_to(DEFAULT_RULES) for rule in warm.rules)


def test_pysigma_rule_of_a_hit_whose_file_changed_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    path = _write(folder, "tmp.yml", RULE)
    _load([folder], _cache(tmp_path))
    (rule,) = _load([folder], _cache(tmp_path)).rules
    path.write_text(RULE.replace("/tmp/", "/var/tmp/"))
    with pytest.raises(RuleCacheError, match="changed since its rules were loaded"):
        rule.sigma  # noqa: B018 - made on first use
