"""The rule index: what rules require, bucketing, and soundness against brute force."""

from __future__ import annotations

import inspect
import math
from pathlib import Path
from typing import Any

import re2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from detect.sigma.index import (
    FieldTable,
    Requirements,
    RuleIndex,
    best_clause,
    first_characters,
    requirements,
    restrict,
    set_matcher,
)
from detect.sigma.load import load_rules
from detect.sigma.values import build_spec
from tests.rules.build import rule_from

INDEX_FIELDS = ["type", "SYSCALL", "key", "Image"]
SIGMA = Path(__file__).resolve().parents[3] / "shared" / "sigma"


def lookups(node: Any) -> Requirements:
    """The requirements of `node` by dictionary key functions (patterns left out)."""
    return {atom: keys for atom, keys in requirements(node).items() if atom[1] != "pattern"}


def test_requirements_of_a_plain_selection() -> None:
    rule = rule_from({"sel": {"type": "EXECVE", "a0|contains": "x"}, "condition": "sel"})
    assert requirements(rule.plan)[("type", "value")] == frozenset({"execve"})


def test_or_requires_a_field_only_when_every_branch_does() -> None:
    both = rule_from(
        {"a": {"type": "EXECVE"}, "b": {"type": "PATH", "name": "x"}, "condition": "a or b"}
    )
    assert lookups(both.plan) == {
        ("type", "value"): frozenset({"execve", "path"}),
        ("type", "basename"): frozenset({"execve", "path"}),
        ("type", "prefix"): frozenset({"execv", "path"}),
    }
    one = rule_from({"a": {"type": "EXECVE"}, "b": {"name": "x"}, "condition": "a or b"})
    assert lookups(one.plan) == {}


def test_and_of_one_field_keeps_one_set_because_lists_may_satisfy_both() -> None:
    rule = rule_from({"a": {"f": ["x", "y"]}, "b": {"f": ["y", "z"]}, "condition": "a and b"})
    assert requirements(rule.plan)[("f", "value")] in ({"x", "y"}, {"y", "z"})
    assert rule.match({"f": ["x", "z"]})
    assert list(RuleIndex([rule], ["f"]).candidates({"f": ["x", "z"]})) == [rule]


def test_not_and_keywords_require_nothing() -> None:
    negated = rule_from({"a": {"type": "EXECVE"}, "condition": "not a"})
    keyword = rule_from({"k": ["EXECVE"], "condition": "k"})
    assert lookups(negated.plan) == {}
    assert lookups(keyword.plan) == {}


def test_endswith_a_path_component_requires_the_basename() -> None:
    rule = rule_from({"sel": {"Image|endswith": ["/bash", "/SH"]}, "condition": "sel"})
    assert lookups(rule.plan) == {("Image", "basename"): frozenset({"bash", "sh"})}
    partial = rule_from({"sel": {"Image|endswith": ["/bash", "sh"]}, "condition": "sel"})
    assert lookups(partial.plan) == {}
    deeper = rule_from({"sel": {"Image|endswith": "/bin/bash"}, "condition": "sel"})
    assert lookups(deeper.plan) == {}


def test_equality_or_endswith_requires_the_basename() -> None:
    rule = rule_from(
        {"a": {"Image": "/usr/bin/Bash"}, "b": {"Image|endswith": "/sh"}, "condition": "a or b"}
    )
    assert lookups(rule.plan) == {("Image", "basename"): frozenset({"bash", "sh"})}
    index = RuleIndex([rule], ["Image"])
    assert list(index.candidates({"Image": "/usr/bin/bash"})) == [rule]
    assert list(index.candidates({"Image": "/bin/SH"})) == [rule]
    assert list(index.candidates({"Image": "/usr/bin/zsh"})) == []


def test_candidates_keep_rule_order_and_include_unindexed_rules() -> None:
    execve = rule_from({"s": {"type": "EXECVE"}, "condition": "s"})
    anything = rule_from({"k": ["x"], "condition": "k"})
    path = rule_from({"s": {"type": "PATH"}, "condition": "s"})
    shell = rule_from({"s": {"Image|endswith": "/bash"}, "condition": "s"})
    index = RuleIndex([execve, anything, path, shell], INDEX_FIELDS)
    assert list(index.candidates({"type": "execve"})) == [execve, anything]
    assert list(index.candidates({"type": "SOCKADDR"})) == [anything]
    assert list(index.candidates({"type": ["PATH", "EXECVE"]})) == [execve, anything, path]
    assert list(index.candidates({"Image": "/usr/bin/BASH", "type": "PATH"})) == [
        anything,
        path,
        shell,
    ]
    assert index.always == (anything,)


def test_sigmahq_auditd_rules_are_indexed_by_record_type() -> None:
    if not SIGMA.is_dir():
        return
    loaded = load_rules([SIGMA / "rules" / "linux" / "auditd"])
    index = RuleIndex(loaded.rules, INDEX_FIELDS)
    unindexed = [rule.title for rule in index.always]
    assert len(unindexed) <= 2, unindexed
    execve = {"type": "EXECVE", "a0": "chattr", "a1": "-i", "a2": "/etc/passwd"}
    matching = [rule.title for rule in loaded.rules if rule.match(execve)]
    assert matching == [rule.title for rule in index.candidates(execve) if rule.match(execve)]
    assert matching == ["Remove Immutable File Attribute - Auditd"]


# --- soundness: never skip a rule that matches --------------------------------------------

FIELDS = ["type", "Image", "a0"]
TEXTS = ["EXECVE", "execve", "PATH", "/usr/bin/bash", "/bin/BASH", "bash", "5", ""]
SUFFIXES = ["/bash", "/usr/bin/bash", "bin/bash", "/BASH"]
MODIFIERS = ["", "", "", "|endswith", "|endswith", "|cased", "|endswith|cased", "|all"]
MODIFIERS += ["|contains", "|startswith", "|neq", "|contains|all"]

scalar_values = st.one_of(st.sampled_from(TEXTS), st.sampled_from(SUFFIXES))
rule_values = st.one_of(scalar_values, st.lists(scalar_values, min_size=1, max_size=3))


@st.composite
def detection_items(draw: st.DrawFn) -> tuple[str, Any]:
    field = draw(st.sampled_from([*FIELDS, "type", "Image"]))
    kind = draw(st.sampled_from(["string"] * 6 + ["null", "exists", "number", "re"]))
    if kind == "null":
        return field, None
    if kind == "exists":
        return f"{field}|exists", draw(st.booleans())
    if kind == "number":
        return f"{field}|{draw(st.sampled_from(['gt', 'lte']))}", draw(st.integers(0, 9))
    if kind == "re":
        return f"{field}|re", draw(st.sampled_from(["^ex", "sh$", "(?i)bash", "5"]))
    return field + draw(st.sampled_from(MODIFIERS)), draw(rule_values)


SELECTION_SHAPES = [
    st.lists(detection_items(), min_size=1, max_size=3).map(dict),
    st.lists(st.sampled_from(TEXTS), min_size=1, max_size=2),  # keywords
    st.lists(st.lists(detection_items(), min_size=1, max_size=2).map(dict), min_size=2, max_size=2),
]
selections = st.sampled_from([0, 0, 0, 0, 1, 2]).flatmap(lambda i: SELECTION_SHAPES[i])


def conditions(names: list[str]) -> st.SearchStrategy[str]:
    leaves = st.sampled_from([*names * 3, "1 of sel*", "all of sel*", "1 of them"])
    return st.recursive(
        leaves,
        lambda inner: st.tuples(inner, st.sampled_from(["and", "and", "or", "and not"]), inner).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        max_leaves=4,
    )


@st.composite
def rules(draw: st.DrawFn) -> dict[str, Any]:
    count = draw(st.integers(1, 3))
    names = [f"sel{i}" for i in range(count)]
    detection: dict[str, Any] = {name: draw(selections) for name in names}
    detection["condition"] = draw(conditions(names))
    return detection


def items_of(detection: dict[str, Any]) -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    for name, selection in detection.items():
        maps = [selection] if isinstance(selection, dict) else selection
        if name != "condition":
            found += [item for m in maps if isinstance(m, dict) for item in m.items()]
    return found


@st.composite
def views(draw: st.DrawFn, detections: list[dict[str, Any]]) -> dict[str, Any]:
    """A view built from the values of some rules (so that it often matches), then perturbed."""
    view: dict[str, Any] = {}
    texts = st.sampled_from(TEXTS)
    for detection in draw(st.lists(st.sampled_from(detections), min_size=1, max_size=2)):
        for key, value in items_of(detection):
            if draw(st.integers(0, 4)) == 0:
                continue
            if isinstance(value, list):
                value = value if draw(st.booleans()) else draw(st.sampled_from(value))
            if not isinstance(value, str | list):
                continue
            if isinstance(value, str) and draw(st.booleans()):
                value = value.swapcase()
            if draw(st.integers(0, 3)) == 0:
                value = [*([value] if isinstance(value, str) else value), draw(texts)]
            view[key.split("|")[0]] = value
    for field in draw(st.lists(st.sampled_from(FIELDS), max_size=2)):
        view[field] = draw(st.one_of(st.none(), texts, st.integers(0, 9), st.lists(texts)))
    return view


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_index_never_skips_a_matching_rule(data: st.DataObject) -> None:
    detections = data.draw(st.lists(rules(), min_size=1, max_size=6))
    samples = data.draw(st.lists(views(detections), min_size=1, max_size=8))
    compiled = [rule_from(detection) for detection in detections]
    index = RuleIndex(compiled, ["type", "Image"])
    for view in samples:
        candidates = list(index.candidates(view))
        assert len({id(rule) for rule in candidates}) == len(candidates)
        assert candidates == sorted(candidates, key=compiled.index)
        missed = [rule for rule in compiled if rule.match(view) and rule not in candidates]
        assert missed == []
        hits: list[Any] = []
        for field in index.fields:  # the same, fed field by field
            index.hits(field, view.get(field), hits)
        assert list(index.select(hits)) == candidates


def test_restricting_to_a_record_type_keeps_that_types_branches() -> None:
    rule = rule_from(
        {
            "a": {"type": "SYSCALL", "SYSCALL": ["reboot", "kexec_load"]},
            "b": {"type": "EXECVE", "a0|endswith": "/reboot"},
            "condition": "1 of them",
        }
    )
    assert ("SYSCALL", "value") not in requirements(rule.plan)  # no field common to both
    syscall = restrict(rule.plan, "type", "syscall")
    assert syscall is not None
    assert requirements(syscall)[("SYSCALL", "value")] == frozenset({"reboot", "kexec_load"})
    execve = restrict(rule.plan, "type", "execve")
    assert execve is not None
    assert requirements(execve)[("a0", "basename")] == frozenset({"reboot"})
    assert restrict(rule.plan, "type", "path") is None


def test_one_of_several_fields_files_the_rule_under_each() -> None:
    rule = rule_from(
        {
            "cmd1": {"a1|startswith": "--cpu-priority"},
            "cmd2": {"a2|startswith": "--cpu-priority"},
            "condition": "1 of cmd*",
        }
    )
    index = RuleIndex([rule], ["SYSCALL"])
    assert index.always == ()
    assert list(index.candidates({"a1": "--cpu-priority=5"})) == [rule]
    assert list(index.candidates({"a2": "--CPU-priority"})) == [rule]
    assert list(index.candidates({"a1": "-c", "a3": "--cpu-priority"})) == []


def test_contains_and_wildcards_are_searched_with_patterns() -> None:
    hidden = rule_from({"s": {"type": "PATH", "name|contains": "/."}, "condition": "s"})
    version = rule_from({"s": {"name": ["/etc/*version", "/proc/version"]}, "condition": "s"})
    cased = rule_from({"s": {"name|contains|cased": "Foo"}, "condition": "s"})
    index = RuleIndex([hidden, version, cased], ["name"])
    assert index.always == ()
    assert list(index.candidates({"name": "/usr/lib/libc.so"})) == []
    assert list(index.candidates({"name": "/home/u/.bashrc"})) == [hidden]
    assert list(index.candidates({"name": "/ETC/debian_version"})) == [version]
    assert list(index.candidates({"name": "/tmp/foo"})) == []
    assert list(index.candidates({"name": ["/tmp/Foo", "/x/.y"]})) == [hidden, cased]


def test_a_regex_is_its_own_pattern_and_undecodable_bytes_are_searched() -> None:
    rule = rule_from({"s": {"CommandLine|re": "nc .*-e"}, "condition": "s"})
    clause = best_clause(rule.plan, RuleIndex([], []).rank)
    assert clause == {("CommandLine", "pattern"): frozenset({"nc .*-e"})}
    index = RuleIndex([rule], [])
    found = {"CommandLine": "nc host -e sh \udcff"}
    assert rule.match(found)
    assert list(index.candidates(found)) == [rule]
    across = {"CommandLine": "nc \udcff -e sh"}  # RE2's `.` does not match a bad byte
    assert not rule.match(across)
    assert list(index.candidates({"CommandLine": "nc host 80"})) == []


def test_pattern_sets_are_searched_past_the_python_wrapper() -> None:
    options = re2.Options()
    options.log_errors = False
    patterns = re2.Set.SearchSet(options)
    for pattern in ("(?si)^--cpu", "(?s)é$", "x"):
        patterns.Add(pattern)
    patterns.Compile()
    match = set_matcher(patterns)
    assert not inspect.isfunction(getattr(match, "__func__", match))  # C++, not Python
    for text in ("--CPU-priority", "café", "7ffd3ax", "\udcff--cpu", "", "nothing"):
        encoded = text.encode("utf-8", "surrogateescape")
        assert sorted(match(encoded) or []) == sorted(patterns.Match(encoded) or [])
    assert sorted(match("--cpu é".encode()) or []) == [0, 1]


def test_a_non_ascii_caseless_literal_gives_no_pattern() -> None:
    rule = rule_from({"s": {"name|contains": "ÄÖ"}, "condition": "s"})
    assert ("name", "pattern") not in requirements(rule.plan)
    assert RuleIndex([rule], ["name"]).always == (rule,)


def test_a_numeric_equality_is_indexed_by_its_canonical_number() -> None:
    denied = rule_from({"s": {"exit": [-13, -1]}, "condition": "s"})
    other = rule_from({"s": {"exit": 2}, "condition": "s"})
    index = RuleIndex([denied, other], ["SYSCALL", "Image"])  # `type` is no preferred field
    assert index.always == ()
    for text in ("-13", "-013", " -13", "-13.0", "-1e0"):  # what to_number reads as -13 or -1
        view = {"exit": text}
        assert list(index.candidates(view)) == [denied] and denied.match(view), text
    for text in ("-12", "13", "x", ""):
        assert list(index.candidates({"exit": text})) == []
    assert list(index.candidates({"exit": 2})) == [other]


NUMBER_TEXTS = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.floats(allow_nan=False).map(repr),
    st.sampled_from(["-0", "0.0", "-0.0", "007", "+5", " 5 ", "1e3", "1_000", "inf", "x"]),
)


@given(NUMBER_TEXTS, st.one_of(st.integers(-(2**70), 2**70), st.floats(allow_nan=False)))
def test_number_keys_agree_with_the_numeric_equality_test(text: str, number: float) -> None:
    from detect.sigma.values import canonical_number, number_key, number_spec, to_number

    if isinstance(number, float) and not math.isfinite(number):
        return
    same_key = number_key(text) == canonical_number(number)
    assert same_key == number_spec(number).test(text) == (to_number(text) == number)


LITERALS = st.text(alphabet=st.sampled_from("aAbkKsS-_./1é ſK\x00"), min_size=1, max_size=4)


@settings(max_examples=500, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(["prefix", "eq"]), st.booleans(), LITERALS), min_size=1),
    st.lists(st.one_of(st.text(max_size=5), st.integers(-5, 50)), max_size=8),
)
def test_first_characters_never_rule_out_a_match(
    tests: list[tuple[str, bool, str]], values: list[object]
) -> None:
    """A field's values that cannot start a match skip its patterns: never one that matches."""
    patterns = []
    for kind, cased, literal in tests:
        keys = build_spec(f"{kind}_cased" if cased else kind, (literal,)).keys
        patterns.extend(keys.get("pattern", ()))
    firsts = first_characters(patterns)
    table = FieldTable("f", (), ((lambda _: None, ()),), firsts)  # `firsts` of a pattern set
    for value in [*values, *(literal for _, _, literal in tests)]:
        text = value if isinstance(value, str) else str(value)
        if any(re2.search(pattern, text) for pattern in patterns):
            assert table._may_match(value), (patterns, value)


def test_first_characters_of_the_anchored_patterns_only() -> None:
    assert first_characters([r"(?si)^\-\-cpu", "(?s)^Xy"]) == frozenset("-X")
    assert first_characters(["(?si)^bash"]) == frozenset("bB")
    for other in (r"(?si)\-x", "(?si)^(?:a.*)$", r"(?si)^\d", "(?si)x$"):
        assert first_characters([r"(?si)^\-\-cpu", other]) is None
    index = RuleIndex([rule_from({"s": {"a1|startswith": "--cpu"}, "condition": "s"})], ["a1"])
    assert index.table("a1").lookup("7ffd1234") == ()  # type: ignore[union-attr]
    assert list(index.candidates({"a1": "--CPU-priority"})) == list(index.rules)
