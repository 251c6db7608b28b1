"""The probe of a partitioned scan's inputs (detect.pipeline.partition): each file's lines
counted per host, by the `node=` prefix of each line (a regular expression over large blocks,
in C). A line without the prefix belongs to the host `""` (logs written without `name_format`).

The probe reads every byte before any worker starts, so it is the serial part of a scan on
many cores: with `jobs` > 1 it runs on as many processes, a file to each, and a large plain
file cut into byte ranges at line starts (a line belongs to the range its first byte is in).
Compressed files are probed whole, decompressed. Counts do not depend on the cutting.
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
from detect.sources.files import HEAD as MAGIC_BYTES
from detect.sources.files import READ_ERRORS, codec_of, open_binary

CHUNK = 1 << 22  # bytes per probe read
# A line's `node=` prefix, found after the newline before it (a block's first line is looked
# at on its own): `^` with re.MULTILINE finds the same, three times slower.
NODE_PREFIX = re.compile(rb"\nnode=([^ \n]*) ")
# Of a line without its newline yet, only this much is kept: enough for its `node=` prefix (a
# line longer than --max-line-bytes is refused anyway), so one endless line is never held whole.
HEAD = MAX_LINE + 1
SPLIT_MIN = 32 << 20  # a plain file is cut into ranges from this size (fork costs ~10 ms)


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


@dataclass(frozen=True)
class Piece:
    """A file to probe whole (`end` None), or the lines of a plain file that begin in
    [start, end)."""

    path: str
    start: int = 0
    end: int | None = None


Part = FileProbe | dict[str, int] | Exception  # a piece's probe: whole, a range's, or a failure


def probe_file(path: str) -> FileProbe:
    """Count each host's lines of `path` (compressed files are read decompressed)."""
    errors: list[str] = []
    with open_binary(path) as stream:
        counts = count_lines(_blocks(stream, path, errors))
    return FileProbe(path, os.path.getsize(path), counts, errors[0] if errors else None)


def probe_range(path: str, start: int, end: int) -> dict[str, int]:
    """Count each host's lines of plain file `path` that begin in [start, end)."""
    with open(path, "rb") as raw:
        return count_lines(_range_blocks(raw, start, end))


def probe_files(paths: Sequence[str], jobs: int = 1) -> list[FileProbe | Exception]:
    """Each file's probe, or what stopped it (as `probe_file` raises it), in `paths` order;
    on `jobs` processes when there is enough to share."""
    if jobs <= 1:
        return [_guarded(path) for path in paths]
    pieces = [piece for path in paths for piece in _pieces(path, jobs)]
    if len(pieces) <= 1:
        return [_guarded(path) for path in paths]
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(min(jobs, len(pieces)), mp_context=context) as pool:
        done = list(pool.map(_probe_piece, pieces))
    by_path: dict[str, list[Part]] = {}
    for piece, result in zip(pieces, done, strict=True):
        by_path.setdefault(piece.path, []).append(result)
    return [_joined(path, by_path[path]) for path in paths]


def _pieces(path: str, jobs: int) -> list[Piece]:
    """`path` whole, or in `jobs` byte ranges when it is a large plain file."""
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as raw:
            plain = codec_of(raw.read(MAGIC_BYTES)) is None
    except OSError:
        return [Piece(path)]  # probed whole: its error is reported as the reader says it
    if not plain or size < SPLIT_MIN:
        return [Piece(path)]
    step = -(-size // jobs)
    return [Piece(path, start, min(start + step, size)) for start in range(0, size, step)]


def _probe_piece(piece: Piece) -> Part:
    if piece.end is None:
        return _guarded(piece.path)
    try:
        return probe_range(piece.path, piece.start, piece.end)
    except Exception as error:
        return error


def _guarded(path: str) -> FileProbe | Exception:
    try:
        return probe_file(path)
    except Exception as error:
        return error


def _joined(
    path: str, parts: list[FileProbe | dict[str, int] | Exception]
) -> FileProbe | Exception:
    total: Counter[str] = Counter()
    for part in parts:
        if isinstance(part, Exception | FileProbe):
            return part  # a whole file's probe, or a range that failed: the file's
        total.update(part)
    return FileProbe(path, os.path.getsize(path), dict(total))


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


def _blocks(stream: BinaryIO, path: str, errors: list[str]) -> Iterator[bytes]:
    """The bytes in blocks of about CHUNK (a plain file's reads as they come; a decompressed
    stream's small pieces joined). A read error (a truncated or corrupt archive) ends them,
    after what was read before it, and goes to `errors`."""
    pending: list[bytes] = []
    size = 0
    while True:
        try:
            piece = stream.read1(CHUNK)  # type: ignore[attr-defined]
        except READ_ERRORS as error:
            errors.append(f"{path}: {error}")
            piece = b""
        if piece:
            pending.append(piece)
            size += len(piece)
        if pending and (not piece or size >= CHUNK):
            yield pending[0] if len(pending) == 1 else b"".join(pending)
            pending, size = [], 0
        if not piece:
            return


def _range_blocks(raw: BinaryIO, start: int, end: int) -> Iterator[bytes]:
    """The bytes of the lines that begin in [start, end): from the first line start at or
    after `start` through the newline that ends the line holding byte end - 1."""
    position = start
    if start > 0:
        raw.seek(start - 1)
        if raw.read(1) != b"\n":  # a line begun before `start`: the previous range's
            position = start + sum(map(len, _rest_of_line(raw)))
    if position >= end:  # no line begins in the range
        return
    raw.seek(position)
    block = b""
    while position < end:
        block = raw.read(min(CHUNK, end - position))
        if not block:
            return
        position += len(block)
        yield block
    if not block.endswith(b"\n"):  # the line that straddles `end` is ours
        yield from _rest_of_line(raw)


def _rest_of_line(raw: BinaryIO) -> Iterator[bytes]:
    """The bytes from here through the next newline (to the end of file when none), in
    bounded pieces."""
    while True:
        block = raw.read(1 << 16)
        if not block:
            return
        newline = block.find(b"\n")
        if newline >= 0:
            yield block[: newline + 1]
            return
        yield block
