"""What keeps loading thousands of rules cheap: merged value tests reuse their parts' index
keys; the cyclic garbage collector is paused while rules load and restored after; value tests
compile their RE2 programs on their first call (a rule compiled from Sigma, at once); a list of
strings is one test in a rule's recipe; literals are quoted by RE2's QuoteMeta without its
wrapper."""

from __future__ import annotations

import gc

import pytest
import re2
from hypothesis import given, settings
from hypothesis import strategies as st

from detect.sigma.compile import _any, _string, build_plan
from detect.sigma.condition import FieldTest, any_of, predicate
from detect.sigma.load import collector_paused, load_rules
from detect.sigma.regex import QUOTE_META, compile_re2, escape
from detect.sigma.values import (
    ITEMS_PER_REGEX,
    Wild,
    _keys,
    merge_specs,
    string_spec,
    string_test,
)
from tests.rules.test_compiled import shape as plan_shape

TEXT = st.text(alphabet="ab/é.-_ ", min_size=0, max_size=8)
SHAPES = st.sampled_from(
    [
        lambda t: [t],
        lambda t: [t, Wild.MANY],
        lambda t: [Wild.MANY, t],
        lambda t: [Wild.MANY, t, Wild.MANY],
        lambda t: [t, Wild.ONE, t],
    ]
)


@given(st.lists(st.tuples(SHAPES, TEXT), min_size=1, max_size=6), st.booleans())
def test_merged_keys_are_the_keys_of_all_items(values, cased) -> None:
    specs = [string_spec(shape(text), cased) for shape, text in values]
    merged = merge_specs(specs)
    if merged.kind:  # one family: its keys must be what `_keys` gives for all its items
        assert dict(merged.keys) == _keys(merged.kind, merged.items)
    for spec in specs:  # never a key a part does not allow: the index stays sound
        for name, keys in merged.keys.items():
            assert spec.keys[name] <= keys


def test_collector_is_paused_while_loading_and_restored(tmp_path) -> None:
    path = tmp_path / "rule.yml"
    path.write_text(
        "title: t\nlogsource: {product: linux}\n"
        "detection:\n  selection:\n    exe: /bin/sh\n  condition: selection\n"
    )
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()  # left as it was found
    finally:
        gc.enable()
    assert load_rules([path]).rules and gc.isenabled()


def test_value_tests_compile_their_re2_programs_on_their_first_call() -> None:
    # a pattern no other test compiled: nothing of it is in the RE2 cache yet
    kind, items = string_test([Wild.MANY, "lazy-program-z", Wild.ONE, "q"], False)
    recipe = ["str", "exe", kind, list(items)]
    before = compile_re2.cache_info().misses
    plan = build_plan(recipe)
    assert isinstance(plan, FieldTest) and len(plan.spec.programs) == 1
    assert compile_re2.cache_info().misses == before  # built, not compiled
    assert predicate(plan)({"exe": "/x/LAZY-PROGRAM-Zxq"})
    assert not predicate(plan)({"exe": "/x/lazy-program-zq"})
    assert compile_re2.cache_info().misses == before + 1


def test_a_long_list_compiles_its_programs_on_first_use_and_matches() -> None:
    items = [f"item-{i}-x" for i in range(2 * ITEMS_PER_REGEX)]
    plan = merge_specs([string_spec([Wild.MANY, item, Wild.MANY], False) for item in items])
    assert len(plan.programs) == 2  # the merged list's: its parts have none (one item each)
    assert plan.test("..ITEM-2047-X..") and not plan.test("item-2048-x")


def test_a_program_re2_refuses_is_the_rule_s_error_when_compiled_from_sigma(tmp_path) -> None:
    # each wildcard alone compiles; the 256 of them as one program are too large for RE2
    values = "".join(f"      - '*{'ab' * 2500}{i}?x'\n" for i in range(256))
    (tmp_path / "large.yml").write_text(
        "title: large\nlogsource: {product: linux, service: auditd}\n"
        f"detection:\n  sel:\n    exe:\n{values}  condition: sel\n"
    )
    loaded = load_rules([tmp_path])
    assert not loaded.rules
    [error] = loaded.errors
    assert error.reason.startswith("cannot compile: RegexError: regular expression '(?si)(?:")
    assert error.reason.endswith("is not supported by RE2: pattern too large - compile failed")


@given(
    st.lists(
        st.tuples(st.sampled_from(["exe", "comm", None]), SHAPES, TEXT, st.booleans()),
        min_size=1,
        max_size=8,
    )
)
def test_string_tests_of_one_field_and_kind_are_merged_as_any_of_merges_them(values) -> None:
    leaves = [_string(field, shape(text), cased) for field, shape, text, cased in values]
    one_by_one = any_of([build_plan(leaf) for leaf in leaves])
    assert plan_shape(build_plan(_any(leaves))) == plan_shape(one_by_one)


@settings(max_examples=1000)
@given(st.text() | st.text(alphabet=st.characters(max_codepoint=0x7F)) | st.just("\ud800x"))
def test_escape_is_re2_escape(text: str) -> None:
    assert QUOTE_META is not None  # else escape() is re2.escape itself
    try:
        expected = re2.escape(text)
    except UnicodeEncodeError:
        with pytest.raises(UnicodeEncodeError):
            escape(text)
        return
    assert escape(text) == expected
