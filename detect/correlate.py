"""Where correlations meet the views: engine matches become hits, with their fields.

A correlation reads group-by fields (and the measured `field`) from the view its base rule
matched on: a record-view rule (`service: auditd`) reads the record that matched (then the
event's other records) by raw audit names (`auid`, `exe`, `name`…); a category rule reads its
category view by Sigma names, mapped through the same pySigma field mapping as the rules
(`User` -> `user.name`), or by the view's own names. `host.name` (also `host`, `ComputerName`)
is the event's node. Process-tree fields come with the views once the tree has observed the
event (the engine does that before evaluating).

`CorrelationStage` is what a scan holds: it resolves the ruleset's correlations, turns matches
into hits, moves audit time on, and tells which matches alert on their own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from detect.auditd.categories import category_views
from detect.auditd.event import AuditEvent
from detect.auditd.reassemble import Reassembler
from detect.auditd.views import View, record_views
from detect.engine import RECORD_VIEW, Match
from detect.rules.correlation.correlator import HORIZON_MS, Correlator
from detect.rules.correlation.hit import FieldGetter, Hit, Result
from detect.rules.correlation.resolve import Resolved, resolve, rule_key
from detect.rules.correlation.window import Limits, Windows
from detect.rules.model import Rule, RuleSet
from detect.rules.pipeline import field_mapping

HOST_FIELDS = frozenset(("host.name", "host", "ComputerName", "Computer"))
LINUX = "linux"


def field_getter(match: Match) -> FieldGetter:
    """Reads a field of the view `match` was found on (see the module's doc)."""
    event = match.event
    if match.view == RECORD_VIEW:
        return _record_getter(match.rule, event)
    mapping = field_mapping(LINUX, match.view)
    view = category_views(event).get(match.view, {})

    def get(name: str) -> object:
        if name in HOST_FIELDS:
            return event.node
        value = view.get(mapping.get(name, name))
        return view.get(name) if value is None else value

    return get


def _record_getter(rule: Rule, event: AuditEvent) -> FieldGetter:
    views = record_views(event)
    ordered: list[View] | None = None

    def get(name: str) -> object:
        nonlocal ordered
        if name in HOST_FIELDS:
            return event.node
        if ordered is None:  # the records the rule matched first, then the others
            matched = [view for view in views if rule.match(view)]
            ordered = matched + [view for view in views if not any(v is view for v in matched)]
        for view in ordered:
            value = view.get(name)
            if value is not None:
                return value
        return None

    return get


def hit_of(key: str, match: Match) -> Hit:
    """The hit of `match` for the correlations over rule `key` (`rule_key` of its rule)."""
    event = match.event
    return Hit(
        key, event.time_ms, event.node, (event.node or "", event.serial), field_getter(match), match
    )


def inflight_floor(machine: Reassembler | None) -> int | None:
    """The audit time of the oldest event the reassembler still holds (it can still emit
    events that old); None when it holds none."""
    return None if machine is None else machine.oldest_inflight_ms()


class CorrelationStage:
    """The correlations of a ruleset, fed by engine matches."""

    def __init__(
        self,
        ruleset: RuleSet,
        emit: Callable[[Result], object],
        *,
        horizon_ms: int = HORIZON_MS,
        limits: Limits | None = None,
        reuse: dict[str, Windows] | None = None,
    ) -> None:
        self.resolved: Resolved = resolve(ruleset.rules, ruleset.correlations)
        self.correlator = Correlator(
            self.resolved.correlations,
            emit,
            silent=frozenset(self.resolved.silent),
            horizon_ms=horizon_ms,
            limits=limits,
            reuse=reuse,
        )
        self.machine: Reassembler | None = None
        self._newest = -1

    def __bool__(self) -> bool:
        return bool(self.resolved.correlations)

    def alerting(self, matches: Sequence[Match], event: AuditEvent) -> list[Match]:
        """Feed the matches to the correlations; return those that alert on their own."""
        correlator = self.correlator
        own: list[Match] = []
        for match in matches:
            key = rule_key(match.rule.id, match.rule.name)
            if correlator.wants(key):
                correlator.push(hit_of(key, match))
            if key not in correlator.silent:
                own.append(match)
        self.observe(self._audit_time(event))
        return own

    def _audit_time(self, event: AuditEvent) -> int:
        """The event's time, or its node's audit time when reassembly holds the node's clock
        back from it (one bogus timestamp far ahead): no window may close early for it."""
        time_ms = event.time_ms
        if self.machine is not None:
            confirmed = self.machine.audit_time(event.node)
            if 0 <= confirmed < time_ms:
                return confirmed
        return time_ms

    def observe(self, time_ms: int) -> None:
        """An event of audit time `time_ms` was seen."""
        if time_ms > self._newest:
            self._newest = time_ms
        correlator = self.correlator
        if correlator.pending or correlator.held:
            limit = self._newest - correlator.horizon_ms
            floor = inflight_floor(self.machine)
            if floor is not None:
                limit = min(limit, floor - 1)
            correlator.release_until(limit)

    def advance(self, time_ms: int) -> None:
        """Audit time is known to have reached `time_ms` (e.g. a live source's clock)."""
        self.correlator.advance(time_ms)

    def flush(self) -> None:
        self.correlator.flush()

    def state(self) -> dict[str, Windows]:
        return dict(self.correlator.windows)
