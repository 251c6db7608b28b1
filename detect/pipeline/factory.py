"""The one place that builds a pipeline (docs/architecture.md): reassembly → process tree and
matching → correlation → alerts → a sink, from `PipelineSettings`. `detect scan`, `detect
stream`, `detect events`, `detect test` (pipeline.samples) and the audit-rule checks build
through it; a reload of the rules goes through it too (`reload_scan`), keeping the process tree
and the state of unchanged correlations.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from detect.attack.catalog import Catalog
from detect.auditd.event import AuditEvent
from detect.auditd.reassemble import Reassembler
from detect.core.defaults import HORIZON_MS
from detect.correlation.alert import CorrelationAlertBuilder
from detect.correlation.stage import CorrelationStage
from detect.matching.alert import AlertBuilder
from detect.matching.engine import Engine
from detect.outputs.summary import RunSummary
from detect.pipeline.scan import AlertSink, Scan, scan_extra
from detect.proctree.tree import ProcessTree
from detect.sigma.correlation.hit import Result
from detect.sigma.load import load_detections
from detect.sigma.model import RuleSet
from detect.sources.files import Line, SourceStats, iter_lines
from detect.triage.stage import IncidentSink, TriageSettings, TriageStage
from detect.triage.tuning import Tuning


@dataclass(frozen=True)
class PipelineSettings:
    """What a pipeline is built from (the command line and, later, a configuration file)."""

    horizon_ms: int = HORIZON_MS  # reassembly's audit-time horizon, and correlations' hold-back
    process_tree: bool = True  # off: no tree fields, no `chain:` or `process_label:` rules
    catalog: Catalog | None = None  # ATT&CK catalog for alerts (None: the shipped one)
    rule_paths: tuple[str, ...] = ()  # Sigma rule files and folders
    default_rules: bool = True  # the shipped detections first
    tuning: Tuning | None = None  # disabled rules, levels, Sigma filters (detect.triage.tuning)
    triage: TriageSettings | None = None  # None: every hit is written, no incidents


DEFAULTS = PipelineSettings()


def load_rules(settings: PipelineSettings = DEFAULTS) -> RuleSet:
    """The Sigma rules the pipeline runs: the shipped detections (unless `default_rules` is
    off), then `rule_paths`; loaded anew on each call (a reload reads the files again)."""
    tuning = settings.tuning
    extra = [str(path) for path in tuning.filters] if tuning is not None else []
    rules = load_detections([*settings.rule_paths, *extra], default=settings.default_rules)
    return rules if tuning is None else tuning.apply(rules)


def build_engine(rules: RuleSet, settings: PipelineSettings = DEFAULTS) -> Engine:
    return Engine(rules.rules, tree=ProcessTree() if settings.process_tree else None)


def build_correlations(
    rules: RuleSet, emit: Callable[[Result], object], settings: PipelineSettings = DEFAULTS
) -> CorrelationStage:
    return CorrelationStage(rules, emit, horizon_ms=settings.horizon_ms)


def build_scan(
    rules: RuleSet,
    sink: AlertSink,
    settings: PipelineSettings = DEFAULTS,
    incidents: IncidentSink | None = None,
) -> Scan:
    """Matching (with the process tree), correlations and alert building over `rules`; with
    `settings.triage`, alerts go through triage to `sink` and incident updates to `incidents`."""
    triage = None
    if settings.triage is not None:
        triage = TriageStage(sink, incidents, settings.triage, settings.catalog)
        sink = triage.push
    scan = Scan(
        build_engine(rules, settings),
        sink,
        AlertBuilder(settings.catalog),
        build_correlation=CorrelationAlertBuilder(settings.catalog),
        triage=triage,
    )
    scan.correlations = build_correlations(rules, scan.on_correlation, settings)
    return scan


def reload_scan(scan: Scan, rules: RuleSet) -> None:
    """New rules in a running scan: the process tree (or its absence) and unchanged
    correlations keep their state."""
    engine = Engine(rules.rules, tree=scan.engine.tree)
    previous = scan.correlations
    if previous is None:
        stage = CorrelationStage(rules, scan.on_correlation)
    else:
        stage = CorrelationStage.continuing(previous, rules, scan.on_correlation)
    scan.engine, scan.correlations = engine, stage


def build_reassembler(
    on_event: Callable[[AuditEvent], object],
    settings: PipelineSettings = DEFAULTS,
    correlations: CorrelationStage | None = None,
    scan: Scan | None = None,
) -> Reassembler:
    """Reassembly feeding `on_event`; correlations and triage read its audit time and in-flight
    floor (nothing closes while an older event may still come)."""
    machine = Reassembler(on_event, horizon_ms=settings.horizon_ms)
    if scan is not None:
        scan.machine = machine
        correlations = scan.correlations
    if correlations is not None:
        correlations.machine = machine
    return machine


def run_scan(
    scan: Scan, lines: Iterable[Line], settings: PipelineSettings = DEFAULTS
) -> Reassembler:
    """Every line through reassembly and the scan, then everything still open is decided."""
    machine = build_reassembler(scan.on_event, settings, scan=scan)
    machine.feed(lines)
    machine.flush()
    scan.flush()
    return machine


def scan_files(
    paths: Iterable[str],
    rules: RuleSet,
    sink: AlertSink,
    settings: PipelineSettings = DEFAULTS,
    incidents: IncidentSink | None = None,
) -> tuple[Scan, RunSummary]:
    """`detect scan`: the files' alerts to `sink` (incident updates to `incidents`), and the
    run's summary."""
    scan = build_scan(rules, sink, settings, incidents)
    sources = SourceStats()
    started = time.perf_counter()
    machine = run_scan(scan, iter_lines(paths, sources), settings)
    seconds = time.perf_counter() - started
    summary = RunSummary.collect(machine, sources, seconds, **scan_extra(scan, rules))
    return scan, summary


def read_events(
    paths: Iterable[str],
    emit: Callable[[AuditEvent], object],
    settings: PipelineSettings = DEFAULTS,
) -> RunSummary:
    """`detect events`: reassembled events to `emit`, no matching, and the run's summary."""
    sources = SourceStats()
    machine = build_reassembler(emit, settings)
    started = time.perf_counter()
    machine.feed(iter_lines(paths, sources))
    machine.flush()
    return RunSummary.collect(machine, sources, time.perf_counter() - started)
