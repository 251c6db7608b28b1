"""The one place that builds a pipeline (docs/architecture.md): reassembly → process tree and
matching → correlation → alerts → a sink, from `PipelineSettings`. `detect scan`, `detect
stream`, `detect events`, `detect test` (pipeline.samples) and the audit-rule checks build
through it; a reload of the rules goes through it too (`reload_scan`), keeping the process tree
and the state of unchanged correlations.
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from detect.attack.catalog import Catalog
from detect.auditd.event import AuditEvent
from detect.auditd.reassemble import Limits, Reassembler
from detect.core.defaults import HORIZON_MS
from detect.correlation.alert import CorrelationAlertBuilder
from detect.correlation.stage import ALL, CorrelationStage, Export
from detect.matching import dispatch
from detect.matching.alert import AlertBuilder
from detect.matching.checks import strict
from detect.matching.engine import Engine
from detect.outputs.summary import RunSummary
from detect.pipeline.scan import AlertSink, Scan, scan_extra
from detect.proctree.process import FieldCache
from detect.proctree.settings import TreeSettings, load_settings
from detect.proctree.tree import ProcessTree
from detect.sigma.cache import salt_of
from detect.sigma.compiled import Hints, default_compiled_cache
from detect.sigma.correlation.hit import Result
from detect.sigma.correlation.window import Limits as CorrelationLimits
from detect.sigma.load import collector_paused, drop_duplicate_rules, load_detections
from detect.sigma.model import RuleSet
from detect.sources.files import Line, SourceStats
from detect.sources.lines import iter_lines
from detect.triage.settings import TriageSettings
from detect.triage.stage import IncidentSink, TriageStage
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
    # Bounds (DESIGN §8), each counted in the summary when hit: reassembly's, the process
    # tree's (None: mappings/proctree.yaml's max_processes), the correlations'.
    limits: Limits = dataclasses.field(default_factory=Limits)
    max_processes: int | None = None
    process_idle_ms: int | None = None  # None: mappings/proctree.yaml's idle_seconds
    process_grace_ms: int | None = None  # None: mappings/proctree.yaml's grace_seconds
    correlation_limits: CorrelationLimits = dataclasses.field(default_factory=CorrelationLimits)
    host: str | None = None  # host of records without node= (`--host`); a record's node= wins


DEFAULTS = PipelineSettings()


def load_rules(settings: PipelineSettings = DEFAULTS) -> RuleSet:
    """The Sigma rules the pipeline runs: the shipped detections (unless `default_rules` is
    off), then `rule_paths`; loaded anew on each call (a reload reads the files again)."""
    tuning = settings.tuning
    extra = [str(path) for path in tuning.filters] if tuning is not None else []
    with collector_paused():  # frozen before the collector runs again: it never walks them
        rules = load_checked([*settings.rule_paths, *extra], default=settings.default_rules)
        rules = rules if tuning is None else tuning.apply(rules)
        _freeze_once("rules")
    return rules


_FROZEN: set[str] = set()  # what was frozen already in this process: "rules", "engine"


def _freeze_once(what: str) -> None:
    """The first rule set a process loads, and the first engine's indexes of it, live as long
    as the process: frozen out of the cyclic garbage collector (`gc.freeze`), their hundreds
    of thousands of objects (pySigma's rules, compiled tests, indexes) are never walked again,
    by the scan's collections nor at exit, and forked workers do not copy them by touching
    their GC headers. Once each: a rule set loaded later (a stream's reload) replaces the
    first and must stay collectable."""
    if what not in _FROZEN:
        _FROZEN.add(what)
        gc.freeze()


def load_checked(paths: Iterable[str | Path], *, default: bool = True) -> RuleSet:
    """`load_detections` with the checks a rule must pass to run (detect.matching.checks, as
    `detect validate` applies them): a rule or correlation with an error is skipped, with its
    `file:line` and reason in the set's errors; then of the rules of one id, the first that
    passed (a broken copy claims no id). Compiled rules come from the cache of compiled
    rules where it holds them (detect.sigma.compiled)."""
    reuse = default_compiled_cache(index_hints())
    loaded = load_detections(paths, default=default, reuse=reuse, dedupe=False)
    return drop_duplicate_rules(strict(loaded))


@cache
def index_hints() -> Hints:
    """What the cache of compiled rules stores with each rule for the engine: its index
    clauses (dispatch.index_hints), versioned by the source that finds them."""
    source = Path(dispatch.__file__).with_name("dispatch.py")
    version = hashlib.sha256(salt_of([], ["detect"], [source])).hexdigest()
    return Hints(version, dispatch.index_hints)


def build_engine(
    rules: RuleSet, settings: PipelineSettings = DEFAULTS, cache: FieldCache | None = None
) -> Engine:
    """`cache`: the bound of the process tree's cached fields, shared with other trees."""
    tree = ProcessTree(tree_settings(settings), cache) if settings.process_tree else None
    engine = Engine(rules.rules, tree=tree)
    _freeze_once("engine")
    return engine


def tree_settings(settings: PipelineSettings = DEFAULTS) -> TreeSettings:
    """mappings/proctree.yaml's settings, with the process-tree bounds the settings give."""
    loaded = load_settings()
    return dataclasses.replace(
        loaded,
        max_processes=_given(settings.max_processes, loaded.max_processes),
        idle_ms=_given(settings.process_idle_ms, loaded.idle_ms),
        grace_ms=_given(settings.process_grace_ms, loaded.grace_ms),
    )


def _given(value: int | None, default: int) -> int:
    return default if value is None else value


def build_correlations(
    rules: RuleSet,
    emit: Callable[[Result], object],
    settings: PipelineSettings = DEFAULTS,
    side: str = ALL,
    export: Export | None = None,
) -> CorrelationStage:
    """The correlations of `rules`: all of them, or one `side` of a scan partitioned by host
    (detect.correlation.placement), whose host side gives the hits it exports to `export`."""
    return CorrelationStage(
        rules,
        emit,
        horizon_ms=settings.horizon_ms,
        limits=settings.correlation_limits,
        side=side,
        export=export,
    )


def build_scan(
    rules: RuleSet,
    sink: AlertSink,
    settings: PipelineSettings = DEFAULTS,
    incidents: IncidentSink | None = None,
    side: str = ALL,
    export: Export | None = None,
    cache: FieldCache | None = None,
) -> Scan:
    """Matching (with the process tree), correlations and alert building over `rules`; with
    `settings.triage`, alerts go through triage to `sink` and incident updates to `incidents`.
    `side` and `export`: which correlations it runs (`build_correlations`); `cache`: the
    bound of the tree's cached fields, when the scans of one worker share it."""
    triage = None
    if settings.triage is not None:
        triage = TriageStage(sink, incidents, settings.triage, settings.catalog)
        sink = triage.push
    scan = Scan(
        build_engine(rules, settings, cache),
        sink,
        AlertBuilder(settings.catalog),
        build_correlation=CorrelationAlertBuilder(settings.catalog),
        triage=triage,
    )
    scan.correlations = build_correlations(rules, scan.on_correlation, settings, side, export)
    return scan


def reload_scan(scan: Scan, rules: RuleSet, settings: PipelineSettings = DEFAULTS) -> None:
    """New rules in a running scan: the process tree (or its absence) and unchanged
    correlations keep their state (and their bounds, `settings`' for a first correlation)."""
    engine = Engine(rules.rules, tree=scan.engine.tree)
    previous = scan.correlations
    if previous is None:
        stage = build_correlations(rules, scan.on_correlation, settings)
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
    machine = Reassembler(
        on_event, horizon_ms=settings.horizon_ms, limits=settings.limits, host=settings.host
    )
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
    machine = run_scan(scan, iter_lines(paths, sources, settings.limits.max_line_bytes), settings)
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
    machine.feed(iter_lines(paths, sources, settings.limits.max_line_bytes))
    machine.flush()
    return RunSummary.collect(machine, sources, time.perf_counter() - started)
