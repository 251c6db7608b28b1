"""What triage hands across a spill or a process boundary pickles and comes back equal, compiled
or not (detect/core/native.py): a closed incident with its score, the settings, the counts."""

from __future__ import annotations

import pickle
from typing import TypeVar

from detect.triage.dedup import DedupStats
from detect.triage.incidents import CLOSED, Incident, IncidentStats, IncidentTracker
from detect.triage.settings import TriageSettings
from tests.triage.helpers import alert, rule

T = TypeVar("T")


def copied(item: T) -> T:
    copy: T = pickle.loads(pickle.dumps(item, pickle.HIGHEST_PROTOCOL))
    return copy


def test_a_closed_incident_comes_back_equal_and_goes_on_scoring() -> None:
    closed: list[Incident] = []
    tracker = IncidentTracker(lambda i, c: closed.append(i) if c == CLOSED else None, {})
    for serial, info in enumerate((rule("high", "r1"), rule("medium", "r2")) * 40):
        tracker.push(alert(info, 1000 + serial, serial=serial, session="7"))
    tracker.flush()
    [incident] = closed
    copy = copied(incident)
    assert copy == incident
    assert list(copy.members) == list(incident.members)  # packed chunks and the tail
    entries = list(copy.rules.values())
    assert copy.scoring.update(entries, {}) == incident.scoring.update(entries, {})


def test_the_settings_and_the_counts_come_back_equal() -> None:
    settings = TriageSettings(min_level="high", dedup_window_ms=0)
    stats = IncidentStats(opened=2, closed=1, tags=3)
    assert copied(settings) == settings
    assert copied(stats).to_dict() == stats.to_dict()
    assert copied(DedupStats(folded=4, updates=1)) == DedupStats(folded=4, updates=1)
