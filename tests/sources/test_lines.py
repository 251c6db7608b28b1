"""The line reader cuts decoded chunks at newlines: it must give what reading line by line
with `readline(max_line + 1)` gives (the reader it replaced), wherever chunks end."""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator

from hypothesis import example, given
from hypothesis import strategies as st

from detect.sources.files import Line
from detect.sources.lines import read_lines


def by_readline(data: bytes, source: str, max_line: int) -> Iterator[Line]:
    """The reference: one `readline(max_line + 1)` per line, the rest of a long line read past."""
    text = io.TextIOWrapper(io.BytesIO(data), "utf-8", "surrogateescape", newline="\n")
    limit = max_line + 1
    for lineno in itertools.count(1):
        line = text.readline(limit)
        if not line:
            return
        rest = line
        while len(rest) == limit and not rest.endswith("\n"):
            rest = text.readline(limit)
        yield line, source, lineno


PIECES = st.sampled_from(["a", "bc", "\n", "\n\n", "\r", "\r\n", "\x1d", "é", "\u2028", "xyzw"])
# text of those pieces, and bytes that are not UTF-8 (kept as surrogate escapes)
DATA = st.one_of(
    st.lists(PIECES, max_size=60).map(lambda parts: "".join(parts).encode()),
    st.binary(max_size=80).map(lambda raw: raw.replace(b"\x00", b"\n")),
)


@given(DATA, st.integers(1, 12), st.integers(1, 9))
@example(b"bc\nd\n", 1, 4)  # a line of exactly max_line + 1 characters before its newline
@example(b"abcdef", 5, 2)  # and at the end, without one
def test_chunks_give_the_lines_readline_gives(data: bytes, max_line: int, chunk: int) -> None:
    got = list(read_lines(io.BytesIO(data), "x.log", max_line, read_chars=chunk))
    assert got == list(by_readline(data, "x.log", max_line))


def test_a_long_line_across_many_chunks_stands_as_its_first_characters() -> None:
    data = b"ab\n" + b"x" * 50 + b"\ncd\n" + b"y" * 7 + b"\n" + b"z" * 6
    got = [text for text, _, _ in read_lines(io.BytesIO(data), "-", 5, read_chars=4)]
    assert got == ["ab\n", "xxxxxx", "cd\n", "yyyyyy", "zzzzzz"]


SKIPS = st.lists(st.sampled_from(["a", "bc", "x", "é", "\r", "n=a ", "aa"]), max_size=3)


@given(DATA, st.integers(1, 12), st.integers(1, 9), SKIPS)
@example(b"bcd\nbc\nb", 2, 2, ["bc"])  # a long line that begins with a prefix, a last line
def test_skipped_prefixes_are_the_lines_that_begin_with_them(
    data: bytes, max_line: int, chunk: int, skips: list[str]
) -> None:
    """Passed over: exactly the lines (as cut to max_line + 1 characters) that begin with a
    prefix no longer than that, numbered as when they are read."""
    skip = tuple(prefix for prefix in skips if len(prefix) <= max_line + 1)
    got = list(read_lines(io.BytesIO(data), "x.log", max_line, read_chars=chunk, skip=skip))
    every = read_lines(io.BytesIO(data), "x.log", max_line, read_chars=chunk)
    assert got == [line for line in every if not (skip and line[0].startswith(skip))]
