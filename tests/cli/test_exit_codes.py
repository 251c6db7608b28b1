"""Honest exit codes (issue 17 item 5): 0 no alerts, 1 alerts, 2 error. A truncated or corrupt
archive, an unreadable or missing file, and "no rule loaded" are errors, said after the rest of
the input was read and its alerts written; with `--jobs 1` and `--jobs 2` alike, and for
`detect events`."""

from __future__ import annotations

import bz2
import functools
import gzip
import json
import lzma
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import zstandard

from tests.stream.helpers import DETECT, REPO

CAPTURE = REPO / "tests" / "triage" / "captures" / "host_day.log"  # real: alerts at low+
EXAMPLE = REPO / "examples" / "exec_from_temp_dir.log"  # real: alerts at the default level
QUIET = REPO / "examples" / "connect.log"  # real: no alert at the default level
UNREADABLE = "/proc/self/mem"  # exists, and reading it at offset 0 fails (EIO), even as root
COMPRESS: dict[str, Callable[[bytes], bytes]] = {
    "gz": gzip.compress,
    "xz": lzma.compress,
    "bz2": lambda data: bz2.compress(data, compresslevel=1),  # blocks of 100 kB: several
    "zst": zstandard.ZstdCompressor().compress,
}


@functools.cache
def alone(jobs: str) -> list[str]:
    """The example's alerts, scanned alone."""
    result = detect("scan", "--jobs", jobs, EXAMPLE)
    assert result.returncode == 1
    return ids(result)


def detect(*args: str | Path) -> subprocess.CompletedProcess[str]:
    command = [str(DETECT), *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def ids(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [json.loads(line)["event"]["id"] for line in result.stdout.splitlines()]


def archive(tmp_path: Path, suffix: str, keep: float = 1.0) -> Path:
    """The capture compressed, then cut to `keep` of its bytes (a truncated archive)."""
    data = COMPRESS[suffix](CAPTURE.read_bytes())
    path = tmp_path / f"host_day.log.{suffix}"
    path.write_bytes(data[: int(len(data) * keep)])
    return path


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_no_alert_exits_0_and_alerts_exit_1(jobs: str) -> None:
    assert detect("scan", "--jobs", jobs, QUIET).returncode == 0
    result = detect("scan", "--jobs", jobs, EXAMPLE)
    assert result.returncode == 1
    assert ids(result) == alone(jobs)


@pytest.mark.parametrize("jobs", ["1", "2"])
@pytest.mark.parametrize("suffix", sorted(COMPRESS))
def test_a_truncated_archive_exits_2_after_the_rest_is_read(
    tmp_path: Path, jobs: str, suffix: str
) -> None:
    cut = archive(tmp_path, suffix, keep=0.5)
    result = detect("scan", "--jobs", jobs, cut, EXAMPLE)
    assert result.returncode == 2
    assert f"input error: {cut}: " in result.stderr
    assert "error: 1 input not read whole" in result.stderr
    assert set(alone(jobs)) < set(ids(result))  # the other file's, and the cut one's start
    lines = _summary_lines(result.stderr)
    assert lines > EXAMPLE.read_text().count("\n")  # lines before the cut were scanned


def _summary_lines(stderr: str) -> int:
    line = next(text for text in stderr.splitlines() if text.startswith("files "))
    return int(line.split("lines ")[1].split(",")[0])


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_corrupt_archive_a_missing_and_an_unreadable_file_exit_2(
    tmp_path: Path, jobs: str
) -> None:
    corrupt = tmp_path / "garbled.log.xz"
    data = bytearray(lzma.compress(CAPTURE.read_bytes()))
    data[len(data) // 2 : len(data) // 2 + 64] = bytes(64)
    corrupt.write_bytes(bytes(data))
    missing = tmp_path / "missing.log"
    for bad in (corrupt, missing, UNREADABLE):
        result = detect("scan", "--jobs", jobs, bad, EXAMPLE)
        assert result.returncode == 2, (bad, result.stderr)
        assert "input error: " in result.stderr
        assert set(alone(jobs)) <= set(ids(result))  # the example's alerts were still written


def test_no_rule_loaded_exits_2_after_reading_the_input(tmp_path: Path) -> None:
    empty = tmp_path / "rules"
    empty.mkdir()
    result = detect("scan", "--no-default-rules", "--rules", empty, EXAMPLE)
    assert result.returncode == 2
    assert "error: no rule loaded" in result.stderr
    assert _summary_lines(result.stderr) == 165  # read and reported all the same


def test_events_exit_2_on_a_truncated_archive_after_writing_the_rest(tmp_path: Path) -> None:
    cut = archive(tmp_path, "gz", keep=0.5)
    result = detect("events", cut, EXAMPLE)
    assert result.returncode == 2
    assert f"input error: {cut}: " in result.stderr
    events: list[dict[str, Any]] = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(events) > 26  # the example's 26 and the events before the cut
    assert detect("events", EXAMPLE).returncode == 0


def test_stdin_compressed_is_decompressed_and_a_cut_one_exits_2(tmp_path: Path) -> None:
    plain = alone("1")
    for suffix, compress in COMPRESS.items():
        data = compress(EXAMPLE.read_bytes())
        command = [str(DETECT), "scan", "-"]
        whole = subprocess.run(command, input=data, capture_output=True, timeout=120)
        assert whole.returncode == 1, (suffix, whole.stderr)
        found = [json.loads(line)["event"]["id"] for line in whole.stdout.splitlines()]
        assert found == plain, suffix
        cut = subprocess.run(command, input=data[: len(data) // 2], capture_output=True)
        assert cut.returncode == 2, suffix
        assert b"input error: <stdin>: " in cut.stderr


def test_stream_stdin_compressed_gives_the_alerts_of_scan_and_a_cut_one_exits_2() -> None:
    data = lzma.compress(EXAMPLE.read_bytes())
    command = [str(DETECT), "stream", "--stdin", "--host", "", "--stats-interval", "0"]
    whole = subprocess.run(command, input=data, capture_output=True, timeout=120)
    assert whole.returncode == 0, whole.stderr
    found = [json.loads(line)["event"]["id"] for line in whole.stdout.splitlines()]
    assert sorted(found) == sorted(alone("1"))
    cut = subprocess.run(command, input=data[: len(data) // 2], capture_output=True, timeout=120)
    assert cut.returncode == 2
    assert b"stream: <stdin>: xz input is truncated" in cut.stderr
    assert 0 < len(cut.stdout.splitlines()) < len(found)  # the alerts before the cut
