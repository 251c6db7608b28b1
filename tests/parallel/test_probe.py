"""The probe counts each line for the host its prefix names (`host_of`), however its bytes
are cut into blocks; a small file is counted whole, a large one from samples scaled to it."""

from __future__ import annotations

import gzip
import itertools
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from detect.pipeline import probe
from detect.pipeline.probe import count_lines, probe_file, probe_files
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


def test_a_small_file_is_counted_whole(archive: Path, tmp_path: Path) -> None:
    mixed = archive / "mixed.log"
    plain = probe_file(str(mixed))
    assert plain.exact and +Counter(plain.lines) == +hosts_of(mixed.read_text())
    packed = tmp_path / "mixed.log.gz"
    packed.write_bytes(gzip.compress(mixed.read_bytes()))
    squeezed = probe_file(str(packed))
    assert squeezed.exact and squeezed.lines == plain.lines
    assert squeezed.size == packed.stat().st_size


def interleaved(path: Path, lines: int, hosts: dict[str, int]) -> Counter[str]:
    """`lines` lines of hosts drawn in the proportions `hosts` gives, regularly interleaved."""
    names = [host for host, weight in hosts.items() for _ in range(weight)]
    counts: Counter[str] = Counter()
    with path.open("w") as out:
        for number in range(lines):
            host = names[number % len(names)]
            counts[host] += 1
            prefix = f"node={host} " if host else ""
            out.write(f"{prefix}type=SYSCALL msg=audit(1.{number:03}:{number}): {'x' * 150}\n")
    return counts


def test_a_large_file_is_sampled_and_its_counts_scaled(tmp_path: Path) -> None:
    path = tmp_path / "big.log"
    truth = interleaved(path, 60_000, {"a": 3, "b": 1, "": 1})
    assert path.stat().st_size > 8 * probe.WHOLE
    found = probe_file(str(path))
    assert not found.exact and set(found.lines) == set(truth)
    for host, count in truth.items():
        assert abs(found.lines[host] - count) <= 0.05 * count, (host, found.lines[host], count)


def test_a_large_compressed_file_is_sampled_from_its_head(tmp_path: Path) -> None:
    path = tmp_path / "big.log"
    truth = interleaved(path, 60_000, {"a": 1, "b": 1})
    packed = tmp_path / "big.log.gz"
    packed.write_bytes(gzip.compress(path.read_bytes()))
    found = probe_file(str(packed))
    assert not found.exact and set(found.lines) == {"a", "b"}
    for host, count in truth.items():  # scaled by the compressed bytes read: rough
        assert 0.5 * count <= found.lines[host] <= 2 * count, (host, found.lines[host], count)


def test_several_processes_probe_what_one_does(
    archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many files are shared out to processes (PARALLEL_MIN lowered for the captures); a
    missing file is its error."""
    monkeypatch.setattr(probe, "PARALLEL_MIN", 1)
    paths = [str(archive / "mixed.log"), str(archive / "local.log"), str(tmp_path / "gone.log")]
    alone = probe_files(paths, 1)
    shared = probe_files(paths, 3)
    assert shared[:2] == alone[:2]
    assert isinstance(alone[2], FileNotFoundError) and isinstance(shared[2], FileNotFoundError)
