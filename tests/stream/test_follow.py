"""Follow: lines as they are appended, across rotation by rename and truncation, and resume
from a checkpoint (also from the rotated name); Progress says where a checkpoint may be taken."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from detect.pipeline.stream import line_key
from detect.sources.checkpoint import Checkpoint, CheckpointError, Position, Progress
from detect.sources.follow import Follower, rotated_siblings
from detect.sources.live import Batch, FileMark


def follower(path: Path, **kwargs: object) -> Follower:
    source = Follower(str(path), poll_s=0, sleep=lambda _: None, **kwargs)  # type: ignore[arg-type]
    source.open()
    return source


def drain(source: Follower, rounds: int = 3) -> list[Batch]:
    return [batch for _ in range(rounds) if (batch := source.read()) is not None]


def lines_of(batches: list[Batch]) -> list[str]:
    return [line for batch in batches for line in batch.lines]


def test_only_whole_lines_and_their_offsets(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    log.write_bytes(b"one\ntw")
    source = follower(log, from_beginning=True)
    first = drain(source)
    assert lines_of(first) == ["one\n"] and first[0].offsets == [0] and first[0].end == 4
    with log.open("ab") as file:
        file.write(b"o\nthree\n")
    second = drain(source)
    assert lines_of(second) == ["two\n", "three\n"]
    assert second[0].offsets == [4, 8] and second[0].anchor == "one\n"
    assert second[0].first_lineno == 2


def test_starts_at_the_end_without_checkpoint(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    log.write_text("old\n")
    source = follower(log)
    with log.open("a") as file:
        file.write("new\n")
    assert lines_of(drain(source)) == ["new\n"]


def test_rotation_by_rename_reads_old_file_to_its_end(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    log.write_text("a\n")
    source = follower(log, from_beginning=True)
    assert lines_of(drain(source)) == ["a\n"]
    with log.open("a") as file:
        file.write("b\nunfinished")  # written before the rename, read after it
    os.rename(log, f"{log}.1")
    log.write_text("c\n")
    batches = drain(source, 4)
    assert lines_of(batches) == ["b\n", "unfinished", "c\n"]
    assert source.rotations == 1 and batches[-1].offsets == [0]
    assert batches[-1].seq > batches[0].seq


def test_truncation_reads_again_from_start(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    log.write_text("first line\nsecond line\n")
    source = follower(log, from_beginning=True)
    drain(source)
    log.write_text("x\n")  # copytruncate: same inode, shorter
    assert lines_of(drain(source)) == ["x\n"] and source.truncations == 1


def test_resume_from_checkpoint_in_rotated_file(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    log.write_text("a\nb\nc\n")
    source = follower(log, from_beginning=True)
    batch = drain(source)[0]
    mark = batch.mark
    assert mark is not None
    point = Checkpoint.at(Position(mark, batch.offsets[1], 2, "a\n"), [])
    source.close()
    os.rename(log, f"{log}.1")
    log.write_text("d\n")
    resumed = follower(log, resume=point)
    assert lines_of(drain(resumed, 4)) == ["b\n", "c\n", "d\n"]
    assert resumed.warnings == []


def test_resume_refuses_a_changed_file(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    log.write_text("a\nb\n")
    st = log.stat()
    point = Checkpoint(str(log), st.st_dev, st.st_ino, 2, 2, 2, "0" * 32)
    resumed = follower(log, resume=point)
    assert lines_of(drain(resumed)) == ["a\n", "b\n"]
    assert "reading from the start" in resumed.warnings[0]


def test_rotated_siblings_newest_first(tmp_path: Path) -> None:
    for name in ("audit.log.10", "audit.log.2", "audit.log.1", "audit.log.gz", "other.1"):
        (tmp_path / name).write_text("")
    names = [Path(p).name for p in rotated_siblings(str(tmp_path / "audit.log"))]
    assert names == ["audit.log.1", "audit.log.2", "audit.log.10"]


def test_checkpoint_round_trip_and_errors(tmp_path: Path) -> None:
    mark = FileMark("/x", 1, 2)
    point = Checkpoint.at(Position(mark, 10, 3, "line\n"), ["|1.000|5"], 77)
    path = tmp_path / "cp.json"
    point.write(path)
    assert Checkpoint.load(path) == point
    assert Checkpoint.load(tmp_path / "none.json") is None
    path.write_text('{"version": 1, "path": "/x"}')
    with pytest.raises(CheckpointError, match="not a checkpoint"):
        Checkpoint.load(path)
    path.write_text("garbage")
    with pytest.raises(CheckpointError, match="not JSON"):
        Checkpoint.load(path)


SYSCALL = "type=SYSCALL msg=audit(1.000:{n}): x=1\n"
PATH = "type=PATH msg=audit(1.000:{n}): y=2\n"


def test_progress_checkpoints_at_oldest_open_event() -> None:
    mark = FileMark("/x", 1, 2)
    progress = Progress()
    lines = [SYSCALL.format(n=1), SYSCALL.format(n=2), PATH.format(n=2), PATH.format(n=1)]
    at = 0
    for line in lines[:3]:
        progress.line(line_key(line), Position(mark, at, 0))
        at += len(line)
    progress.advance(Position(mark, at, 0))
    progress.completed("|1.000|2")  # event 2 done, event 1 (which started first) still open
    point = progress.checkpoint()
    assert point is not None and point.offset == 0 and point.done == ["|1.000|2"]
    restarted = Progress(point.done)
    restarted.advance(Position(mark, 0, 0))
    again = restarted.checkpoint()  # before any line: the skipped events stay skipped
    assert again is not None and again.done == ["|1.000|2"]
    skipped = [restarted.skip(line_key(line), Position(mark, 0, 0)) for line in lines]
    assert skipped == [False, True, True, False]
    progress.completed("|1.000|1")
    final = progress.checkpoint()
    assert final is not None and final.offset == at and final.done == []
