"""A rule's alert carries its event `Pending` (detect.core.alert): made when first asked for,
while triage handles the alert, and never for a hit triage folds past what it keeps; incidents
count and name events by their heads. Output is the same as with events made at once."""

from __future__ import annotations

import pickle

from detect.core.alert import Alert, Pending
from detect.pipeline.spill import Spill
from detect.triage.dedup import MAX_EVENTS
from detect.triage.incidents import IncidentTracker
from detect.triage.settings import TriageSettings
from detect.triage.stage import TriageStage
from tests.triage.helpers import DAY, alert, rule, scan_with_triage


class Made:
    """A `Pending` whose events are counted as they are made."""

    def __init__(self) -> None:
        self.calls = 0

    def pending(self, serial: int, time_ms: int) -> Pending:
        event = {"host": "h1", "serial": serial, "@timestamp": str(time_ms), "view": "auditd"}

        def make() -> list[dict[str, object]]:
            self.calls += 1
            return [dict(event, records=[])]

        return Pending(make, [{k: event[k] for k in ("host", "@timestamp", "serial")}])


def _lazy(made: Made, time_ms: int, serial: int, level: str = "medium") -> Alert:
    eager = alert(rule(level), time_ms, serial=serial, session="1")
    return Alert(
        eager.rule,
        time_ms,
        "h1",
        made.pending(serial, time_ms),
        ancestry=eager.ancestry,
        activity=eager.activity,
    )


def test_events_are_made_once_when_asked_for() -> None:
    made = Made()
    lazy = _lazy(made, 5, 7)
    assert lazy.heads() == [{"host": "h1", "@timestamp": "5", "serial": 7}] and made.calls == 0
    assert lazy.events[0]["records"] == [] and lazy.events is lazy.events and made.calls == 1
    assert lazy.heads() is lazy.events  # once made, the events themselves
    assert lazy.made() is lazy and made.calls == 1


def test_a_pickled_alert_carries_its_events_made() -> None:
    made = Made()
    lazy = _lazy(made, 5, 7)
    back = pickle.loads(pickle.dumps(lazy))
    assert made.calls == 1 and back.events == lazy.events and back.id == lazy.id
    spill: Spill[Alert] = Spill()
    spill.append(_lazy(made, 6, 8))
    (read,) = list(spill)
    assert made.calls == 2 and read.events[0]["serial"] == 8
    spill.close()


def test_triage_makes_the_events_it_keeps_only() -> None:
    """Of one activity's hits: the written one and the MAX_EVENTS a fold keeps are made; the
    rest, and hits below the written level, never are."""
    made = Made()
    written: list[Alert] = []
    stage = TriageStage(written.append, settings=TriageSettings(min_level="medium"))
    hits = MAX_EVENTS + 30
    for serial in range(hits):
        stage.push(_lazy(made, 10 + serial, serial))
    stage.push(_lazy(made, 100, 1000, level="low"))  # below the written level
    assert made.calls == MAX_EVENTS  # the first (written) and the next MAX_EVENTS - 1 kept
    stage.flush()
    (first, fold) = written
    assert first.events[0]["serial"] == 0 and made.calls == MAX_EVENTS
    assert fold.fold is not None and fold.fold.count == hits
    assert [e["serial"] for e in fold.events] == list(range(MAX_EVENTS))


def test_incidents_count_and_name_events_by_their_heads() -> None:
    made = Made()
    lazy_seen: list[object] = []
    eager_seen: list[object] = []
    trackers = (
        IncidentTracker(lambda i, c: lazy_seen.append((i.id, c)), {}),
        IncidentTracker(lambda i, c: eager_seen.append((i.id, c)), {}),
    )
    for serial in range(5):
        trackers[0].push(_lazy(made, 10 + serial, serial))
        trackers[1].push(alert(rule("medium"), 10 + serial, serial=serial, session="1"))
    assert made.calls == 0
    (lazy,), (eager,) = (list(t.open.values()) for t in trackers)
    assert lazy.id == eager.id and lazy.events_total == eager.events_total == 5
    assert list(lazy.members) == list(eager.members)
    assert trackers[0].by_event == trackers[1].by_event
    assert lazy_seen == eager_seen


def test_a_scan_writes_what_it_wrote_with_events_made_at_once(monkeypatch) -> None:
    """The triage capture's day: the same alerts and incidents when every event is made as
    its alert is built (as before `Pending`)."""
    import detect.matching.alert as matching_alert

    _, lazy_alerts, lazy_incidents = scan_with_triage(DAY)

    def eager(make, heads):  # type: ignore[no-untyped-def]
        return make()

    monkeypatch.setattr(matching_alert, "Pending", eager)
    _, alerts, incidents = scan_with_triage(DAY)
    assert len(alerts) > 5 and len(incidents) > 1
    assert [a.document() for a in lazy_alerts] == [a.document() for a in alerts]
    assert [(i.id, i.events_total, list(i.members)) for i in lazy_incidents] == [
        (i.id, i.events_total, list(i.members)) for i in incidents
    ]
