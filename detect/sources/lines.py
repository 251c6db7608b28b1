"""Lines of files and standard input, one `(text, source, lineno)` at a time: the loop every
batch scan runs once per line, compiled with mypyc (detect/core/native.py). Which files, in
which order, and how each is opened (decompressed by its magic bytes) is `files.py`."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from detect.core.defaults import MAX_LINE
from detect.sources.files import (
    READ_ERRORS,
    STDIN,
    Line,
    SourceStats,
    decompressed,
    expand_inputs,
    open_binary,
)

READ_CHARS = 1 << 16  # characters decoded at a time


def read_lines(
    stream: BinaryIO,
    source: str,
    max_line: int = MAX_LINE,
    read_chars: int = READ_CHARS,
    skip: tuple[str, ...] = (),
) -> Iterator[Line]:
    """(line, source, lineno) for every line. A line longer than `max_line` characters is never
    held whole (one line of a gigabyte, or of a gzip bomb): its first `max_line` + 1 characters
    stand for it (more than `max_line` bytes: the parser refuses them, counted, with
    `file:line`), the rest is read past in bounded pieces. (Characters, as the text reader
    counts them: a shorter line of many-byte characters comes whole, at most 4 bytes each, and
    the parser counts its bytes.)

    The text is read `read_chars` characters at a time and cut at each newline: what
    `readline(max_line + 1)` gives, line by line (tests hold the two together), without a
    call per line. Lines that begin with one of the prefixes `skip` are passed over (still
    numbered): a bundle of a partitioned scan skips the lines of the other bundles' hosts
    without making them (detect.pipeline.hostscan)."""
    text = io.TextIOWrapper(stream, encoding="utf-8", errors="surrogateescape", newline="\n")
    limit = max_line + 1
    lineno = 0
    head = ""  # the start of a line that goes on in the next chunk: shorter than `limit`
    skipping = False  # past the first `limit` characters of a line, up to its newline
    while True:
        chunk: str = text.read(read_chars)
        if not chunk:
            break
        at = 0
        if skipping:
            at = chunk.find("\n") + 1
            if at == 0:
                continue
            skipping = False
        elif head:
            chunk, head = head + chunk, ""
        newline = chunk.find("\n", at)
        while newline >= 0:
            lineno += 1
            if not (skip and _begins(chunk, at, skip)):
                end = at + limit if newline - at >= limit else newline + 1
                yield chunk[at:end], source, lineno
            at = newline + 1
            newline = chunk.find("\n", at)
        if len(chunk) - at >= limit:
            lineno += 1
            if not (skip and _begins(chunk, at, skip)):
                yield chunk[at : at + limit], source, lineno
            skipping = True
        elif at < len(chunk):
            head = chunk[at:]
    if head and not (skip and _begins(head, 0, skip)):
        yield head, source, lineno + 1


def _begins(text: str, at: int, prefixes: tuple[str, ...]) -> bool:
    """Whether `text` has one of `prefixes` at `at` (as a bounded `find`: compiled, that is a
    C call, where `startswith` with a start or a tuple is a generic one)."""
    for prefix in prefixes:  # noqa: SIM110 - hot path, no generator per call
        if text.find(prefix, at, at + len(prefix)) == at:
            return True
    return False


def iter_lines(
    inputs: Iterable[str], stats: SourceStats | None = None, max_line: int = MAX_LINE
) -> Iterator[Line]:
    """Every line of every input in order, read as `read_lines` reads them (`max_line`: the
    bound in bytes, `--max-line-bytes`); an unreadable file is reported and skipped."""
    stats = stats if stats is not None else SourceStats()
    files = expand_inputs(list(inputs) or [STDIN], stats)
    for item in files:
        stats.files += 1
        if item == STDIN:
            try:
                yield from read_lines(decompressed(sys.stdin.buffer), "<stdin>", max_line)
            except READ_ERRORS as error:
                stats.errors.append(f"<stdin>: {error}")
            continue
        try:
            with open_binary(item) as stream:
                yield from read_lines(stream, item, max_line)
        except READ_ERRORS as error:
            stats.errors.append(f"{item}: {error}")
