"""One bundle of host partitions scanned in one process (detect.pipeline.partition): each host
has its own pipeline from the factory (reassembly, process tree, matching, correlations,
triage); the bundle reads each of its files once and hands every line to its host's pipeline.
The result is plain data that crosses processes: each host's alerts and closed incidents in the
order they were raised, spilled to disk as they come (detect.pipeline.spill: memory does not
grow with what a long scan finds), the hits it exports to the correlations that group across
hosts (detect.correlation.placement), and its counts.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from detect.core.alert import Alert, RuleInfo
from detect.correlation.exported import ExportedHit
from detect.correlation.stage import HOST
from detect.pipeline.factory import PipelineSettings, build_reassembler, build_scan
from detect.pipeline.partition import NO_HOST, Bundle, FileProbe
from detect.pipeline.routing import batches, by_host
from detect.pipeline.scan import Scan
from detect.pipeline.spill import Spill
from detect.proctree.process import FieldCache
from detect.sigma.model import RuleSet
from detect.sources.files import READ_ERRORS, Line, open_binary
from detect.sources.lines import read_lines
from detect.triage.incidents import CLOSED, Incident
from detect.triage.stage import IncidentSink

BATCH = 8192  # lines read before they are handed to their hosts (and progress is reported)

# (bundle index, lines read, bytes read on disk, alerts written, incidents closed) so far
ProgressReport = Callable[[int, int, int, int, int], object]


@dataclass
class HostCounts:
    """What a host's scan counted, to be added into the merged scan (parallel.merge_counts)."""

    by_rule: Counter[str]
    by_technique: Counter[str]
    technique_rules: dict[str, list[str]]
    reassembly: dict[str, Any]
    lost_by_node: dict[str, int]
    triage: dict[str, Any] = field(default_factory=dict)
    correlations: Any = None  # CorrelatorStats
    tree: Any = None  # TreeStats


@dataclass
class HostResult:
    host: str
    alerts: Spill[Alert]
    incidents: Spill[Incident]  # closed, as they were when they closed
    hits: Spill[ExportedHit]  # for the correlations after the merge, in the order matched
    counts: HostCounts


@dataclass
class BundleResult:
    index: int
    hosts: list[HostResult]
    errors: list[str]  # files that could not be read, `path: reason`
    seconds: float


class HostScan:
    """One host's pipeline; alerts and closed incidents are kept in the order raised."""

    def __init__(
        self,
        host: str,
        rules: RuleSet,
        settings: PipelineSettings,
        cache: FieldCache | None = None,
    ) -> None:
        """`cache`: the bound of cached tree fields the bundle's hosts share (FieldCache)."""
        self.host = host
        self.alerts: Spill[Alert] = Spill(shared=(RuleInfo,))
        self.incidents: Spill[Incident] = Spill()
        self.hits: Spill[ExportedHit] = Spill()
        self.scan = build_scan(
            rules,
            self.alerts.append,
            settings,
            closed_into(self.incidents),
            HOST,
            self.hits.append,
            cache,
        )
        self.machine = build_reassembler(self.scan.on_event, settings, scan=self.scan)

    def finish(self) -> HostResult:
        self.machine.flush()
        self.scan.flush()
        counts = counts_of(self.scan, self)
        return HostResult(self.host, self.alerts, self.incidents, self.hits, counts)

    @property
    def closed(self) -> int:
        return len(self.incidents)


def closed_into(spill: Spill[Incident]) -> IncidentSink:
    """An incident sink that keeps each incident as it closed: a batch scan writes each
    incident once, as it ended (pickled: a copy as it is then)."""

    def closed(incident: Incident, change: str) -> None:
        if change == CLOSED:
            spill.append(incident)

    return closed


def counts_of(scan: Scan, host: HostScan) -> HostCounts:
    machine = host.machine
    counts = HostCounts(
        by_rule=scan.by_rule,
        by_technique=scan.by_technique,
        technique_rules=scan.technique_rules,
        reassembly=machine.stats.to_dict(),
        lost_by_node={node or "-": n for node, n in machine.lost_by_node.items()},
    )
    if scan.triage is not None:
        triage = scan.triage
        counts.triage = {
            "hits": triage.hits,
            "written": triage.written,
            "tags": triage.tags,
            "closed": triage.closed,
            "dedup": triage.dedup.stats,
            "incidents": triage.incidents.stats,
        }
    if scan.correlations is not None:
        counts.correlations = scan.correlations.correlator.stats
    if scan.engine.tree is not None:
        counts.tree = scan.engine.tree.stats
    return counts


class BundleScan:
    """Reads a bundle's files once, each line to its host's pipeline."""

    def __init__(
        self,
        bundle: Bundle,
        rules: RuleSet,
        settings: PipelineSettings,
        report: ProgressReport | None = None,
    ) -> None:
        self.bundle = bundle
        # one bound for the tree fields its hosts' trees cache, as one tree of them all has
        cache = FieldCache()
        self.hosts = {p.host: HostScan(p.host, rules, settings, cache) for p in bundle.partitions}
        self.max_line = settings.limits.max_line_bytes
        self.unnamed = settings.host or NO_HOST  # the host of lines without node= (--host)
        self.report = report
        self.errors: list[str] = []
        self.lines = 0
        self.bytes_done = 0

    def run(self) -> BundleResult:
        started = time.perf_counter()
        for probe in self.bundle.probes:
            try:
                self._read(probe)
            except READ_ERRORS as error:
                self.errors.append(f"{probe.path}: {error}")
            self.bytes_done += self.bundle_share(probe)
            self._report(0)
        hosts = [self.hosts[p.host].finish() for p in self.bundle.partitions]
        self._report(0)
        return BundleResult(self.bundle.index, hosts, self.errors, time.perf_counter() - started)

    def bundle_share(self, probe: FileProbe) -> int:
        """Bytes of `probe` that count for this bundle (its hosts' share of the file's lines)."""
        mine = sum(n for host, n in probe.lines.items() if host in self.hosts)
        return probe.size * mine // (probe.total or 1)

    def _read(self, probe: FileProbe) -> None:
        only = next(iter(probe.lines)) if len(probe.lines) == 1 else None
        share = self.bundle_share(probe)
        with open_binary(probe.path) as stream:
            lines = read_lines(stream, probe.path, self.max_line)
            read = 0
            for batch in batches(lines, BATCH):
                read += len(batch)
                if only is not None:
                    self.hosts[only].machine.feed(batch)
                    self.lines += len(batch)
                else:
                    self._route(batch, probe)
                self._report(share * read // (probe.total or 1))

    def _route(self, batch: list[Line], probe: FileProbe) -> None:
        """Each line to its host's pipeline. A host the probe did not see (a line cut short at
        --max-line-bytes before its `node=` ended) goes to the file's first host: exactly one
        bundle takes it, whatever the bundling, and it is counted there, never dropped."""
        fallback = min(probe.lines, default=NO_HOST)
        for host, lines in by_host(batch, probe.lines, fallback, self.unnamed).items():
            scan = self.hosts.get(host)
            if scan is not None:
                scan.machine.feed(lines)
                self.lines += len(lines)

    def _report(self, file_bytes: int) -> None:
        if self.report is None:
            return
        hosts = self.hosts.values()
        alerts = sum(host.scan.alerts for host in hosts)
        closed = sum(host.closed for host in hosts)
        done = self.bytes_done + file_bytes
        self.report(self.bundle.index, self.lines, min(done, self.bundle.size), alerts, closed)


def run_bundle(
    bundle: Bundle,
    rules: RuleSet,
    settings: PipelineSettings,
    report: ProgressReport | None = None,
) -> BundleResult:
    return BundleScan(bundle, rules, settings, report).run()
