"""The probe of a partitioned scan's inputs (detect.pipeline.partition): which hosts each file
holds, and about how many lines of each, from samples of its bytes. A line's host is its
`node=` prefix (found by a regular expression over whole blocks, in C), or `""` without one
(logs written without `name_format`).

A file of up to WHOLE bytes is read whole: its counts are exact. Of a larger plain file, about
1/SHARE of its bytes (at most MOST) are read, in WINDOWS windows spread from its start to its
end; of a larger compressed file, its first WHOLE bytes decompressed (a compressed stream
cannot be entered in the middle). The counts of a sample are scaled to the file's size: they
only balance the bundles and size the progress bars. Before, the probe read every byte (and
decompressed every archive) once more before any worker started.

A sample can miss a host whose lines all fall between its windows (or after a compressed file's
head). Nothing is lost by that: every file is read whole by some bundle, which tells the scan of
each host it met that the probe had not seen there (hostscan.BundleScan.surprises), and the scan
runs those hosts again over every file that holds them (parallel.rescan_missed).
"""

from __future__ import annotations

import multiprocessing
import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import BinaryIO

from detect.core.defaults import MAX_LINE
from detect.pipeline.routing import NO_HOST, host_of
from detect.sources.files import READ_ERRORS, decompressed

WHOLE = 1 << 20  # a file (or a compressed file's decompressed head) read whole up to this size
SHARE = 32  # of a larger plain file, about 1/SHARE of its bytes (at least WHOLE) are sampled
MOST = 64 << 20  # but no more than this of one file (~0.1 s: a file of 100 GB is not 3 GB read)
WINDOWS = 32  # the windows a larger plain file's sample is read in, start to end
PARALLEL_MIN = 16  # from this many files, the probe shares them out to `jobs` processes
# A line's `node=` prefix, found after the newline before it (a block's first line is looked
# at on its own): `^` with re.MULTILINE finds the same, three times slower.
NODE_PREFIX = re.compile(rb"\nnode=([^ \n]*) ")
# Of a line without its newline yet, only this much is kept: enough for its `node=` prefix (a
# line longer than --max-line-bytes is refused anyway), so one endless line is never held whole.
HEAD = MAX_LINE + 1


@dataclass(frozen=True)
class FileProbe:
    """One input file: its size on disk and the lines of each host its sample holds, scaled
    to the whole file (`exact`: the file was read whole, the counts are its lines)."""

    path: str
    size: int
    lines: dict[str, int]
    exact: bool = True
    error: str | None = None  # `path: reason` of a read error in the sample (a corrupt archive)

    @property
    def total(self) -> int:
        return sum(self.lines.values())


def probe_file(path: str) -> FileProbe:
    """Sample `path` (compressed files are read decompressed). A read error part way (a
    truncated or corrupt archive) ends the sample with the lines before it, and is its
    `error`."""
    size = os.path.getsize(path)
    with open(path, "rb") as raw:
        stream = decompressed(raw)
        if stream is raw and size > WHOLE:
            return _sampled(path, size, _windows(raw, size))
        errors: list[str] = []
        counts, read, ended = _head(stream, path, errors)
        if ended:
            return FileProbe(path, size, counts, error=errors[0] if errors else None)
        consumed = max(raw.tell(), 1)  # compressed bytes behind the `read` decompressed ones
        return _scaled(path, size, counts, read * size / consumed, read)


def probe_files(paths: Sequence[str], jobs: int = 1) -> list[FileProbe | Exception]:
    """Each file's probe, or what stopped it (as `probe_file` raises it), in `paths` order;
    shared out to `jobs` processes when there are many files."""
    if jobs <= 1 or len(paths) < PARALLEL_MIN:
        return [_guarded(path) for path in paths]
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(jobs, mp_context=context) as pool:
        return list(pool.map(_guarded, paths, chunksize=max(1, len(paths) // (4 * jobs))))


def _guarded(path: str) -> FileProbe | Exception:
    try:
        return probe_file(path)
    except Exception as error:
        return error


def _head(stream: BinaryIO, path: str, errors: list[str]) -> tuple[dict[str, int], int, bool]:
    """The host counts of the whole lines in the first WHOLE bytes of `stream` (all of its
    lines when it ends by then, or when a read error ends it: to `errors`), the bytes they
    take, and whether it ended."""
    blocks: list[bytes] = []
    read = 0
    while read <= WHOLE:
        try:
            piece = stream.read1(WHOLE + 1 - read)  # type: ignore[attr-defined]
        except READ_ERRORS as error:
            errors.append(f"{path}: {error}")
            piece = b""
        if not piece:
            return count_lines(blocks), read, True
        blocks.append(piece)
        read += len(piece)
    data = b"".join(blocks)
    whole = data[: data.rfind(b"\n") + 1]  # the last line goes on: not counted
    return count_lines([whole]), len(whole), False


def _windows(raw: BinaryIO, size: int) -> Iterator[bytes]:
    """The whole lines of WINDOWS windows of a plain file, spread from its start to its end."""
    width = min(max(WHOLE, size // SHARE), MOST) // WINDOWS
    for index in range(WINDOWS):
        start = (size - width) * index // (WINDOWS - 1)
        raw.seek(start)
        block = raw.read(width)
        first = 0 if start == 0 else block.find(b"\n") + 1  # a line begun before: not ours
        last = block.rfind(b"\n") + 1
        if first < last:
            yield block[first:last]


def _sampled(path: str, size: int, windows: Iterable[bytes]) -> FileProbe:
    counts: Counter[str] = Counter()
    read = 0
    for window in windows:
        counts.update(count_lines([window]))
        read += len(window)
    return _scaled(path, size, dict(counts), size, read)


def _scaled(path: str, size: int, counts: dict[str, int], scale: float, read: int) -> FileProbe:
    """`counts` of `read` bytes, for a file of about `scale` bytes; a file whose sample held no
    whole line (lines longer than a window) is `""`'s until it is read."""
    if not counts:
        return FileProbe(path, size, {NO_HOST: 1}, exact=False)
    factor = scale / max(read, 1)
    estimated = {host: max(1, round(n * factor)) for host, n in counts.items()}
    return FileProbe(path, size, estimated, exact=False)


# -- counting ---------------------------------------------------------------------------------


def count_lines(blocks: Iterable[bytes]) -> dict[str, int]:
    """Lines per host of the bytes `blocks` give (cut anywhere; a last line without its
    newline counts). Blocks are searched where they lie: only a line cut between two blocks
    is joined (its first HEAD bytes)."""
    counts: Counter[str] = Counter()
    rest = b""  # the start of a line cut at the end of the previous block
    for block in blocks:
        start = 0
        if rest:
            newline = block.find(b"\n")
            if newline < 0:
                rest += block[: max(HEAD - len(rest), 0)]
                continue
            _count_hosts(rest + block[: min(newline, HEAD)] + b"\n", 0, None, counts)
            start = newline + 1
        cut = block.rfind(b"\n") + 1
        if cut > start:
            _count_hosts(block, start, cut, counts)
        tail = max(cut, start)
        rest = block[tail : tail + HEAD]
    if rest:
        _count_hosts(rest + b"\n", 0, None, counts)
    return dict(counts)


def _count_hosts(chunk: bytes, start: int, cut: int | None, counts: Counter[str]) -> None:
    """The hosts of the whole lines in chunk[start:cut] (`start`: a line's start)."""
    end = len(chunk) if cut is None else cut
    named = NODE_PREFIX.findall(chunk, start, end)  # the lines after the first
    line_end = chunk.find(b"\n", start, end)
    first = host_of(chunk[start : min(line_end, start + HEAD)].decode("utf-8", "surrogateescape"))
    for host, n in Counter(named).items():
        counts[host.decode("utf-8", "surrogateescape")] += n
    if first != NO_HOST:
        counts[first] += 1
    unnamed = chunk.count(b"\n", start, end) - len(named) - (first != NO_HOST)
    if unnamed:
        counts[NO_HOST] += unnamed
