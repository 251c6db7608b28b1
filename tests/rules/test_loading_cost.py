"""What keeps loading thousands of rules cheap: merged value tests reuse their parts' index
keys, and the cyclic garbage collector is paused while rules load and restored after."""

from __future__ import annotations

import gc

from hypothesis import given
from hypothesis import strategies as st

from detect.sigma.load import collector_paused, load_rules
from detect.sigma.values import Wild, _keys, merge_specs, string_spec

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
