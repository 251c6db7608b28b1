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
from detect.pipeline.partition import NO_HOST, Bundle, FileProbe, Surprises
from detect.pipeline.routing import batches, by_host
from detect.pipeline.scan import Scan
from detect.pipeline.spill import Spill
from detect.proctree.process import FieldCache
from detect.sigma.model import RuleSet
from detect.sources.files import READ_ERRORS, Line, decompressed
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
    errors: list[tuple[str, str]]  # files that could not be read: (path, `path: reason`)
    seconds: float
    surprises: Surprises = field(default_factory=dict)  # hosts the probe missed (replan)


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
    """Reads a bundle's files once, each line to its host's pipeline (an open bundle makes
    one for every host it meets)."""

    def __init__(
        self,
        bundle: Bundle,
        rules: RuleSet,
        settings: PipelineSettings,
        report: ProgressReport | None = None,
    ) -> None:
        self.bundle = bundle
        self.rules = rules
        self.settings = settings
        # one bound for the tree fields its hosts' trees cache, as one tree of them all has
        self.cache = FieldCache()
        self.hosts = {p.host: self._host(p.host) for p in bundle.partitions}
        self.max_line = settings.limits.max_line_bytes
        self.unnamed = settings.host or NO_HOST  # the host of lines without node= (--host)
        self.report = report
        self.errors: list[tuple[str, str]] = []
        self.surprises: Surprises = {}
        self.lines = 0
        self.bytes_done = 0

    def _host(self, host: str) -> HostScan:
        return HostScan(host, self.rules, self.settings, self.cache)

    def run(self) -> BundleResult:
        started = time.perf_counter()
        for probe in self.bundle.probes:
            try:
                self._read(probe)
            except READ_ERRORS as error:
                self.errors.append((probe.path, f"{probe.path}: {error}"))
            self.bytes_done += self.bundle.share(probe)
            self._report(0)
        hosts = [self.hosts[host].finish() for host in sorted(self.hosts)]
        self._report(0)
        seconds = time.perf_counter() - started
        return BundleResult(self.bundle.index, hosts, self.errors, seconds, self.surprises)

    def _read(self, probe: FileProbe) -> None:
        share = self.bundle.share(probe)
        with open(probe.path, "rb") as raw, decompressed(raw) as stream:
            lines = read_lines(stream, probe.path, self.max_line, skip=self._others(probe))
            for batch in batches(lines, BATCH):
                self._route(batch, probe)
                # the reader closes the file as its last line goes: then it was read whole
                at = probe.size if raw.closed else raw.tell()
                self._report(share * at // (probe.size or 1))

    def _others(self, probe: FileProbe) -> tuple[str, ...]:
        """The `node=` prefixes of the other bundles' hosts in `probe`'s file: their lines are
        passed over as they are read, never made. Only a prefix that fits in the max_line + 1
        characters a long line is cut to: a longer one is not seen in the cut line either, whose
        host `_route` takes as it reads it."""
        if self.bundle.open:
            return ()
        prefixes = (f"node={host} " for host in probe.lines if host and host not in self.hosts)
        return tuple(prefix for prefix in prefixes if len(prefix) <= self.max_line + 1)

    def _route(self, batch: list[Line], probe: FileProbe) -> None:
        """Each line to its host's pipeline. A host that is not the bundle's is another
        bundle's when the probe saw it in this file, else a surprise (partition.replan)."""
        for host, lines in by_host(batch, self.unnamed).items():
            scan = self.hosts.get(host)
            if scan is None and not self.bundle.open:
                if host not in probe.lines:
                    met = self.surprises.setdefault(host, {})
                    met[probe.path] = met.get(probe.path, 0) + len(lines)
                continue
            if scan is None:
                scan = self.hosts[host] = self._host(host)
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
