"""A scan: events → engine (and correlations) → alerts → triage (when on) → the sink, with the
counts its summary reports. Built by detect.pipeline.factory for `detect scan` (files) and
`detect stream` (live sources), which push events into the same object: the reassembler calls
`on_event` for each completed event; `flush()` at the end of input closes what is still open.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from detect.attack.catalog import Catalog
from detect.attack.layer import build_layer
from detect.auditd.event import AuditEvent
from detect.core.alert import Alert, RuleInfo
from detect.correlation.alert import CorrelationAlertBuilder
from detect.correlation.stage import CorrelationStage, Reassembly
from detect.matching.alert import AlertBuilder
from detect.matching.dispatch import not_applicable_reason
from detect.matching.engine import Engine
from detect.sigma.correlation.hit import Result
from detect.sigma.model import RuleError, RuleSet
from detect.triage.stage import TriageStage

AlertSink = Callable[[Alert], object]


@dataclass
class Scan:
    """Evaluates each completed event; counts alerts by rule and by technique."""

    engine: Engine
    sink: AlertSink
    build: AlertBuilder = field(default_factory=AlertBuilder)
    correlations: CorrelationStage | None = None
    build_correlation: CorrelationAlertBuilder = field(default_factory=CorrelationAlertBuilder)
    by_rule: Counter[str] = field(default_factory=Counter)
    by_technique: Counter[str] = field(default_factory=Counter)
    technique_rules: dict[str, list[str]] = field(default_factory=dict)  # id -> rule titles
    triage: TriageStage | None = None  # when set, `sink` is its `push`
    machine: Reassembly | None = None  # the reassembly feeding `on_event`

    def on_event(self, event: AuditEvent) -> None:
        triage = self.triage
        if triage is not None:  # may audit time close a window or incident? one lookup
            earliest = triage.earliest.get(event.node)
            if earliest is not None and earliest < event.time_ms:
                triage.advance(event.node, self._settled(event.time_ms))
        matches = self.engine.evaluate(event)
        if self.correlations is not None:
            matches = self.correlations.alerting(matches, event.node, event.time_ms)
        for match in matches:
            alert = self.build(match)
            self._count(alert.rule)
            # triage makes the events of what it keeps (most are folded away); else, now
            self.sink(alert if triage is not None else alert.made())

    def on_correlation(self, result: Result) -> None:
        alert = self.build_correlation(result)
        self._count(alert.rule)
        self.sink(alert)

    def _settled(self, time_ms: int) -> int:
        """Audit time up to which no more alert can come: the event's time, held back below the
        oldest event reassembly still holds (interleaved or out-of-order input)."""
        floor = None if self.machine is None else self.machine.oldest_inflight_ms()
        return time_ms if floor is None else min(time_ms, floor - 1)

    def _count(self, rule: RuleInfo) -> None:
        self.by_rule[rule.label] += 1
        for technique in rule.techniques:
            self.by_technique[technique] += 1
            titles = self.technique_rules.setdefault(technique, [])
            if rule.title not in titles:
                titles.append(rule.title)

    def advance(self, time_ms: int) -> None:
        """Audit time is known to have reached `time_ms`: close what it lets close."""
        if self.correlations is not None:
            self.correlations.advance(time_ms)
        if self.triage is not None:
            self.triage.advance_all(time_ms)

    def flush(self) -> None:
        """End of input: decide every correlation window still open, then close triage's."""
        if self.correlations is not None:
            self.correlations.flush()
        if self.triage is not None:
            self.triage.flush()

    @property
    def hits(self) -> int:
        """Every alert raised, whatever triage did with it."""
        return sum(self.by_rule.values())

    @property
    def alerts(self) -> int:
        """The alerts written: with triage, those at or above its minimum level after
        deduplication; without, every hit."""
        return self.hits if self.triage is None else self.triage.alerts_written


def scan_extra(scan: Scan, rules: RuleSet) -> dict[str, Any]:
    """The summary's rule and alert parts: rules skipped are those that failed to load, the
    second copies of a rule id, those audit logs cannot feed, those the engine rejected (a
    malformed `chain:`) and the correlations that could not be resolved."""
    skipped = [_skipped(error) for error in [*rules.errors, *rules.warnings]]
    skipped += [
        {"file": str(rule.source), "rule": rule.title, "reason": not_applicable_reason(rule)}
        for rule in scan.engine.not_applicable
    ]
    skipped += [_skipped(error) for error in scan.engine.rejected]
    extra: dict[str, Any] = {
        "rules_loaded": scan.engine.applicable,
        "rules_skipped": skipped,
        "alerts": scan.alerts,
        "hits": scan.hits,
        "alerts_by_rule": dict(scan.by_rule.most_common()),
        "alerts_by_technique": dict(scan.by_technique.most_common()),
    }
    if scan.correlations is not None:
        resolved = scan.correlations.resolved
        skipped += [_skipped(error) for error in resolved.errors]
        extra["correlations"] = {
            "loaded": len(resolved.correlations),
            **scan.correlations.correlator.stats.to_dict(),
        }
    if scan.triage is not None:
        extra["triage"] = scan.triage.summary()
    if scan.engine.tree is not None:  # its bounds: expired and evicted processes (issue 18)
        extra["process_tree"] = scan.engine.tree.stats.to_dict()
    return extra


def _skipped(error: RuleError) -> dict[str, str]:
    return {"file": str(error.location), "rule": error.rule, "reason": error.reason}


def alerts_layer(scan: Scan, catalog: Catalog | None = None) -> dict[str, Any]:
    """A Navigator layer of the techniques in the scan's alerts, scored by alert count."""
    return build_layer(
        scan.technique_rules,
        name="detect scan alerts",
        description="ATT&CK techniques of the alerts of one detect scan, scored by alert count",
        catalog=catalog,
        scores=dict(scan.by_technique),
    )
