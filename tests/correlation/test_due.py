"""The correlator asks a correlation's windows to close only when their `due_ms` says
something is due (it looks at every event's audit time): the same alerts, in the same order,
and the same state as asking at every step, for rising and closing correlations, late hits
and tight bounds included."""

from __future__ import annotations

import tempfile
from functools import cache
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from detect.sigma.correlation.correlator import Correlator
from detect.sigma.correlation.hit import Hit, Result
from detect.sigma.correlation.resolve import resolve
from detect.sigma.correlation.window import NEVER, Limits, Windows
from detect.sigma.load import load_detections
from tests.correlation.streams import UUIDS, rules_text

CONDITIONS = {
    "rising": ("event_count", "condition: {gte: 3}"),
    "closing": ("event_count", "condition: {lt: 2}"),
    "distinct": ("value_count", "condition: {field: host.name, gte: 2}"),
    "ordered": ("temporal_ordered", "condition: {gte: 2}"),
}


class AskedAlways(Windows):
    """Windows whose `due_ms` always says due: the correlator asks them at every step."""

    @property
    def due_ms(self) -> int:
        return -1

    @due_ms.setter
    def due_ms(self, value: int) -> None:
        pass


@cache
def resolved(name: str):  # type: ignore[no-untyped-def]
    kind, condition = CONDITIONS[name]
    rules = "a, b" if kind == "temporal_ordered" else "a"
    text = f"""\
title: {name}
id: 5b8a1f7e-2222-4c1a-9e55-000000000001
correlation:
  type: {kind}
  rules: [{rules}]
  group-by: [user]
  timespan: 5s
  {condition}
"""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "rules.yml"
        path.write_text(rules_text(text), encoding="utf-8")
        ruleset = load_detections([path], default=False)
        return resolve(ruleset.rules, ruleset.correlations)


def correlator(name: str, always: bool, limits: Limits) -> tuple[Correlator, list[Result]]:
    found = resolved(name)
    results: list[Result] = []
    made = Correlator(
        found.correlations, results.append, silent=frozenset(found.silent), limits=limits
    )
    if always:
        for windows in made.windows.values():
            windows.__class__ = AskedAlways
    return made, results


hits = st.lists(
    st.tuples(st.sampled_from("ab"), st.integers(0, 120), st.sampled_from("xyz"), st.booleans()),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(hits, st.sampled_from(sorted(CONDITIONS)), st.sampled_from([Limits(), Limits(3, 2, 4)]))
def test_asking_only_when_due_changes_nothing(steps, name, limits) -> None:
    lazy, lazy_results = correlator(name, False, limits)
    eager, eager_results = correlator(name, True, limits)
    newest = 0
    for serial, (rule, quarters, user, advance) in enumerate(steps, 1):
        time_ms = quarters * 250
        newest = max(newest, time_ms) if advance else newest
        values = {"host.name": f"h{serial % 3}", "user": user}
        for made in (lazy, eager):
            made.push(Hit(UUIDS[rule], time_ms, "h1", ("h1", serial), values.get, serial))
            if advance:
                made.advance(newest)
        assert summary(lazy_results) == summary(eager_results)
        assert lazy.held == eager.held and lazy.pending == eager.pending
    lazy.flush()
    eager.flush()
    assert summary(lazy_results) == summary(eager_results)


def summary(results: list[Result]) -> list[tuple[object, ...]]:
    return [
        (
            r.correlation.key,
            r.group,
            r.value,
            r.start_ms,
            r.end_ms,
            [h.payload for h in r.base_hits()],
        )
        for r in results
    ]


def test_due_is_when_close_until_next_has_work() -> None:
    """Rising windows are due at their first group's newest hit + timespan (when `_expire`
    drops it); closing windows at their earliest scheduled close."""
    for name, due in (("rising", 3000 + 5000), ("closing", 1000 + 5000)):
        made, _ = correlator(name, False, Limits())
        for serial, time_ms in enumerate((1000, 3000), 1):
            values = {"host.name": "h", "user": "x"}
            made.push(Hit(UUIDS["a"], time_ms, "h1", ("h1", serial), values.get, serial))
        made.advance(5000)  # releases both hits (horizon 2 s): nothing is due yet
        (windows,) = made.windows.values()
        assert windows.due_ms == due and made.held == 2
        made.advance(due + 2000)  # the limit reaches `due`: still within (inclusive)
        assert made.held == (2 if name == "rising" else 1)
        made.advance(due + 2001)
        assert made.held == (0 if name == "rising" else 1) and windows.due_ms == (
            NEVER if name == "rising" else 3000 + 5000
        )
