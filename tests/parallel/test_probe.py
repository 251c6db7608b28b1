"""The probe counts each line for the host its prefix names (`host_of`), however its bytes
are cut: into blocks as read, into byte ranges probed on several processes."""

from __future__ import annotations

import gzip
import itertools
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detect.pipeline import probe
from detect.pipeline.probe import count_lines, probe_file, probe_files, probe_range
from detect.pipeline.routing import host_of

PARTS = st.sampled_from(["node=a ", "node=b x", "node=", "node= ", "type=", "\r", "é", "x" * 70])
LINES = st.lists(st.lists(PARTS, max_size=4).map("".join), max_size=30)
POINTS = st.lists(st.integers(min_value=0), max_size=8)


def edges(size: int, points: list[int]) -> list[tuple[int, int]]:
    """[start, end) ranges that cover 0..size, cut at `points` (modulo size + 1)."""
    marks = sorted({0, size, *(point % (size + 1) for point in points)})
    return list(itertools.pairwise(marks))


def hosts_of(text: str) -> Counter[str]:
    """What `host_of` gives each line of `text` (a last line without its newline counts)."""
    if not text:
        return Counter()
    lines = text.split("\n")
    return Counter(host_of(line) for line in (lines[:-1] if text.endswith("\n") else lines))


@given(LINES, POINTS, st.booleans())
def test_blocks_cut_anywhere_count_the_same(
    lines: list[str], points: list[int], last_newline: bool
) -> None:
    text = "\n".join(lines) + ("\n" if last_newline and lines else "")
    data = text.encode()
    found = count_lines(data[a:b] for a, b in edges(len(data), points))
    assert +Counter(found) == +hosts_of(text)


@settings(max_examples=60, deadline=None)
@given(lines=LINES, points=POINTS)
def test_byte_ranges_add_up_to_the_file(
    tmp_path_factory: pytest.TempPathFactory, lines: list[str], points: list[int]
) -> None:
    path = tmp_path_factory.mktemp("ranges") / "audit.log"
    data = "".join(f"{line}\n" for line in lines).encode()
    path.write_bytes(data)
    total: Counter[str] = Counter()
    for start, end in edges(len(data), points):
        total.update(probe_range(str(path), start, end))
    assert +total == +Counter(probe_file(str(path)).lines)


def test_several_processes_probe_what_one_does(
    archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files shared out and a plain file cut in ranges (SPLIT_MIN lowered so that the small
    captures are cut too); a compressed file is probed whole; a missing file is its error."""
    monkeypatch.setattr(probe, "SPLIT_MIN", 1)
    mixed = archive / "mixed.log"
    packed = tmp_path / "mixed.log.gz"
    packed.write_bytes(gzip.compress(mixed.read_bytes()))
    paths = [str(mixed), str(archive / "local.log"), str(packed), str(tmp_path / "gone.log")]
    assert len(probe._pieces(str(mixed), 3)) == 3
    assert probe._pieces(str(packed), 3) == [probe.Piece(str(packed))]
    alone = probe_files(paths, 1)
    shared = probe_files(paths, 3)
    assert shared[:3] == alone[:3]
    assert alone[2] == probe_file(str(packed)) and alone[0].lines == alone[2].lines  # type: ignore[union-attr]
    assert isinstance(alone[3], FileNotFoundError) and isinstance(shared[3], FileNotFoundError)
