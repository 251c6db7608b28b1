"""Incidents (DESIGN §12): alerts grouped per host by the activity they belong to
(detect.triage.grouping), closed after a quiet gap or a maximum length of audit time, each with
a level and a score (detect.triage.score), its rules with counts, techniques and tactics, the
process tree of the processes involved, and the informational tags seen in it.

A push object: `push(alert)` (every alert, informational ones too: those only tag),
`advance(host, time_ms)`, `flush()`. Updates go to `emit(incident, change)`: `open` when an
incident's first alert arrives, `raised` when its level rises, `closed` at its end, and
`reopened` when an alert arrives late (input out of time order: files given newest first, a
host's clock stepped back) for an incident closed by then, within its quiet gap: the incident
takes it and closes again later, so the last line written for an id is its final state. State is
bounded: at most `max_open` incidents are open (the one quiet longest is closed early, and
counted), each keeps at most MAX_EVENTS member events and MAX_NODES processes (the totals are
kept). Replaying the same input gives the same incidents, with the same ids.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any, Final

from detect.core.alert import Alert, Document
from detect.triage.deadlines import Deadlines
from detect.triage.grouping import IncidentKey, incident_key, node_id
from detect.triage.levels import INFORMATIONAL, rank
from detect.triage.members import Members
from detect.triage.score import IncidentScore

DEFAULT_GAP_MS: Final = 30 * 60 * 1000
DEFAULT_MAX_MS: Final = 24 * 60 * 60 * 1000
MAX_OPEN: Final = 10_000
MAX_EVENTS: Final = 1000
MAX_NODES: Final = 500
MAX_PENDING_TAGS: Final = 10_000
MAX_RECENT: Final = 10_000  # closed incidents kept for late alerts
OPEN, RAISED, CLOSED, REOPENED = "open", "raised", "closed", "reopened"


@dataclass
class RuleEntry:
    """One rule's alerts in an incident."""

    id: str
    title: str
    level: str
    kind: str
    techniques: tuple[str, ...]
    tactics: tuple[str, ...]
    threat: dict[str, Any]
    first_ms: int
    last_ms: int
    count: int = 0


@dataclass
class Incident:
    key: IncidentKey
    id: str
    start_ms: int
    last_ms: int
    session: str | None = None
    login: str | None = None
    rules: dict[str, RuleEntry] = field(default_factory=dict)
    members: Members = field(default_factory=Members)  # the first MAX_EVENTS, packed
    events_total: int = 0
    nodes: dict[str, Document] = field(default_factory=dict)
    alerted: dict[str, set[str]] = field(default_factory=dict)  # node -> rule ids
    root: str | None = None
    users: set[str] = field(default_factory=set)
    tags: Counter[str] = field(default_factory=Counter)
    level: str = INFORMATIONAL
    score: float = 0.0
    status: str = OPEN
    # what the score reads of its rules, kept until a rule joins (detect.triage.score)
    scoring: IncidentScore = field(default_factory=IncidentScore, compare=False, repr=False)

    @property
    def host(self) -> str | None:
        return self.key[0]

    @property
    def events(self) -> list[Document]:
        """The member events (the first MAX_EVENTS): host, serial and @timestamp of each."""
        return self.members.documents()

    @property
    def alerts(self) -> int:
        return sum(entry.count for entry in self.rules.values())


@dataclass
class IncidentStats:
    opened: int = 0
    closed: int = 0
    reopened: int = 0
    closed_early: int = 0  # closed because `max_open` incidents were open
    alerts: int = 0
    tags: int = 0

    def to_dict(self) -> dict[str, int]:
        """The counts by name, in field order (a compiled instance has no `__dict__`)."""
        return {item.name: getattr(self, item.name) for item in fields(self)}


def incident_id(key: IncidentKey, start_ms: int, first: Alert) -> str:
    heads = first.heads()
    event = heads[0] if heads else {}
    text = "|".join((*map(str, key), str(start_ms), str(event.get("serial", ""))))
    return hashlib.sha1(text.encode("utf-8", "surrogateescape")).hexdigest()[:16]


class IncidentTracker:
    def __init__(
        self,
        emit: Callable[[Incident, str], object],
        tactic_order: dict[str, int],
        gap_ms: int = DEFAULT_GAP_MS,
        max_ms: int = DEFAULT_MAX_MS,
        max_open: int = MAX_OPEN,
        earliest: dict[str | None, int] | None = None,
    ) -> None:
        """`earliest`: kept at or below each host's earliest incident deadline (`Deadlines`)."""
        self.emit = emit
        self.tactic_order = tactic_order
        self.gap_ms, self.max_ms, self.max_open = gap_ms, max_ms, max_open
        self.open: dict[IncidentKey, Incident] = {}
        # host -> serial -> the open incident a member event of that serial belongs to
        self.by_event: dict[Any, dict[Any, IncidentKey]] = {}
        self.pending_tags: dict[IncidentKey, Counter[str]] = {}
        self.recent: dict[IncidentKey, Incident] = {}  # closed, newest last
        self.deadlines: Deadlines[IncidentKey] = Deadlines(earliest=earliest)
        self.stats = IncidentStats()

    # --- alerts in ---

    def push(self, alert: Alert) -> None:
        if alert.rule.level == INFORMATIONAL:
            self._tag(alert)
            return
        key = self._key_of(alert)
        incident = self.open.get(key)
        if incident is not None and self._ended(incident, alert.time_ms):
            self._close(incident)
            incident = None
        if incident is None:
            incident = self._reopen(key, alert) or self._open(key, alert)
        before = incident.level
        self._add(incident, alert)
        self.stats.alerts += 1
        if incident.status == OPEN and incident.alerts == 1:
            self.emit(incident, OPEN)
        elif rank(incident.level) > rank(before):
            self.emit(incident, RAISED)

    def _key_of(self, alert: Alert) -> IncidentKey:
        """A correlation alert joins the open incident of its latest contributing event."""
        if alert.correlation is None:
            return incident_key(alert)
        for event in reversed(alert.events):
            found = self.by_event.get(event.get("host"), {}).get(event.get("serial", -1))
            if found is not None and found in self.open:
                return found
        group = ",".join(f"{k}={v}" for k, v in sorted(alert.correlation.get("group", {}).items()))
        return (alert.host, "correlation", alert.rule.id, group, "")

    def _reopen(self, key: IncidentKey, alert: Alert) -> Incident | None:
        """The closed incident of `key` when `alert` falls within its quiet gap."""
        incident = self.recent.get(key)
        if incident is None:
            return None
        if not incident.start_ms - self.gap_ms <= alert.time_ms <= incident.last_ms + self.gap_ms:
            return None
        del self.recent[key]
        incident.status = OPEN
        self.open[key] = incident
        self.stats.reopened += 1
        self.emit(incident, REOPENED)
        return incident

    def _tag(self, alert: Alert) -> None:
        self.stats.tags += 1
        key = incident_key(alert)
        incident = self.open.get(key)
        if incident is not None and not self._ended(incident, alert.time_ms):
            incident.tags[alert.rule.title] += 1
            return
        pending = self.pending_tags.get(key)
        if pending is None:
            if len(self.pending_tags) >= MAX_PENDING_TAGS:
                self.pending_tags.pop(next(iter(self.pending_tags)))
            pending = self.pending_tags[key] = Counter()
        pending[alert.rule.title] += 1

    def _open(self, key: IncidentKey, alert: Alert) -> Incident:
        if len(self.open) >= self.max_open:
            oldest = min(self.open.values(), key=lambda i: (i.last_ms, i.id))
            self.stats.closed_early += 1
            self._close(oldest)
        incident = Incident(
            key, incident_id(key, alert.time_ms, alert), alert.time_ms, alert.time_ms
        )
        incident.session, incident.login = alert.activity.session, alert.activity.login
        incident.tags.update(self.pending_tags.pop(key, Counter()))
        self.open[key] = incident
        self.stats.opened += 1
        return incident

    def _add(self, incident: Incident, alert: Alert) -> None:
        rule = alert.rule
        entry = incident.rules.get(rule.id)
        if entry is None:
            threat = dict(rule.fields.get("threat", {}))
            entry = incident.rules[rule.id] = RuleEntry(
                rule.id, rule.title, rule.level, rule.kind, rule.techniques, rule.tactics,
                threat, alert.time_ms, alert.time_ms,
            )  # fmt: skip
        entry.count += 1
        entry.last_ms = max(entry.last_ms, alert.time_ms)
        incident.last_ms = max(incident.last_ms, alert.time_ms)
        for event in alert.heads():  # the alert's events need not be made for this
            incident.events_total += 1
            if len(incident.members) < MAX_EVENTS:
                host, serial = event.get("host"), event.get("serial")
                incident.members.append((host, serial, event.get("@timestamp")))
                by_serial = self.by_event.setdefault(host, {})
                by_serial[event.get("serial", -1)] = incident.key
        if alert.activity.user:
            incident.users.add(alert.activity.user)
        self._add_tree(incident, alert)
        entries = list(incident.rules.values())
        incident.score, incident.level = incident.scoring.update(entries, self.tactic_order)
        self._schedule(incident)

    def _add_tree(self, incident: Incident, alert: Alert) -> None:
        chain = alert.ancestry or []
        parent: str | None = None
        for process in chain:
            node = node_id(process)
            if node not in incident.nodes and len(incident.nodes) < MAX_NODES:
                incident.nodes[node] = {**process, "parent": parent}
            parent = node
        if chain:
            leaf = node_id(chain[-1])
            incident.alerted.setdefault(leaf, set()).add(alert.rule.id)
            if incident.root is None:
                incident.root = node_id(chain[0])

    # --- time ---

    def _ended(self, incident: Incident, time_ms: int) -> bool:
        return time_ms > incident.last_ms + self.gap_ms or time_ms > incident.start_ms + self.max_ms

    def _schedule(self, incident: Incident) -> None:
        deadline = min(incident.last_ms + self.gap_ms, incident.start_ms + self.max_ms)
        self.deadlines.add(incident.host, deadline, incident.key)

    def advance(self, host: str | None, time_ms: int) -> None:
        """The host's audit time reached `time_ms`: close the incidents that ended before."""
        for _, key in self.deadlines.expired(host, time_ms):
            incident = self.open.get(key)
            if incident is not None and self._ended(incident, time_ms):
                self._close(incident)

    def flush(self) -> None:
        for incident in sorted(self.open.values(), key=lambda i: (i.start_ms, i.id)):
            self._close(incident)
        self.deadlines.clear()

    def _close(self, incident: Incident) -> None:
        if self.open.get(incident.key) is not incident:
            return
        del self.open[incident.key]
        for host, serial, _ in incident.members:
            by_serial = self.by_event.get(host)
            if by_serial is not None:
                by_serial.pop(serial, None)
                if not by_serial:
                    del self.by_event[host]
        incident.status = CLOSED
        self.stats.closed += 1
        self.recent.pop(incident.key, None)
        self.recent[incident.key] = incident
        if len(self.recent) > MAX_RECENT:
            self.recent.pop(next(iter(self.recent)))
        self.emit(incident, CLOSED)
