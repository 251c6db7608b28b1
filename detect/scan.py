"""A scan: lines → events → engine → alerts, with the counts its summary reports.

`detect scan` runs it over files; `detect test` over a detection's sample lines. The scan is a
push object: the reassembler calls `on_event` for each completed event.
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
from detect.auditd.reassemble import Reassembler
from detect.engine import Engine, not_applicable_reason
from detect.outputs.alerts import AlertBuilder
from detect.outputs.summary import RunSummary
from detect.rules.model import RuleSet
from detect.sources.files import Line, SourceStats, iter_lines

AlertSink = Callable[[dict[str, Any]], object]


@dataclass
class Scan:
    """Evaluates each completed event; counts alerts by rule and by technique."""

    engine: Engine
    sink: AlertSink
    build: AlertBuilder = field(default_factory=AlertBuilder)
    by_rule: Counter[str] = field(default_factory=Counter)
    by_technique: Counter[str] = field(default_factory=Counter)
    technique_rules: dict[str, list[str]] = field(default_factory=dict)  # id -> rule titles
    _techniques: dict[int, list[str]] = field(default_factory=dict)  # per rule, once

    def on_event(self, event: AuditEvent) -> None:
        for match in self.engine.evaluate(event):
            alert = self.build(match)
            self.by_rule[f"{match.rule.title} ({match.rule.id})"] += 1
            techniques = self._techniques.get(id(match.rule))
            if techniques is None:
                techniques = _technique_ids(self.build.rule_part(match.rule))
                self._techniques[id(match.rule)] = techniques
            for technique in techniques:
                self.by_technique[technique] += 1
                titles = self.technique_rules.setdefault(technique, [])
                if match.rule.title not in titles:
                    titles.append(match.rule.title)
            self.sink(alert)

    @property
    def alerts(self) -> int:
        return sum(self.by_rule.values())

    def run(self, lines: Iterable[Line], horizon_ms: int = 2000) -> Reassembler:
        machine = Reassembler(self.on_event, horizon_ms=horizon_ms)
        machine.feed(lines)
        machine.flush()
        return machine


def _technique_ids(fields: dict[str, Any]) -> list[str]:
    """Sub-techniques, and the techniques named without one, of a rule's alert fields."""
    technique = fields.get("threat", {}).get("technique", {})
    subs = technique.get("subtechnique", {}).get("id", [])
    parents_with_subs = {sub.split(".")[0] for sub in subs}
    return [*subs, *(t for t in technique.get("id", []) if t not in parents_with_subs)]


def scan_files(
    paths: Iterable[str], rules: RuleSet, sink: AlertSink, horizon_ms: int = 2000
) -> tuple[Scan, RunSummary]:
    engine = Engine(rules.rules)
    scan = Scan(engine, sink)
    sources = SourceStats()
    started = time.perf_counter()
    machine = scan.run(iter_lines(paths, sources), horizon_ms)
    seconds = time.perf_counter() - started
    summary = RunSummary.collect(machine, sources, seconds, **scan_extra(scan, rules))
    return scan, summary


def scan_extra(scan: Scan, rules: RuleSet) -> dict[str, Any]:
    skipped = [{"file": str(e.location), "rule": e.rule, "reason": e.reason} for e in rules.errors]
    skipped += [
        {"file": str(rule.source), "rule": rule.title, "reason": not_applicable_reason(rule)}
        for rule in scan.engine.not_applicable
    ]
    return {
        "rules_loaded": scan.engine.applicable,
        "rules_skipped": skipped,
        "alerts": scan.alerts,
        "alerts_by_rule": dict(scan.by_rule.most_common()),
        "alerts_by_technique": dict(scan.by_technique.most_common()),
    }


def alerts_layer(scan: Scan, catalog: Catalog | None = None) -> dict[str, Any]:
    """A Navigator layer of the techniques in the scan's alerts, scored by alert count."""
    return build_layer(
        scan.technique_rules,
        name="detect scan alerts",
        description="ATT&CK techniques of the alerts of one detect scan, scored by alert count",
        catalog=catalog,
        scores=dict(scan.by_technique),
    )
