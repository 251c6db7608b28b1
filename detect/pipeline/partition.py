"""A batch scan's input split by host (DESIGN §7): each host's lines (its files, in rotation
order, and its lines inside a file that mixes hosts) form one partition, scanned by its own
pipeline, so reassembly, process-tree, correlation and triage state never cross partitions.
Partitions are packed into bundles, one per worker; a bundle reads each of its files once.

The hosts of a file come from a probe (detect.pipeline.probe): one pass over its bytes counting
the `node=` prefix of each line, on several processes with `--jobs`. A line without the prefix
belongs to the host `""` (logs written without `name_format`), or to `--host`'s.
"""

from __future__ import annotations

import dataclasses
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

    @property
    def hosts(self) -> frozenset[str]:
        return frozenset(partition.host for partition in self.partitions)

    @property
    def lines(self) -> int:
        return sum(partition.lines for partition in self.partitions)

    @property
    def size(self) -> int:
        """Bytes on disk to read, each file counted in the share of its lines in the bundle."""
        hosts = self.hosts
        return sum(
            probe.size * sum(n for h, n in probe.lines.items() if h in hosts) // (probe.total or 1)
            for probe in self.probes
        )


@dataclass
class Plan:
    """A batch scan's input: the files, their probes and the partitions by host."""

    files: list[str]
    probes: dict[str, FileProbe]
    partitions: list[Partition]
    stats: SourceStats


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
    for path, probe in zip(files, probe_files(files, jobs), strict=True):
        if isinstance(probe, Exception):  # what the reader would report: OSError, zlib, lzma…
            stats.errors.append(f"{path}: {probe}")
            continue
        if probe.error is not None:
            stats.errors.append(probe.error)
        if unnamed != NO_HOST and NO_HOST in probe.lines:
            probe = dataclasses.replace(probe, lines=_renamed(probe.lines, unnamed))
        probes[path] = probe
        for host, lines in probe.lines.items():
            partition = partitions.setdefault(host, Partition(host))
            partition.files.append(path)
            partition.lines += lines
    ordered = [partitions[host] for host in sorted(partitions)]
    return Plan(files, probes, ordered, stats)


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
