"""Compressed standard input (issue 17 item 7): `detect stream --stdin` decompresses what its
magic bytes say (the codec table of files, detect.sources.files.CODECS), as it arrives; an
archive cut short is an error after the lines before the cut."""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
import zstandard

from detect.sources.stdin import InputError, StdinSource

CAPTURE = Path(__file__).parents[1] / "auditd" / "captures" / "execve_args.log"  # real, 91 lines
LARGE = Path(__file__).parents[1] / "triage" / "captures" / "host_day.log"  # real, 2282 lines
COMPRESS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    "xz": lzma.compress,
    "bzip2": lambda data: bz2.compress(data, compresslevel=1),
    "zstd": zstandard.ZstdCompressor().compress,
    "plain": lambda data: data,
}


def read_all(data: bytes, piece: int = 4096) -> tuple[list[str], Exception | None]:
    """Every line the source gives for `data` written to a pipe in pieces, and its error."""
    read, write = os.pipe()

    def feed() -> None:
        with os.fdopen(write, "wb") as pipe:
            for start in range(0, len(data), piece):
                pipe.write(data[start : start + piece])
                pipe.flush()

    writer = threading.Thread(target=feed)
    writer.start()
    source = StdinSource(read)
    lines: list[str] = []
    error: Exception | None = None
    try:
        while not source.done:
            batch = source.read()
            if batch is not None:
                assert batch.first_lineno == len(lines) + 1
                lines.extend(batch.lines)
    except InputError as raised:
        error = raised
    finally:
        writer.join()
        os.close(read)
    return lines, error


@pytest.mark.parametrize("codec", sorted(COMPRESS))
def test_compressed_stdin_gives_the_lines_of_the_plain_file(codec: str) -> None:
    plain = CAPTURE.read_bytes()
    lines, error = read_all(COMPRESS[codec](plain))
    assert error is None
    assert lines == plain.decode("utf-8", "surrogateescape").splitlines(keepends=True)


def test_streams_one_after_another_are_read_on(tmp_path: Path) -> None:
    plain = CAPTURE.read_bytes()
    lines, error = read_all(gzip.compress(plain) + gzip.compress(plain), piece=1000)
    assert error is None
    assert len(lines) == 2 * plain.count(b"\n")


@pytest.mark.parametrize("codec", ["gzip", "xz", "zstd"])
def test_a_cut_archive_is_an_error_after_the_lines_before_the_cut(codec: str) -> None:
    plain = LARGE.read_bytes()  # several blocks of each codec: some decode before the cut
    data = COMPRESS[codec](plain)
    lines, error = read_all(data[: len(data) * 3 // 4])
    assert isinstance(error, InputError)
    assert str(error) == f"<stdin>: {codec} input is truncated"
    whole = plain.decode("utf-8", "surrogateescape").splitlines(keepends=True)
    assert 0 < len(lines) < len(whole)
    assert lines[:-1] == whole[: len(lines) - 1]  # the last may be cut


def test_garbage_after_a_magic_is_an_error_naming_the_codec() -> None:
    _, error = read_all(b"\x1f\x8b" + bytes(range(256)) * 4)
    assert isinstance(error, InputError)
    assert str(error).startswith("<stdin>: gzip: ")


def test_input_shorter_than_a_magic_is_plain() -> None:
    assert read_all(b"ab") == (["ab\n"], None)
    assert read_all(b"") == ([], None)
