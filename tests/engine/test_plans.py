"""The record plans' fast path (`RecordPass.candidates`: fields read where they come from, no
view built, no list made for a record that reaches nothing) agrees with the slow path, the
index asked of the record's whole view; and the category fast path (`categories_of`, shared
results) with the views the events offer."""

from __future__ import annotations

from pathlib import Path

import pytest

from detect.matching.engine import Engine, _probe_candidates
from detect.matching.plans import RecordPass
from detect.sigma.load import load_detections
from detect.views.category import (
    CategoryProbe,
    categories_of,
    category_views,
    event_categories,
)
from detect.views.record import record_view, syscall_view
from tests.capture_events import ALL_CAPTURES, capture_events_at

SIGMA = Path(__file__).resolve().parents[3] / "shared" / "sigma" / "rules" / "linux"


def _engine() -> Engine:
    rules = load_detections([str(SIGMA)] if SIGMA.is_dir() else [], default=True)
    return Engine(rules.rules, tree=None)


@pytest.mark.parametrize("capture", ALL_CAPTURES)
def test_plans_give_the_candidates_of_the_whole_view(capture: str) -> None:
    engine = _engine()
    for event in capture_events_at(capture):
        syscall = syscall_view(event)
        records = RecordPass(event, syscall)
        context = None if syscall is None else syscall.context()
        for record in event.records:
            plans = engine._plans_for(record.type, syscall is not None)
            argv = records.view(record)._argv
            whole = record_view(record, context, argv)
            for plan in plans:
                fast = list(records.candidates(plan, record))
                assert fast == list(plan.index.candidates(whole)), (capture, record)


@pytest.mark.parametrize("capture", ALL_CAPTURES)
def test_shared_categories_are_those_of_the_views(capture: str) -> None:
    for event in capture_events_at(capture):
        offered = categories_of(event, event.first("SYSCALL"))
        assert offered == event_categories(event)
        assert list(offered) == list(category_views(event))


@pytest.mark.parametrize("capture", ALL_CAPTURES)
def test_probe_candidates_are_the_index_candidates_of_the_view(capture: str) -> None:
    engine = _engine()
    for event in capture_events_at(capture):
        syscall = event.first("SYSCALL")
        for name, kinds in categories_of(event, syscall).items():
            index = engine.category_indexes.get(name)
            if index is None:
                continue
            fast = _probe_candidates(index, CategoryProbe(event, name, kinds, syscall))
            assert list(fast) == list(index.candidates(category_views(event)[name]))
