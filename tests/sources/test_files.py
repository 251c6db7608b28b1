"""Lines from files: rotation sets oldest first, folders, globs, compression found by magic bytes,
errors reported by path without losing other files, stdin. Inputs are real capture lines."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import zstandard

from detect.sources.files import SourceStats, expand_inputs
from detect.sources.lines import iter_lines

CAPTURES = Path(__file__).parents[1] / "auditd" / "captures"
COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    "bzip2": bz2.compress,
    "xz": lzma.compress,
    "zstd": lambda data: zstandard.ZstdCompressor().compress(data),
}
SUFFIXES = {"gzip": ".gz", "bzip2": ".bz2", "xz": ".xz", "zstd": ".zst"}


def capture_lines(name: str) -> list[bytes]:
    """A capture's lines, with their newlines, exactly as the kernel's auditd wrote them."""
    return (CAPTURES / f"{name}.log").read_bytes().splitlines(keepends=True)


def chunks(name: str, count: int) -> list[bytes]:
    """A capture cut into `count` runs of whole lines, in file order."""
    lines = capture_lines(name)
    size = len(lines) // count
    return [b"".join(lines[i * size : (i + 1) * size]) for i in range(count)]


def read(inputs: list[str]) -> tuple[list[tuple[str, str, int]], SourceStats]:
    stats = SourceStats()
    return list(iter_lines(inputs, stats)), stats


def text(data: bytes) -> list[str]:
    return [line.decode("utf-8", "surrogateescape") for line in data.splitlines(keepends=True)]


def names(paths: list[str], root: Path) -> list[str]:
    return [str(Path(path).relative_to(root)) for path in paths]


def test_rotation_set_is_read_oldest_first(tmp_path: Path) -> None:
    parts = chunks("interleaved", 4)  # oldest first: audit.log.3 holds the earliest lines
    for name in ("audit.log", "audit.log.2", "audit.log.3", "audit.log.1"):  # any creation order
        number = int(name.rsplit(".", 1)[1]) if name[-1].isdigit() else 0
        (tmp_path / name).write_bytes(parts[3 - number])
    stats = SourceStats()
    files = expand_inputs([str(tmp_path)], stats)
    assert names(files, tmp_path) == ["audit.log.3", "audit.log.2", "audit.log.1", "audit.log"]
    lines, stats = read([str(tmp_path)])
    assert [line for line, _, _ in lines] == text(b"".join(parts))
    assert (stats.files, stats.errors) == (4, [])


def test_rotation_numbers_compare_as_numbers(tmp_path: Path) -> None:
    for name in ("audit.log", "audit.log.1", "audit.log.2", "audit.log.9", "audit.log.10"):
        (tmp_path / name).write_bytes(capture_lines("module_load")[0])
    files = expand_inputs([str(tmp_path)], SourceStats())
    assert names(files, tmp_path) == [
        "audit.log.10", "audit.log.9", "audit.log.2", "audit.log.1", "audit.log",
    ]  # fmt: skip


def test_compressed_rotation_set_is_read_oldest_first(tmp_path: Path) -> None:
    parts = chunks("connect", 5)
    kinds = ("zstd", "xz", "bzip2", "gzip")  # audit.log.4.zst … audit.log.1.gz
    for number, kind in zip(range(4, 0, -1), kinds, strict=True):
        path = tmp_path / f"audit.log.{number}{SUFFIXES[kind]}"
        path.write_bytes(COMPRESSORS[kind](parts[4 - number]))
    (tmp_path / "audit.log").write_bytes(parts[4])
    files = expand_inputs([str(tmp_path)], SourceStats())
    assert names(files, tmp_path) == [
        "audit.log.4.zst", "audit.log.3.xz", "audit.log.2.bz2", "audit.log.1.gz", "audit.log",
    ]  # fmt: skip
    lines, stats = read([str(tmp_path)])
    assert [line for line, _, _ in lines] == text(b"".join(parts))
    assert stats.errors == []
    first = lines[0]
    assert (first[1], first[2]) == (str(tmp_path / "audit.log.4.zst"), 1)  # the path as given


def test_folder_is_read_recursively_one_rotation_set_per_folder(tmp_path: Path) -> None:
    layout = {
        "web1/audit.log": "clock_change",
        "web1/audit.log.1.gz": "module_load",
        "db/audit/audit.log": "node_prefix",
        "db/audit/audit.log.2": "connect",
        "db/audit/audit.log.1": "useradd",
        "db/audit/README.md": "user_msg",  # notes beside logs are not audit lines
    }
    for name, capture in layout.items():
        data = (CAPTURES / f"{capture}.log").read_bytes()
        path = tmp_path / "hosts" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    files = expand_inputs([str(tmp_path / "hosts")], SourceStats())
    assert names(files, tmp_path / "hosts") == [
        "db/audit/audit.log.2", "db/audit/audit.log.1", "db/audit/audit.log",
        "web1/audit.log.1.gz", "web1/audit.log",
    ]  # fmt: skip
    lines, stats = read([str(tmp_path / "hosts")])
    expected = ("connect", "useradd", "node_prefix", "module_load", "clock_change")
    assert [line for line, _, _ in lines] == [
        line for capture in expected for line in text((CAPTURES / f"{capture}.log").read_bytes())
    ]
    assert (stats.files, stats.errors) == (5, [])


def test_glob_selects_matching_files_in_rotation_order(tmp_path: Path) -> None:
    for name in ("audit.log", "audit.log.1", "audit.log.2.gz", "other.log"):
        (tmp_path / name).write_bytes(capture_lines("clock_change")[0])
    files = expand_inputs([str(tmp_path / "audit.log*")], SourceStats())
    assert names(files, tmp_path) == ["audit.log.2.gz", "audit.log.1", "audit.log"]
    (tmp_path / "deep" / "er").mkdir(parents=True)
    (tmp_path / "deep" / "er" / "audit.log").write_bytes(capture_lines("clock_change")[1])
    files = expand_inputs([str(tmp_path / "**" / "audit.log")], SourceStats())
    assert names(files, tmp_path) == ["audit.log", "deep/er/audit.log"]


def test_glob_that_matches_folders_reads_them(tmp_path: Path) -> None:
    """`detect events 'archive/host*'` with one folder per host reads every host's logs, as
    naming the folders one by one would; today the folders are dropped and the glob is reported
    as matching nothing."""
    for host, capture in (("host1", "clock_change"), ("host2", "module_load")):
        (tmp_path / "archive" / host).mkdir(parents=True)
        (tmp_path / "archive" / host / "audit.log").write_bytes(
            (CAPTURES / f"{capture}.log").read_bytes()
        )
    stats = SourceStats()
    files = expand_inputs([str(tmp_path / "archive" / "host*")], stats)
    assert stats.errors == []
    assert names(files, tmp_path / "archive") == ["host1/audit.log", "host2/audit.log"]


@pytest.mark.parametrize("kind", sorted(COMPRESSORS))
def test_each_compression_gives_the_real_lines_back(tmp_path: Path, kind: str) -> None:
    data = (CAPTURES / "enriched.log").read_bytes()  # 0x1D separators and non-UTF-8 bytes
    path = tmp_path / f"audit.log.1{SUFFIXES[kind]}"
    path.write_bytes(COMPRESSORS[kind](data))
    lines, stats = read([str(path)])
    assert [line for line, _, _ in lines] == text(data)
    assert [number for _, _, number in lines] == list(range(1, data.count(b"\n") + 1))
    assert stats.errors == []


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        ("gzip", "audit.log.1"),  # no suffix at all
        ("zstd", "audit.log.2.gz"),  # the wrong suffix
        ("xz", "archive.bz2"),
        ("bzip2", "notes.txt"),
        (None, "audit.log.3.zst"),  # plain text with a compressed suffix
    ],
)
def test_compression_is_found_by_magic_bytes_not_by_name(
    tmp_path: Path, kind: str | None, name: str
) -> None:
    data = (CAPTURES / "module_load.log").read_bytes()
    path = tmp_path / name
    path.write_bytes(COMPRESSORS[kind](data) if kind else data)
    lines, stats = read([str(path)])
    assert [line for line, _, _ in lines] == text(data)
    assert stats.errors == []


@pytest.mark.parametrize("kind", sorted(COMPRESSORS))
def test_concatenated_members_are_all_read(tmp_path: Path, kind: str) -> None:
    """`cat a.gz b.gz > c.gz` (and the same for every format) is valid: read both members."""
    first, second = chunks("file_ops", 2)
    path = tmp_path / f"joined{SUFFIXES[kind]}"
    path.write_bytes(COMPRESSORS[kind](first) + COMPRESSORS[kind](second))
    lines, stats = read([str(path)])
    assert [line for line, _, _ in lines] == text(first + second)
    assert stats.errors == []


def test_missing_path_is_reported_and_the_others_are_read(tmp_path: Path) -> None:
    first, second = chunks("clock_change", 2)
    (tmp_path / "a.log").write_bytes(first)
    (tmp_path / "b.log").write_bytes(second)
    missing = str(tmp_path / "gone.log")
    lines, stats = read([str(tmp_path / "a.log"), missing, str(tmp_path / "b.log")])
    assert [line for line, _, _ in lines] == text(first + second)
    assert stats.errors == [f"{missing}: no such file, folder or match"]
    assert stats.files == 2


def truncated(data: bytes) -> bytes:
    return data[: len(data) * 2 // 3]


def garbled(data: bytes) -> bytes:
    """The magic bytes and header stay; the rest is overwritten, as by a bad disk block."""
    return data[:12] + bytes(range(256)) * 4


@pytest.mark.parametrize("damage", [truncated, garbled], ids=["truncated", "garbled"])
@pytest.mark.parametrize("kind", sorted(COMPRESSORS))
def test_corrupt_compressed_file_is_reported_with_its_path(
    tmp_path: Path, kind: str, damage: Callable[[bytes], bytes]
) -> None:
    before, after = chunks("useradd", 2)
    (tmp_path / "audit.log.3").write_bytes(before)
    bad = tmp_path / f"audit.log.2{SUFFIXES[kind]}"
    bad.write_bytes(damage(COMPRESSORS[kind]((CAPTURES / "interleaved.log").read_bytes())))
    (tmp_path / "audit.log.1").write_bytes(after)
    lines, stats = read([str(tmp_path)])
    assert len(stats.errors) == 1, stats.errors
    assert stats.errors[0].startswith(f"{bad}: ")
    sources = [source for _, source, _ in lines]
    good = [line for line, source, _ in lines if source != str(bad)]
    assert good == text(before + after)  # nothing lost from the files around it
    assert sources[0] == str(tmp_path / "audit.log.3")
    assert sources[-1] == str(tmp_path / "audit.log.1")


class FakeStdin(io.TextIOWrapper):
    """What a pipe gives: text on top of a byte buffer (the reader uses `.buffer`)."""


@pytest.mark.parametrize("inputs", [[], ["-"]], ids=["no-path", "dash"])
def test_stdin(monkeypatch: pytest.MonkeyPatch, inputs: list[str]) -> None:
    data = (CAPTURES / "execve_args.log").read_bytes()  # non-UTF-8 bytes, 7.5 kB lines
    monkeypatch.setattr(sys, "stdin", FakeStdin(io.BytesIO(data)))
    lines, stats = read(inputs)
    assert [line for line, _, _ in lines] == text(data)
    assert {source for _, source, _ in lines} == {"<stdin>"}
    assert lines[-1][2] == data.count(b"\n")
    assert (stats.files, stats.errors) == (1, [])


def test_stdin_between_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, middle, last = chunks("file_ops", 3)
    (tmp_path / "a.log").write_bytes(first)
    (tmp_path / "c.log").write_bytes(last)
    monkeypatch.setattr(sys, "stdin", FakeStdin(io.BytesIO(middle)))
    lines, _ = read([str(tmp_path / "a.log"), "-", str(tmp_path / "c.log")])
    assert [line for line, _, _ in lines] == text(first + middle + last)


def test_lines_are_split_on_newline_only_and_keep_every_byte(tmp_path: Path) -> None:
    enriched = capture_lines("enriched")[0]  # holds 0x1D, which str.splitlines() splits on
    binary = b"type=EXECVE msg=audit(1795317166.881:2123): argc=2 a0=\xff\xfe\r x\n"
    path = tmp_path / "audit.log"
    path.write_bytes(enriched + binary + b"no newline at the end")
    lines, _ = read([str(path)])
    assert [line for line, _, _ in lines] == [
        enriched.decode(),
        binary.decode("utf-8", "surrogateescape"),
        "no newline at the end",
    ]
    assert lines[1][0].encode("utf-8", "surrogateescape") == binary
    assert [number for _, _, number in lines] == [1, 2, 3]


def test_empty_and_side_files(tmp_path: Path) -> None:
    (tmp_path / "audit.log").write_bytes(b"")
    (tmp_path / ".checkpoint").write_bytes(b"not a log")
    (tmp_path / "capture.md").write_bytes(b"# notes")
    lines, stats = read([str(tmp_path)])
    assert (lines, stats.files, stats.errors) == ([], 1, [])
    named, stats = read([str(tmp_path / "capture.md")])  # a file named explicitly is read
    assert [line for line, _, _ in named] == ["# notes"]
