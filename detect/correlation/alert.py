"""Correlation alerts: the correlation's rule part, what it measured over which window and
group, and the contributing events.

`correlation`: type, group values (by group-by name), window start and end (the times of its
first and last contributing events), timespan, condition, measured value, the referenced
rules, and the hosts when its events come from more than one. `detect.events`: the
contributing base-rule events in time order, each with the view and rule that matched it; only
the first MAX_EVENTS when there are more, with `detect.events_total` always the full count.
The text writer shows the first event.
"""

from __future__ import annotations

from typing import Any

from detect.attack.catalog import Catalog
from detect.core.alert import Alert, Document, RuleInfo
from detect.core.timefmt import iso_ms
from detect.correlation.contribution import Contribution
from detect.matching.alert import event_document, rule_info
from detect.sigma.correlation.hit import Result
from detect.sigma.correlation.model import Correlation

MAX_EVENTS = 20


class CorrelationAlertBuilder:
    """Builds the alert of a correlation result; the per-correlation part is computed once."""

    def __init__(self, catalog: Catalog | None = None, max_events: int = MAX_EVENTS) -> None:
        self.catalog = catalog
        self.max_events = max_events
        self._parts: dict[int, RuleInfo] = {}

    def __call__(self, result: Result) -> Alert:
        hits = list(result.base_hits())
        return Alert(
            self.rule_part(result.correlation),
            result.end_ms,
            result.host or None,
            [_event(hit.payload) for hit in hits[: self.max_events]],
            correlation=correlation_fields(result),
            events_total=len(hits),
        )

    def rule_part(self, correlation: Correlation) -> RuleInfo:
        part = self._parts.get(id(correlation))
        if part is None:
            key = correlation.id or correlation.key
            part = self._parts[id(correlation)] = rule_info(
                key, key, correlation, self.catalog, "correlation"
            )
        return part


def correlation_fields(result: Result) -> dict[str, Any]:
    correlation = result.correlation
    out: dict[str, Any] = {
        "type": correlation.type,
        "group": result.group,
        "window": {
            "start": iso_ms(result.start_ms),
            "end": iso_ms(result.end_ms),
            "timespan_ms": correlation.timespan_ms,
        },
        "value": result.value,
        "condition": correlation.condition.to_dict(),
        "rules": list(correlation.inputs),
    }
    if correlation.fields:
        out["field"] = list(correlation.fields)
    hosts = {hit.host or "" for hit in result.base_hits()}
    if len(hosts) > 1:  # a correlation that groups across hosts joined several
        out["hosts"] = sorted(hosts)
    return out


def _event(payload: object) -> Document:
    if not isinstance(payload, Contribution):
        return {"detail": repr(payload)}
    detected = event_document(payload.event, payload.view)
    detected["rule"] = {"id": payload.rule.id, "name": payload.rule.title}
    return detected
