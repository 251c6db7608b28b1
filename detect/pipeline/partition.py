"""A batch scan's input split by host (DESIGN §7): each host's lines (its files, in rotation
order, and its lines inside a file that mixes hosts) form one partition, scanned by its own
pipeline, so reassembly, process-tree, correlation and triage state never cross partitions.
Partitions are packed into bundles, one per worker; a bundle reads each of its files once.

The hosts of a file come from a probe (detect.pipeline.probe): samples of its bytes, counting
the `node=` prefix of each line. A line without the prefix belongs to the host `""` (logs
written without `name_format`), or to `--host`'s. A scan on one process is one open bundle: it
is not probed, and every host its lines meet gets a pipeline as it comes. A host a sample
missed is found by the bundles that read its lines, and run again (`replan`).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from detect.pipeline.probe import FileProbe as FileProbe
from detect.pipeline.probe import probe_file as probe_file
from detect.pipeline.probe import probe_files
from detect.pipeline.routing import NO_HOST as NO_HOST
from detect.pipeline.routing import host_of as host_of
from detect.sources.files import STDIN, SourceStats, expand_inputs


@dataclass
class Partition:
    """One host's lines: the files that hold some (in input order) and how many lines."""

    host: str
    files: list[str] = field(default_factory=list)
    lines: int = 0


@dataclass(frozen=True)
class Bundle:
    """What one worker scans: partitions (in host order) and the probes of their files."""

    index: int
    partitions: tuple[Partition, ...]
    probes: tuple[FileProbe, ...]  # every file of the bundle, in input order
    open: bool = False  # every host its lines meet is its own (a scan's only bundle)

    @property
    def hosts(self) -> frozenset[str]:
        return frozenset(partition.host for partition in self.partitions)

    @property
    def lines(self) -> int:
        return sum(partition.lines for partition in self.partitions)

    @property
    def size(self) -> int:
        """Bytes on disk to read, each file counted in the share of its lines in the bundle."""
        return sum(self.share(probe) for probe in self.probes)

    def share(self, probe: FileProbe) -> int:
        """Bytes of `probe`'s file that count for this bundle: its hosts' share of the lines."""
        if self.open:
            return probe.size
        mine = sum(n for host, n in probe.lines.items() if host in self.hosts)
        return probe.size * mine // (probe.total or 1)


@dataclass
class Plan:
    """A batch scan's input: the files, their probes and the partitions by host."""

    files: list[str]
    probes: dict[str, FileProbe]
    partitions: list[Partition]
    stats: SourceStats  # what expanding the inputs found
    # path: `path: reason`, of the files no bundle reads (their reader would report it)
    unreadable: dict[str, str] = field(default_factory=dict)


def plan_inputs(inputs: Iterable[str], unnamed: str = NO_HOST, jobs: int = 1) -> Plan:
    """Expand and probe the inputs; a file that cannot be read is reported (as the sequential
    reader does) and left out. Lines without `node=` belong to host `unnamed` (`--host`: the
    name reassembly gives them, so that a file mixing `node=X` and unnamed lines read with
    `--host X` is one host, X). The probe runs on `jobs` processes. Stdin cannot be
    partitioned: see `partitionable`."""
    stats = SourceStats()
    files = expand_inputs(list(inputs), stats)
    probes: dict[str, FileProbe] = {}
    partitions: dict[str, Partition] = {}
    unreadable: dict[str, str] = {}
    for path, probe in zip(files, probe_files(files, jobs), strict=True):
        if isinstance(probe, Exception):  # what the reader would report: OSError, zlib, lzma…
            unreadable[path] = f"{path}: {probe}"
            continue
        if probe.error is not None and not probe.lines:  # a corrupt archive: no line to read
            unreadable[path] = probe.error
            continue
        if unnamed != NO_HOST and NO_HOST in probe.lines:
            probe = dataclasses.replace(probe, lines=_renamed(probe.lines, unnamed))
        probes[path] = probe
        for host, lines in probe.lines.items():
            partition = partitions.setdefault(host, Partition(host))
            partition.files.append(path)
            partition.lines += lines
    ordered = [partitions[host] for host in sorted(partitions)]
    return Plan(files, probes, ordered, stats, unreadable)


def open_bundle(inputs: Iterable[str]) -> tuple[Plan, Bundle]:
    """The inputs as one open bundle, not probed: a scan on one process (the reader reports
    a file it cannot read)."""
    stats = SourceStats()
    files = expand_inputs(list(inputs), stats)
    probes = {path: FileProbe(path, _size(path), {}, exact=False) for path in files}
    plan = Plan(files, probes, [], stats)
    return plan, Bundle(0, (), tuple(probes.values()), open=True)


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


# Host -> the files (path -> lines) in which a bundle met lines of it that the probe of the
# file had not seen (hostscan.BundleScan.surprises)
Surprises = dict[str, dict[str, int]]


def replan(plan: Plan, bundles: Sequence[Bundle], surprises: Sequence[Surprises]) -> Plan | None:
    """The hosts to scan again after `bundles` ran, as a plan of their own (None: none).

    A bundle reads every line of its files and feeds its hosts' lines to their pipelines
    wherever they are; a host it meets in a file whose probe did not list it is a surprise.
    It is only a miss when no bundle scanned that host's lines there: the host has no bundle
    (the samples never saw it), or its bundle does not read that file. Such a host is scanned
    again, whole, over every file that holds it, so that one pipeline sees all its lines in
    order. In the new plan each file's probe lists every host met in it, so that the lines of
    the hosts not scanned again are passed over, not surprises again."""
    reads: dict[str, frozenset[str]] = {}  # a host with a bundle -> the files its bundle reads
    for bundle in bundles:
        paths = frozenset(probe.path for probe in bundle.probes)
        reads.update((host, paths) for host in bundle.hosts)
    met: dict[str, dict[str, int]] = {}
    for found in surprises:
        for host, files in found.items():
            counts = met.setdefault(host, {})
            for path, lines in files.items():
                counts[path] = max(counts.get(path, 0), lines)
    missed = {
        host
        for host, files in met.items()
        if host not in reads or any(path not in reads[host] for path in files)
    }
    if not missed:
        return None
    probes = dict(plan.probes)
    for host, files in met.items():
        for path, lines in files.items():
            probe = probes[path]
            known = dict(probe.lines)
            known[host] = max(known.get(host, 0), lines)
            probes[path] = dataclasses.replace(probe, lines=known)
    partitions = []
    for host in sorted(missed):
        ordered = [path for path in plan.files if path in probes and host in probes[path].lines]
        partitions.append(Partition(host, ordered, sum(probes[p].lines[host] for p in ordered)))
    return Plan(plan.files, probes, partitions, SourceStats())


def _renamed(lines: dict[str, int], unnamed: str) -> dict[str, int]:
    counts = dict(lines)
    counts[unnamed] = counts.get(unnamed, 0) + counts.pop(NO_HOST)
    return counts


def partitionable(inputs: Sequence[str]) -> bool:
    """Whether the inputs can be probed: files, folders and globs, not stdin."""
    return bool(inputs) and STDIN not in inputs


def make_bundles(plan: Plan, workers: int) -> list[Bundle]:
    """At most `workers` bundles of whole partitions, balanced by lines (largest first, each
    to the lightest bundle); each bundle keeps host order and input-file order."""
    count = max(1, min(workers, len(plan.partitions)))
    bins: list[list[Partition]] = [[] for _ in range(count)]
    loads = [0] * count
    for partition in sorted(plan.partitions, key=lambda p: (-p.lines, p.host)):
        lightest = loads.index(min(loads))
        bins[lightest].append(partition)
        loads[lightest] += partition.lines
    bundles: list[Bundle] = []
    for members in bins:
        if not members:
            continue
        names = {path for partition in members for path in partition.files}
        probes = tuple(plan.probes[path] for path in plan.files if path in names)
        ordered = tuple(sorted(members, key=lambda p: p.host))
        bundles.append(Bundle(len(bundles), ordered, probes))
    return bundles
