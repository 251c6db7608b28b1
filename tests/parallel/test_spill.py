"""A host's alerts wait for the merge on disk (detect.pipeline.spill): read back in order, the
rule part shared and pickled once, and the same items after crossing a process boundary."""

from __future__ import annotations

import pickle

import pytest

from detect.core.alert import Alert, RuleInfo
from detect.pipeline.spill import Spill


def rule(name: str) -> RuleInfo:
    return RuleInfo(name, f"title {name}", "low", "x.yml", ("T1003",), {"rule": {"id": name}})


def test_items_come_back_in_order_with_one_rule_object() -> None:
    first, second = rule("a"), rule("b")
    spill: Spill[Alert] = Spill(shared=(RuleInfo,))
    for n in range(50):
        spill.append(Alert(first if n % 2 else second, n, "h1", [{"serial": n}]))
    back = list(spill)
    assert len(spill) == 50 and [a.time_ms for a in back] == list(range(50))
    assert [a.events for a in back] == [[{"serial": n}] for n in range(50)]
    assert all(a.rule is (first if a.time_ms % 2 else second) for a in back)
    spill.append(Alert(first, 50, "h1", []))  # appending after reading, then reading again
    assert [a.time_ms for a in spill] == list(range(51))
    spill.close()


def test_a_snapshot_of_each_item_as_appended() -> None:
    spill: Spill[dict[str, list[int]]] = Spill()
    item: dict[str, list[int]] = {"seen": [1]}
    spill.append(item)
    item["seen"].append(2)  # what changes later is not what was spilled
    spill.append(item)
    assert list(spill) == [{"seen": [1]}, {"seen": [1, 2]}]


def test_crosses_processes_as_bytes() -> None:
    spill: Spill[Alert] = Spill(shared=(RuleInfo,))
    for n in range(3):
        spill.append(Alert(rule("a"), n, None, []))
    again: Spill[Alert] = pickle.loads(pickle.dumps(spill))
    assert len(again) == 3
    assert [(a.time_ms, a.rule) for a in again] == [(n, rule("a")) for n in range(3)]
    again.append(Alert(rule("b"), 3, None, []))
    assert [a.rule.id for a in again] == ["a", "a", "a", "b"]


def test_appends_after_reading_and_after_crossing_go_to_the_end() -> None:
    spill: Spill[int] = Spill()
    spill.append(1)
    assert next(iter(spill)) == 1  # a read stopped after the first item
    spill.append(2)
    again: Spill[int] = pickle.loads(pickle.dumps(spill))
    again.append(3)
    assert list(spill) == [1, 2] and list(again) == [1, 2, 3]


def test_a_shared_object_outside_its_spill_is_an_error() -> None:
    spill: Spill[Alert] = Spill(shared=(RuleInfo,))
    spill.append(Alert(rule("a"), 0, None, []))
    data = spill.__getstate__()["data"]
    with pytest.raises(pickle.UnpicklingError, match="outside its spill"):
        pickle.loads(data)
