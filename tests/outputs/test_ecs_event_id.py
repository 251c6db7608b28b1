"""`event.id` (detect.core.alert.alert_id): what makes two alerts the same alert, and what
keeps apart the documents that must stay apart (a late fragment, a fold update, another host,
another correlation group or window)."""

from __future__ import annotations

from typing import Any

from detect.core.alert import Alert, Fold, RuleInfo

RULE = RuleInfo("r1", "Rule", "medium", "r.yml", (), {"event": {"kind": "alert"}, "detect": {}})
OTHER = RuleInfo("r2", "Other", "medium", "r.yml", (), RULE.fields)


def event(serial: int = 7, completion: str = "eoe", host: str | None = "h1") -> dict[str, Any]:
    stamp = "2026-01-01T00:00:00.123Z"
    return {
        "host": host,
        "@timestamp": stamp,
        "serial": serial,
        "detect": {"completion": completion},
    }


def alert(*events: dict[str, Any], rule: RuleInfo = RULE, **kwargs: Any) -> Alert:
    host = kwargs.pop("host", "h1")
    return Alert(rule, 1_767_225_600_123, host, list(events), **kwargs)


def correlation(group: dict[str, Any], end: str = "2026-01-01T00:01:00.000Z") -> dict[str, Any]:
    return {"type": "event_count", "group": group, "window": {"start": "s", "end": end}}


def test_the_same_alert_has_the_same_id_whatever_else_it_carries() -> None:
    first = alert(event())
    again = alert({**event(), "records": ["other text"], "view": "x"}, ancestry=[{"pid": 1}])
    assert first.id == again.id == first.document()["event"]["id"]
    assert len(first.id) == 32 and int(first.id, 16) >= 0


def test_host_rule_event_and_a_late_fragment_make_another_id() -> None:
    ids = {
        alert(event()).id,
        alert(event(), host="h2").id,
        alert(event(), rule=OTHER).id,
        alert(event(serial=8)).id,
        alert(event(completion="late")).id,
        alert(event(), fold=Fold(3, 0, 1), events_total=3).id,
    }
    assert len(ids) == 6
    assert alert(event(completion="expired")).id == alert(event(completion="flushed")).id


def test_a_correlation_is_named_by_its_group_and_window_not_its_events() -> None:
    one = alert(event(), correlation=correlation({"user": "bob"}))
    assert one.id == alert(event(serial=9), correlation=correlation({"user": "bob"})).id
    assert one.id != alert(event(), correlation=correlation({"user": "eve"})).id
    assert one.id != alert(event(), correlation=correlation({"user": "bob"}, end="later")).id


def test_text_with_non_utf8_bytes_has_an_id() -> None:
    group = {"exe": "/tmp/\udcff"}  # a surrogate escape, as audit fields keep invalid UTF-8
    assert len(alert(event(), correlation=correlation(group)).id) == 32
