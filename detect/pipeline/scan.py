"""A scan: lines → events → engine (and correlations) → alerts, with the counts its summary
reports.

`detect scan` runs it over files; `detect test` over a detection's sample lines; live sources
push events into the same object. The scan is a push object: the reassembler calls `on_event`
for each completed event; `flush()` at the end of input closes the correlation windows still
open. `reload(ruleset)` swaps the rules, keeping the process tree and the state of unchanged
correlations.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from detect.attack.catalog import Catalog
from detect.attack.layer import build_layer
from detect.auditd.event import AuditEvent
from detect.auditd.reassemble import HORIZON_MS, Reassembler
from detect.core.alert import Alert, RuleInfo
from detect.correlation.alert import CorrelationAlertBuilder
from detect.correlation.stage import CorrelationStage
from detect.matching.alert import AlertBuilder
from detect.matching.dispatch import not_applicable_reason
from detect.matching.engine import Engine
from detect.outputs.summary import RunSummary
from detect.sigma.correlation.hit import Result
from detect.sigma.model import RuleError, RuleSet
from detect.sources.files import Line, SourceStats, iter_lines

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

    @classmethod
    def of(cls, rules: RuleSet, sink: AlertSink, horizon_ms: int = HORIZON_MS) -> Scan:
        """A scan over `rules`, its correlations included."""
        scan = cls(Engine(rules.rules), sink)
        scan.correlations = CorrelationStage(rules, scan.on_correlation, horizon_ms=horizon_ms)
        return scan

    def on_event(self, event: AuditEvent) -> None:
        matches = self.engine.evaluate(event)
        if self.correlations is not None:
            matches = self.correlations.alerting(matches, event.node, event.time_ms)
        for match in matches:
            alert = self.build(match)
            self._count(alert.rule)
            self.sink(alert)

    def on_correlation(self, result: Result) -> None:
        alert = self.build_correlation(result)
        self._count(alert.rule)
        self.sink(alert)

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

    def flush(self) -> None:
        """End of input: decide every correlation window still open."""
        if self.correlations is not None:
            self.correlations.flush()

    def reload(self, rules: RuleSet) -> None:
        """New rules; the process tree and unchanged correlations keep their state."""
        engine = Engine(rules.rules, tree=self.engine.tree)  # off stays off
        old = self.correlations
        stage = CorrelationStage(
            rules,
            self.on_correlation,
            horizon_ms=old.correlator.horizon_ms if old else HORIZON_MS,
            reuse=old.state() if old else None,
        )
        if old is not None:
            stage.machine = old.machine
            stage.correlator.watermark = old.correlator.watermark
            for hit in old.correlator.drain_pending():
                stage.correlator.push(hit)
        self.engine, self.correlations = engine, stage

    @property
    def alerts(self) -> int:
        return sum(self.by_rule.values())

    def run(self, lines: Iterable[Line], horizon_ms: int = HORIZON_MS) -> Reassembler:
        machine = Reassembler(self.on_event, horizon_ms=horizon_ms)
        if self.correlations is not None:
            self.correlations.machine = machine
        machine.feed(lines)
        machine.flush()
        self.flush()
        return machine


def scan_files(
    paths: Iterable[str], rules: RuleSet, sink: AlertSink, horizon_ms: int = HORIZON_MS
) -> tuple[Scan, RunSummary]:
    scan = Scan.of(rules, sink, horizon_ms)
    sources = SourceStats()
    started = time.perf_counter()
    machine = scan.run(iter_lines(paths, sources), horizon_ms)
    seconds = time.perf_counter() - started
    summary = RunSummary.collect(machine, sources, seconds, **scan_extra(scan, rules))
    return scan, summary


def scan_extra(scan: Scan, rules: RuleSet) -> dict[str, Any]:
    """The summary's rule and alert parts: rules skipped are those that failed to load, those
    audit logs cannot feed, those the engine rejected (a malformed `chain:`) and the
    correlations that could not be resolved."""
    skipped = [_skipped(error) for error in rules.errors]
    skipped += [
        {"file": str(rule.source), "rule": rule.title, "reason": not_applicable_reason(rule)}
        for rule in scan.engine.not_applicable
    ]
    skipped += [_skipped(error) for error in scan.engine.rejected]
    extra: dict[str, Any] = {
        "rules_loaded": scan.engine.applicable,
        "rules_skipped": skipped,
        "alerts": scan.alerts,
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
