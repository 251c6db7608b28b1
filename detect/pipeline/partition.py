"""A batch scan's input split by host (DESIGN §7): each host's lines (its files, in rotation
order, and its lines inside a file that mixes hosts) form one partition, scanned by its own
pipeline, so reassembly, process-tree, correlation and triage state never cross partitions.
Partitions are packed into bundles, one per worker; a bundle reads each of its files once.

The hosts of a file come from a probe: one pass over its bytes counting the `node=` prefix of
each line (a regular expression over large chunks, in C). A line without the prefix belongs to
the host `""` (logs written without `name_format`).
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import BinaryIO

from detect.core.defaults import MAX_LINE
from detect.pipeline.routing import NO_HOST as NO_HOST
from detect.pipeline.routing import host_of as host_of
from detect.sources.files import READ_ERRORS, STDIN, SourceStats, expand_inputs, open_binary

CHUNK = 1 << 22  # bytes per probe read
# A line's `node=` prefix, found after the newline before it (the block is searched with one
# put before its start): `^` with re.MULTILINE finds the same, three times slower.
NODE_PREFIX = re.compile(rb"\nnode=([^ \n]*) ")
# Of a line without its newline yet, only this much is kept: enough for its `node=` prefix (a
# line longer than --max-line-bytes is refused anyway), so one endless line is never held whole.
HEAD = MAX_LINE + 1


@dataclass(frozen=True)
class FileProbe:
    """One input file: its size on disk and its lines per host (up to a read error, as the
    reader reads them: a truncated archive's lines before the cut are scanned)."""

    path: str
    size: int
    lines: dict[str, int]
    error: str | None = None  # `path: reason` of a read error part way

    @property
    def total(self) -> int:
        return sum(self.lines.values())


def probe_file(path: str) -> FileProbe:
    """Count each host's lines of `path` (compressed files are read decompressed)."""
    counts: Counter[str] = Counter()
    rest = b""
    errors: list[str] = []
    with open_binary(path) as stream:
        for chunk in _blocks(stream, path, errors):
            chunk = rest + chunk
            cut = chunk.rfind(b"\n") + 1
            rest = chunk[cut : cut + HEAD]
            _count_hosts(chunk[:cut], counts)
        if rest:
            _count_hosts(rest + b"\n", counts)
    return FileProbe(path, os.path.getsize(path), dict(counts), errors[0] if errors else None)


def _blocks(stream: BinaryIO, path: str, errors: list[str]) -> Iterator[bytes]:
    """The bytes in blocks of about CHUNK. A read error (a truncated or corrupt archive) ends
    them, after what was read before it, and goes to `errors`."""
    block = bytearray()
    while True:
        try:
            piece = stream.read1(CHUNK)  # type: ignore[attr-defined]
        except READ_ERRORS as error:
            errors.append(f"{path}: {error}")
            piece = b""
        block += piece
        if block and (not piece or len(block) >= CHUNK):
            yield bytes(block)
            block.clear()
        if not piece:
            return


def _count_hosts(block: bytes, counts: Counter[str]) -> None:
    named = NODE_PREFIX.findall(b"\n" + block)
    for host, n in Counter(named).items():
        counts[host.decode("utf-8", "surrogateescape")] += n
    unnamed = block.count(b"\n") - len(named)
    if unnamed:
        counts[NO_HOST] += unnamed


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


def plan_inputs(inputs: Iterable[str], unnamed: str = NO_HOST) -> Plan:
    """Expand and probe the inputs; a file that cannot be read is reported (as the sequential
    reader does) and left out. Lines without `node=` belong to host `unnamed` (`--host`: the
    name reassembly gives them, so that a file mixing `node=X` and unnamed lines read with
    `--host X` is one host, X). Stdin cannot be partitioned: see `partitionable`."""
    stats = SourceStats()
    files = expand_inputs(list(inputs), stats)
    probes: dict[str, FileProbe] = {}
    partitions: dict[str, Partition] = {}
    for path in files:
        try:
            probe = probe_file(path)
        except Exception as error:  # what the reader would report: OSError, zlib, lzma, zstd
            stats.errors.append(f"{path}: {error}")
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
