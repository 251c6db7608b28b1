"""Issue 18 items 5 and 6: a line is bounded while it is read, by every source (files, pipes
and sockets, `--follow`), and partial lines are never joined again on every read."""

from __future__ import annotations

import io
import time
from pathlib import Path

from detect.core.defaults import MAX_LINE
from detect.sources.follow import Follower
from detect.sources.lines import read_lines
from detect.sources.live import LineBatcher
from tests.hardening.helpers import capture_lines

LINES = capture_lines("execve_args")[:6]
LONG = 3 * MAX_LINE + 12345


def test_a_file_line_longer_than_the_bound_is_read_past_in_pieces() -> None:
    data = "".join(LINES) + "A" * LONG + "\n" + "".join(LINES)
    got = list(read_lines(io.BytesIO(data.encode()), "x.log"))
    assert [n for _, _, n in got] == list(range(1, 14))
    assert [text for text, _, _ in got[:6]] == LINES and [t for t, _, _ in got[7:]] == LINES
    assert len(got[6][0]) == MAX_LINE + 1  # what stands for the long line: refused, counted


def test_a_pipe_line_without_newline_costs_linear_time_and_bounded_memory() -> None:
    batcher = LineBatcher("<stdin>")
    chunk = b"A" * 65536
    started = time.process_time()
    for _ in range(50 * 16):  # 50 MB without a newline: re-joined on every read, 11.7 s
        assert batcher.push(chunk) is None
    batch = batcher.push(b"\n" + "".join(LINES).encode())
    assert time.process_time() - started < 2
    assert batch is not None and batch.lines[1:] == LINES
    assert len(batch.lines[0]) == MAX_LINE + 2  # the prefix and its newline


def test_follow_bounds_a_long_line_and_keeps_true_offsets(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    log.write_text("".join(LINES))
    follower = Follower(str(log), from_beginning=True, sleep=lambda s: None)
    follower.open()
    got: list[str] = []
    with log.open("a") as file:
        for _ in range(LONG // 100_000):
            file.write("B" * 100_000)
            file.flush()
            batch = follower.read()
            got += batch.lines if batch is not None else []
        file.write("B" * (LONG % 100_000) + "\n" + "".join(LINES))
    for _ in range(10):
        batch = follower.read()
        got += batch.lines if batch is not None else []
    assert got[:6] == LINES and got[7:] == LINES
    assert len(got[6]) <= MAX_LINE + 2
    assert follower.position().offset == log.stat().st_size  # offsets count the real bytes
    assert follower.truncations == 0
    follower.close()
