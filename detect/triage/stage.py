"""The triage stage (DESIGN §12), between matching/correlation and the outputs: every hit
counts by level; informational hits tag incidents and are never written as alerts; hits below
`min_level` count and join incidents but are not written; the others are deduplicated
(detect.triage.dedup) and written; every non-informational hit joins an incident
(detect.triage.incidents), whose updates go to the incident sink.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from detect.attack.catalog import Catalog, load_catalog
from detect.core.alert import Alert
from detect.triage.dedup import Deduplicator
from detect.triage.incidents import CLOSED, REOPENED, Incident, IncidentTracker
from detect.triage.levels import INFORMATIONAL, LEVELS, at_least
from detect.triage.settings import TriageSettings

IncidentSink = Callable[[Incident, str], object]


def tactic_order(catalog: Catalog | None = None) -> dict[str, int]:
    """Tactic id -> its column in the ATT&CK matrix (the kill-chain order)."""
    tactics = (catalog or load_catalog()).tactics
    return {tactic.id: index for index, tactic in enumerate(tactics)}


def _discard(incident: Incident, change: str) -> None:
    return None


class TriageStage:
    def __init__(
        self,
        write: Callable[[Alert], object],
        incidents: IncidentSink | None = None,
        settings: TriageSettings | None = None,
        catalog: Catalog | None = None,
    ) -> None:
        self.settings = settings = settings or TriageSettings()
        self.write = write
        # per host: at most the earliest deadline of its windows and incidents, absent when it
        # has none: the scan looks it up for every event, and calls `advance` once it passed
        self.earliest: dict[str | None, int] = {}
        self.dedup = Deduplicator(self._written, settings.dedup_window_ms, earliest=self.earliest)
        self.sink = incidents or _discard
        self.incidents = IncidentTracker(
            self._incident,
            tactic_order(catalog),
            settings.incident_gap_ms,
            settings.incident_max_ms,
            settings.max_open_incidents,
            earliest=self.earliest,
        )
        self.hits = Counter[str]()  # by level
        self.written = Counter[str]()  # by level
        self.tags = Counter[str]()  # informational hits, by rule label
        self.closed = Counter[str]()  # incidents, by level

    def push(self, alert: Alert) -> None:
        level = alert.rule.level
        self.hits[level] += 1
        self.incidents.push(alert)
        if level == INFORMATIONAL:
            self.tags[alert.rule.label] += 1
        elif at_least(level, self.settings.min_level):
            self.dedup.push(alert)

    def _incident(self, incident: Incident, change: str) -> None:
        if change == CLOSED:
            self.closed[incident.level] += 1
        elif change == REOPENED:  # it will close again
            self.closed[incident.level] -= 1
        self.sink(incident, change)

    def _written(self, alert: Alert) -> None:
        self.written[alert.rule.level] += 1
        self.write(alert.made())

    def advance(self, host: str | None, time_ms: int) -> None:
        """The host's audit time reached `time_ms`."""
        self.dedup.advance(host, time_ms)
        self.incidents.advance(host, time_ms)
        tops = [self.dedup.deadlines.top(host), self.incidents.deadlines.top(host)]
        left = [top for top in tops if top is not None]
        if left:
            self.earliest[host] = min(left)
        else:
            self.earliest.pop(host, None)

    def advance_all(self, time_ms: int) -> None:
        """Audit time reached `time_ms` everywhere (a live source's clock moved on)."""
        for host in {*self.dedup.deadlines.hosts(), *self.incidents.deadlines.hosts()}:
            self.advance(host, time_ms)

    def flush(self) -> None:
        self.dedup.flush()
        self.incidents.flush()
        self.earliest.clear()

    @property
    def alerts_written(self) -> int:
        return sum(self.written.values())

    def summary(self) -> dict[str, Any]:
        incidents = self.incidents.stats
        return {
            "min_level": self.settings.min_level,
            "hits_by_level": {level: self.hits[level] for level in LEVELS if self.hits[level]},
            "written_by_level": {
                level: self.written[level] for level in LEVELS if self.written[level]
            },
            "deduplicated": self.dedup.stats.to_dict(),
            "incidents": {
                **incidents.to_dict(),
                "by_level": {level: self.closed[level] for level in LEVELS if self.closed[level]},
            },
            "tags_by_rule": dict(self.tags.most_common()),
        }
