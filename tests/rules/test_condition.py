"""Condition grammar, keywords, wildcards, case, lists, null: each with a match and a miss."""

from __future__ import annotations

from typing import Any

import pytest

from detect.sigma.condition import AllOf, AnyOf, FieldTest, Negation
from detect.sigma.model import Rule
from tests.rules.build import rule_from

SELECTIONS = {
    "selection_a": {"a": "1"},
    "selection_b": {"b": "1"},
    "filter_c": {"c": "1"},
}


def rule(condition: str | list[str], **detections: Any) -> Rule:
    return rule_from({**SELECTIONS, **detections, "condition": condition})


def view(*names: str) -> dict[str, str]:
    return {name: "1" for name in names}


@pytest.mark.parametrize(
    ("condition", "good", "bad"),
    [
        ("1 of selection_*", view("b"), view("c")),
        ("any of selection_*", view("a"), view("c")),
        ("all of selection_*", view("a", "b"), view("a", "c")),
        ("1 of them", view("c"), view()),
        ("all of them", view("a", "b", "c"), view("a", "b")),
        ("selection_a and not filter_c", view("a"), view("a", "c")),
        ("not selection_a", view("b"), view("a")),
        ("not not selection_a", view("a"), view("b")),
        ("selection_a and not (selection_b or filter_c)", view("a"), view("a", "b")),
        ("(selection_a or selection_b) and not filter_c", view("b"), view("b", "c")),
        ("selection_a or selection_b and filter_c", view("a"), view("b")),
        ("not (selection_a and (selection_b or not filter_c))", view("a", "c"), view("a")),
        ("1 of sel* and not 1 of filter_*", view("b"), view("b", "c")),
        ("all of *_a or all of *_c", view("c"), view("b")),
        (["selection_a and filter_c", "selection_b"], view("b"), view("a")),
    ],
)
def test_condition_grammar(
    condition: str | list[str], good: dict[str, str], bad: dict[str, str]
) -> None:
    compiled = rule(condition)
    assert compiled.match(good)
    assert not compiled.match(bad)


def test_and_binds_tighter_than_or() -> None:
    compiled = rule("selection_a or selection_b and filter_c")
    assert compiled.match(view("b", "c"))
    assert not compiled.match(view("c"))


def test_keywords_match_any_value_of_the_view() -> None:
    compiled = rule_from({"keywords": ["EVIL", "bad*thing"], "condition": "keywords"})
    assert compiled.match({"a": "x", "b": "very evil indeed"})
    assert compiled.match({"a": ["x", "a bad old thing"]})
    assert not compiled.match({"a": "x", "evil": "field names are not values"})
    assert not compiled.match({"a": None, "b": []})


def test_keywords_see_numbers_and_list_elements() -> None:
    compiled = rule_from({"keywords": [4444], "condition": "keywords"})
    assert compiled.match({"port": 4444})
    assert compiled.match({"args": ["x", "4444"]})
    assert not compiled.match({"port": 4445})


def test_keywords_with_a_modifier() -> None:
    compiled = rule_from({"keywords": {"|contains|all": ["nc", "-e"]}, "condition": "keywords"})
    assert compiled.match({"a": "nc", "b": "-e"})
    assert not compiled.match({"a": "nc"})


def test_keyword_and_field_selection_together() -> None:
    compiled = rule_from(
        {"sel": {"type": "EXECVE"}, "keywords": ["shadow"], "condition": "sel and keywords"}
    )
    assert compiled.match({"type": "execve", "a1": "/etc/shadow"})
    assert not compiled.match({"type": "PATH", "name": "/etc/shadow"})


def test_list_valued_fields_match_any_element() -> None:
    compiled = rule_from({"sel": {"Ancestors|endswith": "/nginx"}, "condition": "sel"})
    assert compiled.match({"Ancestors": ["/bin/bash", "/usr/sbin/nginx"]})
    assert not compiled.match({"Ancestors": ["/bin/bash", "/usr/sbin/nginx2"]})
    assert not compiled.match({"Ancestors": []})


def test_all_modifier_on_a_list_field_may_use_different_elements() -> None:
    compiled = rule_from({"sel": {"f|contains|all": ["a", "b"]}, "condition": "sel"})
    assert compiled.match({"f": ["xa", "xb"]})
    assert not compiled.match({"f": ["xa", "xc"]})


def test_selection_list_of_maps_is_an_or() -> None:
    compiled = rule_from({"sel": [{"a": "1", "b": "1"}, {"c": "1"}], "condition": "sel"})
    assert compiled.match(view("c"))
    assert compiled.match(view("a", "b"))
    assert not compiled.match(view("a"))


def test_value_list_is_an_or() -> None:
    compiled = rule_from({"sel": {"a": ["x", "y*", "*z"]}, "condition": "sel"})
    assert compiled.match({"a": "Yes"})
    assert compiled.match({"a": "buzz"})
    assert not compiled.match({"a": "w"})


@pytest.mark.parametrize(
    ("pattern", "good", "bad"),
    [
        ("a*c", "aXYZc", "aXYZd"),
        ("a?c", "abc", "abbc"),
        ("*", "", None),
        ("?", "x", ""),
        ("a\\*c", "a*c", "abc"),
        ("a\\?c", "a?c", "abc"),
        ("a\\\\*", "a\\xyz", "axyz"),
        ("C:\\Windows\\x*", "c:\\windows\\xyz", "c:/windows/xyz"),
        ("C:\\Windows\\*", "C:\\Windows*", "c:\\windows\\x"),  # `\*` is a literal star
        ("*.sh", "/tmp/X.SH", "/tmp/x.shx"),
        ("/tmp/*/x?y*", "/tmp/a/b/xzy.txt", "/tmp/xzy"),
        ("[a]*", "[A]bc", "abc"),
        ("a.c*", "A.Cx", "abcx"),
    ],
)
def test_wildcards_and_escapes(pattern: str, good: str, bad: str | None) -> None:
    compiled = rule_from({"sel": {"f": pattern}, "condition": "sel"})
    assert compiled.match({"f": good})
    assert not compiled.match({"f": bad})


def test_default_is_case_insensitive_and_cased_is_not() -> None:
    default = rule_from({"sel": {"f": "/usr/Bin/*"}, "condition": "sel"})
    cased = rule_from({"sel": {"f|cased": "/usr/Bin/*"}, "condition": "sel"})
    assert default.match({"f": "/USR/bin/x"})
    assert cased.match({"f": "/usr/Bin/x"})
    assert not cased.match({"f": "/usr/bin/x"})


def test_cased_wildcard_in_the_middle() -> None:
    cased = rule_from({"sel": {"f|cased": "A*B?"}, "condition": "sel"})
    assert cased.match({"f": "AxxBy"})
    assert not cased.match({"f": "axxBy"})


def test_missing_field_never_matches_a_value() -> None:
    compiled = rule_from({"sel": {"f|contains": ""}, "condition": "sel"})
    assert compiled.match({"f": "anything"})
    assert not compiled.match({})
    assert not compiled.match({"f": None})


def test_integers_in_views_compare_as_their_text() -> None:
    compiled = rule_from({"sel": {"uid": "0", "pid|startswith": "12"}, "condition": "sel"})
    assert compiled.match({"uid": 0, "pid": 1234})
    assert not compiled.match({"uid": 1000, "pid": 1234})


def test_or_of_one_field_is_merged_into_one_test() -> None:
    compiled = rule_from(
        {
            "sel": {"Image|endswith": ["/a", "/b"]},
            "sel2": {"Image": "/c"},
            "condition": "sel or sel2",
        }
    )
    assert isinstance(compiled.plan, FieldTest)
    assert compiled.plan.spec.keys["basename"] == frozenset({"a", "b", "c"})


def test_plan_orders_cheap_tests_first_and_cancels_double_negation() -> None:
    compiled = rule_from(
        {
            "sel": {"CommandLine|re": "x+y", "type": "EXECVE"},
            "flt": {"a": "1"},
            "condition": "sel and not not flt",
        }
    )
    plan = compiled.plan
    assert isinstance(plan, AllOf)
    assert [type(child) for child in plan.children] == [FieldTest, FieldTest, FieldTest]
    assert [child.field for child in plan.children if isinstance(child, FieldTest)][-1] == (
        "CommandLine"
    )
    assert not any(isinstance(child, Negation | AnyOf) for child in plan.children)
