"""The alert: what matching and correlation produce and what triage and the outputs consume.

A plain object with slots inside the pipeline (thousands per second must cost little); its
document (`document()`) is the ECS JSON object the writers serialise (the ECS top level from
detect.core.ecs, a deterministic `event.id` from `alert_id`, `detect.*` for the rest), and the
pydantic model `AlertDocument` (detect.outputs.document) checks that shape at the edges where
alerts are read back. `RuleInfo` is the part of every alert that depends only on the rule (or
correlation) that raised it, computed once per rule.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from hashlib import blake2b
from typing import Any

from detect.core import ecs
from detect.core.timefmt import iso_ms

Document = dict[str, Any]
# ECS event.severity of each Sigma level
SEVERITY = {"informational": 1, "low": 21, "medium": 47, "high": 73, "critical": 99}


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """What an alert says of its rule: ids and level for people and counters, `fields` for the
    document (`event`, `rule`, `tags`, `threat`, `detect.level` and `detect.rule_source`)."""

    id: str
    title: str
    level: str
    source: str
    techniques: tuple[str, ...]  # sub-techniques, and the techniques named without one
    fields: Mapping[str, Any]
    tactics: tuple[str, ...] = ()  # tactic ids (TA0002…), in the rule's order
    kind: str = "rule"  # "rule", "chain" (a rule with a process-tree `chain:`), "correlation"

    @property
    def label(self) -> str:
        """`title (id)`: how summaries name the rule."""
        return f"{self.title} ({self.id})"


@dataclass(frozen=True, slots=True)
class Activity:
    """What an alert's event was part of, as triage groups alerts (detect.triage): the audit
    login session and login uid (None when the login uid is unset: a daemon, not a login), the
    process (by its executable and command line) and its parent's executable, and its user."""

    session: str | None
    login: str | None
    user: str | None
    executable: str | None
    command_line: str | None
    parent_executable: str | None


NO_ACTIVITY = Activity(None, None, None, None, None, None)  # a correlation's: many events


@dataclass(frozen=True, slots=True)
class Fold:
    """The repeats a deduplicated alert stands for (detect.triage.dedup): how many alerts of
    the same rule, host and activity, from the first to the last."""

    count: int
    first_ms: int
    last_ms: int


@dataclass(frozen=True, slots=True)
class Pending:
    """The events of an alert, made when first asked for (by `make`); `heads`, what identifies
    each (`host`, `@timestamp`, `serial`, as the made event has them). A rule's alert carries
    its event exported in full, and most hits of a busy rule are folded by triage past the
    events a group keeps (20): theirs are never made; incidents keep their heads. Made while
    the alert is handled (triage, writing, spilling), never later (`Alert.made`)."""

    make: Callable[[], list[Document]]
    heads: list[Document]


class Alert:
    """One alert: its rule, its audit time, its host, and the events it stands for (each an
    exported event with the view that matched it; or `Pending`, made on first use); the
    process ancestry of a rule match, the measured window of a correlation."""

    __slots__ = (
        "_ecs",
        "_events",
        "_id",
        "activity",
        "ancestry",
        "correlation",
        "events_total",
        "fold",
        "host",
        "rule",
        "time_ms",
    )

    def __init__(
        self,
        rule: RuleInfo,
        time_ms: int,
        host: str | None,
        events: list[Document] | Pending,
        *,
        ancestry: list[Document] | None = None,
        correlation: Document | None = None,
        events_total: int | None = None,
        activity: Activity = NO_ACTIVITY,
        fold: Fold | None = None,
    ) -> None:
        self.rule = rule
        self.time_ms = time_ms
        self.host = host
        self._events = events
        self.ancestry = ancestry
        self.correlation = correlation
        self.events_total = events_total
        self.activity = activity
        self.fold = fold
        self._id: str | None = None
        self._ecs: Document | None = None

    @property
    def events(self) -> list[Document]:
        found = self._events
        if isinstance(found, Pending):
            found = self._events = found.make()
        return found

    def heads(self) -> list[Document]:
        """The events, or, not made yet, what identifies each: `host`, `@timestamp`, `serial`
        (enough for what counts and names them: incidents)."""
        found = self._events
        return found.heads if isinstance(found, Pending) else found

    def made(self) -> Alert:
        """The alert with its events made: what leaves the pipeline's thread must not make
        them later, from an audit event the pipeline went on with (its process's tree)."""
        found = self._events
        if isinstance(found, Pending):
            self._events = found.make()
        return self

    def __getstate__(self) -> tuple[None, dict[str, Any]]:
        """Pickled with its events made (a `Pending` holds the audit event, not data)."""
        self.made()
        return None, {name: getattr(self, name) for name in self.__slots__}

    @property
    def id(self) -> str:
        """The document's `event.id`: the same for the same alert in `scan` and `stream`
        (see `alert_id`), so a receiver can drop what at-least-once delivery sends twice."""
        found = self._id
        if found is None:
            found = self._id = alert_id(self)
        return found

    @property
    def timestamp(self) -> str:
        return iso_ms(self.time_ms)

    @property
    def level(self) -> str:
        return self.rule.level

    @property
    def ecs(self) -> Document:
        """The ECS fields of the alert's events (detect.core.ecs), computed once."""
        found = self._ecs
        if found is None:
            found = self._ecs = ecs.alert_fields(self.events, self.ancestry, self.events_total)
        return found

    def document(self) -> Document:
        """The alert as the JSON object the writers send (keys in this order): the ECS top
        level (`ecs`, `host`, `agent`, `event`, `rule`, `tags`, `threat`, then the events'
        `process`, `user`, `file`, endpoints), then `detect.*` and `correlation`."""
        out: Document = {"@timestamp": self.timestamp, "ecs": {"version": ecs.ECS_VERSION}}
        if self.host:
            out["host"] = {"name": self.host}
        out["agent"] = dict(ecs.agent())
        out.update(self.rule.fields)
        fields = self.ecs
        out["event"] = {**self.rule.fields["event"], **fields.get("event", {}), "id": self.id}
        out.update((name, part) for name, part in fields.items() if name != "event")
        detected: Document = {**self.rule.fields["detect"], "events": self.events}
        if self.events_total is not None:
            detected["events_total"] = self.events_total
        if self.ancestry is not None:
            detected["ancestry"] = self.ancestry
        if self.fold is not None:
            detected["count"] = self.fold.count
            detected["first"] = iso_ms(self.fold.first_ms)
            detected["last"] = iso_ms(self.fold.last_ms)
        out["detect"] = detected
        if self.correlation is not None:
            out["correlation"] = self.correlation
        return out

    def __repr__(self) -> str:
        return f"Alert({self.rule.label} {self.timestamp} {self.host or '-'})"


def alert_id(alert: Alert) -> str:
    """A deterministic id (32 hex digits, BLAKE2b of 16 bytes) of what identifies an alert: its
    host and rule id, and for a rule's alert the key of its (first) event (node, audit time,
    serial; a late fragment of an event apart), for a correlation its group and window. A fold
    update (detect.triage.dedup) is derived from its first event's alert, marked apart: it is a
    second document beside that alert, not a copy of it."""
    identity: list[Any] = [alert.host, alert.rule.id]
    if alert.correlation is not None:
        window = alert.correlation.get("window", {})
        group = alert.correlation.get("group")
        identity += ["correlation", group, window.get("start"), window.get("end")]
    elif alert.events:
        first = alert.events[0]
        identity += ["event", first.get("host"), first.get("@timestamp"), first.get("serial")]
        if first.get("detect", {}).get("completion") == "late":
            identity.append("late")
    else:
        identity += ["time", alert.time_ms]
    if alert.fold is not None:
        identity.append("fold")
    # ASCII JSON: text with non-UTF-8 bytes (surrogate escapes) encodes as well as any other
    text = json.dumps(identity, sort_keys=True, separators=(",", ":"), default=repr)
    return blake2b(text.encode("ascii"), digest_size=16).hexdigest()
