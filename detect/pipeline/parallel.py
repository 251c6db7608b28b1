"""`detect scan` over every core, or a Dask cluster (DESIGN §7, docs/scale.md): the input is
partitioned by host (detect.pipeline.partition), bundles of partitions run in worker processes
(detect.pipeline.hostscan), and their results merge into one output: alerts in audit-time order
(ties: host order, then the order a host raised them), closed incidents likewise by their last
activity, and one summary. The correlations that group across hosts run at the merge, over the
hits the hosts exported (detect.correlation.placement); their alerts go through a triage of
their own and sort after the hosts' at equal times. The merge depends on the hosts only, never
on how they were bundled, so `--jobs 1`, `--jobs N` and `--dask` write the same bytes.
"""

from __future__ import annotations

import heapq
import multiprocessing
import queue
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, fields
from typing import Any

from detect.auditd.reassemble import MAX_EXAMPLES, ReassemblyStats
from detect.core.alert import Alert, RuleInfo
from detect.core.errors import DetectError
from detect.correlation.stage import MERGE
from detect.outputs.summary import RunSummary
from detect.pipeline.factory import PipelineSettings, build_scan, load_rules, scan_files
from detect.pipeline.hostscan import (
    BundleResult,
    HostCounts,
    HostResult,
    closed_into,
    run_bundle,
)
from detect.pipeline.partition import (
    NO_HOST,
    Bundle,
    Plan,
    make_bundles,
    open_bundle,
    partitionable,
    plan_inputs,
    replan,
)
from detect.pipeline.progress import ScanProgress
from detect.pipeline.scan import AlertSink, Scan, scan_extra
from detect.pipeline.spill import Spill
from detect.sigma.correlation.resolve import rule_key
from detect.sigma.model import RuleSet
from detect.triage.incidents import CLOSED, Incident
from detect.triage.stage import IncidentSink

LOCAL = "local"  # `--dask local`: a LocalCluster on this machine
RETRIES = 2  # a failed partition is tried again this many times on the cluster
WORKER_PRELOAD = "detect.pipeline.dask_worker"  # what each worker runs at start
MAX_ROUNDS = 3  # scans of the hosts the probe missed; more only if files grow while read


class PartitionError(DetectError):
    """A bundle of partitions failed (after its retries)."""


@dataclass(frozen=True)
class Parallelism:
    jobs: int = 1  # worker processes on this machine
    dask: str | None = None  # a scheduler address, or LOCAL
    progress: bool = False


def scan_parallel(
    paths: Sequence[str],
    rules: RuleSet,
    sink: AlertSink,
    settings: PipelineSettings,
    incidents: IncidentSink | None = None,
    parallelism: Parallelism = Parallelism(),
) -> tuple[Scan, RunSummary]:
    """`detect scan` partitioned by host: as `factory.scan_files`, whatever the parallelism.
    Stdin cannot be probed for hosts: it is scanned as one stream."""
    if not partitionable(paths):
        return scan_files(paths, rules, sink, settings, incidents)
    started = time.perf_counter()
    if parallelism.dask is None and parallelism.jobs <= 1:
        plan, bundle = open_bundle(paths)  # one process: nothing to share out, no probe
        bundles = [bundle]
    else:
        plan = plan_inputs(paths, settings.host or NO_HOST, probe_jobs(parallelism))
        bundles = make_bundles(plan, _workers(plan, parallelism))
    with ScanProgress(bundles, enabled=parallelism.progress) as progress:
        results = run_bundles(bundles, rules, settings, parallelism, progress)
    results = rescan_missed(plan, bundles, results, rules, settings, parallelism)
    hosts = sorted((h for r in results for h in r.hosts), key=lambda h: h.host)
    across_alerts: Spill[Alert] = Spill(shared=(RuleInfo,))
    across_incidents: Spill[Incident] = Spill()
    merged = build_scan(rules, across_alerts.append, settings, closed_into(across_incidents), MERGE)
    correlate_across(merged, rules, hosts)
    alerts = [*(h.alerts for h in hosts), across_alerts]
    for alert in heapq.merge(*alerts, key=lambda a: a.time_ms):
        sink(alert)
    closed = [*(h.incidents for h in hosts), across_incidents]
    if incidents is not None:
        for incident in heapq.merge(*closed, key=lambda i: i.last_ms):
            incidents(incident, CLOSED)
    spills: list[Spill[Any]] = [*alerts, *closed, *(h.hits for h in hosts)]
    for spill in spills:
        spill.close()
    for host in hosts:
        merge_counts(merged, host.counts)
    summary = merged_summary(plan, results, hosts, time.perf_counter() - started)
    summary.extra.update(scan_extra(merged, rules))
    return merged, summary


def _workers(plan: Plan, parallelism: Parallelism) -> int:
    # on a cluster, one partition per task: a failure retries (and names) one host
    return parallelism.jobs if parallelism.dask is None else len(plan.partitions)


def run_bundles(
    bundles: list[Bundle],
    rules: RuleSet,
    settings: PipelineSettings,
    parallelism: Parallelism,
    progress: ScanProgress,
) -> list[BundleResult]:
    if parallelism.dask is not None:
        return run_on_dask(bundles, settings, parallelism, progress.finished)
    if parallelism.jobs > 1 and len(bundles) > 1:
        return run_in_processes(bundles, rules, settings, progress)
    return [run_bundle(bundle, rules, settings, progress.update) for bundle in bundles]


def rescan_missed(
    plan: Plan,
    bundles: list[Bundle],
    results: list[BundleResult],
    rules: RuleSet,
    settings: PipelineSettings,
    parallelism: Parallelism,
) -> list[BundleResult]:
    """The results with every host the probe missed somewhere scanned again, whole
    (partition.replan): its first results are dropped. Another round is needed only when a
    file grew new hosts while it was read; after MAX_ROUNDS the scan fails, naming them."""
    rounds = 0
    while (again := replan(plan, bundles, [result.surprises for result in results])) is not None:
        missed = {partition.host for partition in again.partitions}
        if rounds == MAX_ROUNDS:
            names = ", ".join(sorted(missed))
            raise PartitionError(f"the input changed while it was read: new lines of {names}")
        for result in results:
            _drop(result, missed)
        rounds += 1
        plan, bundles = again, make_bundles(again, _workers(again, parallelism))
        with ScanProgress(bundles, enabled=parallelism.progress, title="rescan") as progress:
            results = [*results, *run_bundles(bundles, rules, settings, parallelism, progress)]
    return results


def _drop(result: BundleResult, hosts: set[str]) -> None:
    """The results of `hosts` out of `result` (their spills closed), its surprises answered."""
    for host in result.hosts:
        if host.host in hosts:
            for spill in (host.alerts, host.incidents, host.hits):
                spill.close()
    result.hosts = [host for host in result.hosts if host.host not in hosts]
    result.surprises = {}


def probe_jobs(parallelism: Parallelism) -> int:
    """Processes for the probe: `--jobs` on this machine (with --dask too: the probe runs
    here, before any task)."""
    return max(parallelism.jobs, 1)


# -- running bundles -------------------------------------------------------------------------

_FORKED: dict[str, Any] = {}  # what forked workers inherit: the rules, settings, progress queue


def run_in_processes(
    bundles: list[Bundle], rules: RuleSet, settings: PipelineSettings, progress: ScanProgress
) -> list[BundleResult]:
    """Bundles in forked processes: each inherits the loaded rules (no reload, nothing to
    pickle but the bundle) and reports progress through a queue."""
    context = multiprocessing.get_context("fork")
    reports: multiprocessing.Queue[tuple[int, int, int, int, int]] = context.Queue()
    _FORKED.update(rules=rules, settings=settings, queue=reports)
    try:
        with ProcessPoolExecutor(len(bundles), mp_context=context) as pool:
            futures = {pool.submit(_forked_bundle, bundle): bundle for bundle in bundles}
            pending: set[Future[BundleResult]] = set(futures)
            while pending:
                _, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                _drain(reports, progress)
            _drain(reports, progress)
            return [_result(future, futures[future]) for future in futures]
    finally:
        _FORKED.clear()


def _forked_bundle(bundle: Bundle) -> BundleResult:
    reports = _FORKED["queue"]
    return run_bundle(bundle, _FORKED["rules"], _FORKED["settings"], _put(reports))


def _put(reports: Any) -> Callable[[int, int, int, int, int], None]:
    last = [0.0]

    def report(index: int, lines: int, done: int, alerts: int, closed: int) -> None:
        now = time.monotonic()
        if now - last[0] >= 0.1:  # at most ten a second: the queue is not the bottleneck
            last[0] = now
            reports.put((index, lines, done, alerts, closed))

    return report


def _drain(reports: Any, progress: ScanProgress) -> None:
    while True:
        try:
            progress.update(*reports.get_nowait())
        except queue.Empty:
            return


def _result(future: Future[BundleResult], bundle: Bundle) -> BundleResult:
    try:
        return future.result()
    except Exception as error:
        raise PartitionError(f"{describe(bundle)} failed: {error!r}") from error


def describe(bundle: Bundle) -> str:
    hosts = ", ".join(p.host or "(no node=)" for p in bundle.partitions)
    return f"partition {bundle.index} (hosts {hosts})"


_LOADED: list[tuple[PipelineSettings, RuleSet]] = []  # a Dask worker's rules, loaded once


def run_loading_rules(bundle: Bundle, settings: PipelineSettings) -> BundleResult:
    """A bundle on a Dask worker: the rules are loaded there (from paths it can read)."""
    if not _LOADED or _LOADED[0][0] != settings:
        _LOADED[:] = [(settings, load_rules(settings))]
    return run_bundle(bundle, _LOADED[0][1], settings)


def run_on_dask(
    bundles: list[Bundle],
    settings: PipelineSettings,
    parallelism: Parallelism,
    finished: Callable[[BundleResult], object],
) -> list[BundleResult]:
    """Bundles on a Dask distributed cluster; each is retried RETRIES times, then reported."""
    from distributed import Client, as_completed  # only when asked for

    cluster = local_cluster(max(parallelism.jobs, 1)) if parallelism.dask == LOCAL else None
    try:
        with Client(cluster if cluster is not None else parallelism.dask) as client:
            futures = client.map(
                run_loading_rules, bundles, settings=settings, retries=RETRIES, pure=False
            )
            which = {future.key: bundle for future, bundle in zip(futures, bundles, strict=True)}
            results = []
            for future in as_completed(futures):
                if future.status != "finished":
                    error = future.exception()
                    raise PartitionError(
                        f"{describe(which[future.key])} failed after {RETRIES} retries: {error!r}"
                    )
                result = future.result()
                finished(result)
                results.append(result)
            return results
    finally:
        if cluster is not None:
            cluster.close()


def local_cluster(workers: int) -> Any:
    """`--dask local`: single-threaded worker processes on this machine, no dashboard, each
    running the code `detect` would (dask_worker.py: sources or compiled modules)."""
    from distributed import LocalCluster  # only when asked for

    return LocalCluster(
        n_workers=workers, threads_per_worker=1, dashboard_address=None, preload=[WORKER_PRELOAD]
    )


# -- merging ---------------------------------------------------------------------------------


def correlate_across(scan: Scan, rules: RuleSet, hosts: Sequence[HostResult]) -> None:
    """The correlations that group across hosts (`scan`, built for the MERGE side): every
    host's exported hits in audit-time order, then the end of input."""
    stage = scan.correlations
    if stage is None or not stage.placement.splits:
        return
    by_key = {rule_key(rule.id, rule.name): rule for rule in rules.rules}
    for hit in heapq.merge(*(h.hits for h in hosts), key=lambda h: h.sort_key):
        stage.take(hit, by_key[hit.rule])
    scan.flush()


def merge_counts(scan: Scan, counts: HostCounts) -> None:
    """Add one host's counts to the merged scan (whose summary and layer they then feed)."""
    scan.by_rule.update(counts.by_rule)
    scan.by_technique.update(counts.by_technique)
    for technique, titles in counts.technique_rules.items():
        known = scan.technique_rules.setdefault(technique, [])
        known.extend(title for title in titles if title not in known)
    if scan.triage is not None and counts.triage:
        triage, theirs = scan.triage, counts.triage
        for name in ("hits", "written", "tags", "closed"):
            getattr(triage, name).update(theirs[name])
        _add(triage.dedup.stats, theirs["dedup"])
        _add(triage.incidents.stats, theirs["incidents"])
    if scan.correlations is not None and counts.correlations is not None:
        mine, theirs = scan.correlations.correlator.stats, counts.correlations
        mine.late += theirs.late
        mine.pending_forced += theirs.pending_forced
        for name, stats in theirs.by_correlation.items():
            if name in mine.by_correlation:
                mine.by_correlation[name].add(stats)
            else:
                mine.by_correlation[name] = stats
    if scan.engine.tree is not None and counts.tree is not None:
        _add(scan.engine.tree.stats, counts.tree)


def _add(total: Any, part: Any) -> None:
    for item in fields(total):
        setattr(total, item.name, getattr(total, item.name) + getattr(part, item.name))


def merged_summary(
    plan: Plan, results: Iterable[BundleResult], hosts: Sequence[HostResult], seconds: float
) -> RunSummary:
    errors = list(plan.stats.errors)  # the inputs' expansion, then each file's, in input order
    by_file: dict[str, list[str]] = {path: [error] for path, error in plan.unreadable.items()}
    for result in results:
        for path, error in result.errors:
            found = by_file.setdefault(path, [])
            if error not in found:
                found.append(error)
    errors.extend(error for path in plan.files for error in by_file.get(path, ()))
    reassembly: dict[str, Any] = {}
    lost_by_node: dict[str, int] = {}
    for host in hosts:
        for name, value in host.counts.reassembly.items():
            if isinstance(value, list):
                reassembly[name] = [*reassembly.get(name, []), *value][:MAX_EXAMPLES]
            else:
                reassembly[name] = reassembly.get(name, 0) + value
        for node, count in host.counts.lost_by_node.items():
            lost_by_node[node] = lost_by_node.get(node, 0) + count
    if not reassembly:  # no input at all: the counters of an empty run
        reassembly = ReassemblyStats().to_dict()
    lost = sum(lost_by_node.values())
    return RunSummary(seconds, len(plan.files), errors, reassembly, lost, lost_by_node)
