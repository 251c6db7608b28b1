"""Issue 18, the checkpoint: authenticated (an edited one is refused before anything is opened
for writing, nothing truncated), and a checkpoint never waits on a line reassembly refuses or an
event it will never complete (a lone or late EOE)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from detect.outputs.fanout import AlertOutputs
from detect.pipeline.factory import PipelineSettings, build_scan, load_rules
from detect.pipeline.stream import Stream, StreamSettings
from detect.sources.checkpoint import (
    KEY_BYTES,
    Checkpoint,
    CheckpointError,
    Position,
    Progress,
    key_path,
    open_checkpoint,
)
from detect.sources.live import Batch, FileMark
from tests.hardening.helpers import CAPTURES, DETECT, needs_root
from tests.hardening.rules import echo_hello, write_rules
from tests.stream.helpers import read_alerts, wait_for

NOBODY = 65534
ENV = {"DETECT_PURE": "1"}
MARK = FileMark("/var/log/audit/audit.log", 1, 2)


def signed(tmp_path: Path) -> tuple[Path, bytes, Checkpoint]:
    """A first run: the key made, a checkpoint written under it."""
    path = tmp_path / "checkpoint.json"
    resume, key = open_checkpoint(path)
    assert resume is None and len(key) == KEY_BYTES
    point = Checkpoint.at(Position(MARK, 120, 3, "line\n"), ["|1.000|5"], 77, key)
    point.write(path)
    return path, key, point


def edit(path: Path, **changes: Any) -> None:
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


def test_a_checkpoint_round_trips_under_its_key(tmp_path: Path) -> None:
    path, key, point = signed(tmp_path)
    assert "mac" in json.loads(path.read_text())
    resume, again = open_checkpoint(path)
    assert resume == point and again == key and resume.key == key
    keyfile = key_path(path)
    assert stat.S_IMODE(keyfile.stat().st_mode) == 0o600 and keyfile.stat().st_uid == os.geteuid()


@pytest.mark.parametrize(
    "changes",
    [
        {"output_size": 0},  # cut the alert file
        {"offset": 99_999, "lineno": 999},  # skip events
        {"done": ["|1.000|5", "|1.000|6"]},  # skip one more event
        {"mac": "0" * 64},
        {"mac": "é" * 64},  # not ASCII: compare_digest would raise
        {"mac": None},
    ],
)
def test_an_edited_checkpoint_is_refused(tmp_path: Path, changes: dict[str, Any]) -> None:
    path, _, _ = signed(tmp_path)
    edit(path, **changes)
    with pytest.raises(CheckpointError, match="does not verify under its key"):
        open_checkpoint(path)


def test_an_unsigned_checkpoint_is_refused(tmp_path: Path) -> None:
    path, _, _ = signed(tmp_path)
    data = json.loads(path.read_text())
    del data["mac"]
    path.write_text(json.dumps(data))
    with pytest.raises(CheckpointError, match="does not verify"):
        open_checkpoint(path)


def test_a_checkpoint_without_its_key_is_refused(tmp_path: Path) -> None:
    path, key, _ = signed(tmp_path)
    key_path(path).unlink()
    with pytest.raises(CheckpointError, match="no key"):
        open_checkpoint(path)
    path.unlink()
    assert open_checkpoint(path)[0] is None  # neither: a first run, with a new key
    again = open_checkpoint(path)  # a key alone: a first run that stopped early
    assert again[0] is None and again[1] != key


@pytest.mark.parametrize("how", ["group-readable", "symlink", "hard link", "not a key"])
def test_a_key_that_is_not_ours_alone_is_refused(tmp_path: Path, how: str) -> None:
    path, _, _ = signed(tmp_path)
    keyfile = key_path(path)
    if how == "group-readable":
        keyfile.chmod(0o640)
        expected = "must be ours alone"
    elif how == "symlink":
        keyfile.rename(tmp_path / "elsewhere")
        keyfile.symlink_to(tmp_path / "elsewhere")
        expected = "symlink"
    elif how == "hard link":
        os.link(keyfile, tmp_path / "second")
        expected = "2 links"
    else:
        keyfile.write_text("not hex\n")
        expected = "not a checkpoint key"
    with pytest.raises(CheckpointError, match=expected):
        open_checkpoint(path)


def test_a_planted_key_file_is_never_used(tmp_path: Path) -> None:
    """Someone who could write the folder placed a key of their own before the first run."""
    path = tmp_path / "checkpoint.json"
    (tmp_path / "planted").write_text("00" * KEY_BYTES + "\n")
    key_path(path).symlink_to(tmp_path / "planted")
    with pytest.raises(CheckpointError, match="symlink"):
        open_checkpoint(path)


def test_progress_signs_its_checkpoints(tmp_path: Path) -> None:
    path, key, _ = signed(tmp_path)
    progress = Progress(["|1.000|5"], key)
    progress.advance(Position(MARK, 500, 9, "x\n"))
    point = progress.checkpoint(10)
    assert point is not None
    point.write(path)
    resume, _ = open_checkpoint(path)
    assert resume is not None and resume.offset == 500 and resume.output_size == 10


# --- a checkpoint never waits on what reassembly will not complete ------------------------

SYSCALL = "type=SYSCALL msg=audit(1.000:{n}): arch=c000003e syscall=59 pid=1\n"
EOE = "type=EOE msg=audit(1.000:{n}): \n"


def tracked_stream(progress: Progress) -> Stream:
    rules = load_rules(PipelineSettings(default_rules=False))
    settings = StreamSettings(stats_every_s=0)
    return Stream(_NoSource(), build_scan(rules, AlertOutputs()), AlertOutputs(), settings,
                  progress=progress)  # fmt: skip


class _NoSource:
    name, blocking, done = "test", False, False

    def open(self) -> None: ...

    def read(self) -> Batch | None:
        return None

    def close(self) -> None: ...


def push_lines(stream: Stream, lines: list[str], at: int = 0) -> int:
    """One batch of `lines` from byte offset `at`; the offset after them."""
    offsets = []
    for line in lines:
        offsets.append(at)
        at += len(line.encode())
    stream.push(Batch(lines, "audit.log", 1, MARK, offsets, at))
    return at


@pytest.mark.parametrize(
    "stuck",
    [
        "type=1 msg=audit(1.000:7): header-shaped, but no record type\n",
        "type=SYSCALL msg=audit(1.000:99999999999): serial beyond 32 bits\n",
        EOE.format(n=8),  # an EOE whose event was never seen
    ],
)
def test_a_line_reassembly_refuses_or_drops_never_holds_the_checkpoint(stuck: str) -> None:
    progress = Progress()
    stream = tracked_stream(progress)
    lines = [SYSCALL.format(n=1), EOE.format(n=1), stuck, SYSCALL.format(n=2), EOE.format(n=2)]
    end = push_lines(stream, lines)
    assert stream.machine.inflight == 0
    point = progress.checkpoint()
    assert point is not None and point.offset == end, "the checkpoint waits on a dead line"


def test_a_record_in_a_form_only_the_full_parser_takes_holds_the_checkpoint() -> None:
    """A syslog-prefixed record is an event in flight: the checkpoint may not pass it (it would
    be lost on restart)."""
    progress = Progress()
    stream = tracked_stream(progress)
    prefixed = "Dec  7 02:00:00 host audit: " + SYSCALL.format(n=3)
    lines = [SYSCALL.format(n=1), EOE.format(n=1), prefixed, SYSCALL.format(n=2), EOE.format(n=2)]
    push_lines(stream, lines)
    assert stream.machine.inflight == 1
    point = progress.checkpoint()
    assert point is not None and point.offset == sum(len(line) for line in lines[:2])


def test_a_late_eoe_after_expiry_never_holds_the_checkpoint() -> None:
    progress = Progress()
    stream = tracked_stream(progress)
    first = push_lines(stream, [SYSCALL.format(n=1)])
    stream.machine.expire(stream.machine.inflight_events()[0])  # wall-clock expiry, as live
    assert progress.checkpoint() is not None  # a checkpoint forgets events before it
    end = push_lines(stream, [EOE.format(n=1)], first)
    assert stream.machine.stats.late_records == 1
    point = progress.checkpoint()
    assert point is not None and point.offset == end


# --- as root, the dropped user edits the checkpoint -------------------------------------


@needs_root
def test_an_edited_checkpoint_makes_root_refuse_and_truncate_nothing(shared_dir: Path) -> None:
    log = shared_dir / "audit.log"
    log.write_text((CAPTURES / "execve_args.log").read_text())
    log.chmod(0o600)
    rules = write_rules(shared_dir / "rules", ok=echo_hello())
    work = shared_dir / "out"
    work.mkdir()
    os.chown(work, NOBODY, NOBODY)
    out = work / "alerts.jsonl"
    command = [
        str(DETECT), "stream", "--follow", str(log), "--from-beginning", "--user", "nobody",
        "--checkpoint", str(work / "checkpoint.json"), "--no-default-rules", "--no-triage",
        "--rules", str(rules), "--output", str(out), "--stats-interval", "0",
    ]  # fmt: skip
    child = subprocess.Popen(command, stderr=subprocess.DEVNULL, env=ENV)
    try:
        wait_for(lambda: len(read_alerts(out)) >= 1, what="an alert as nobody")
    finally:
        child.terminate()
        assert child.wait(timeout=30) == 0
    keyfile = key_path(work / "checkpoint.json")
    assert keyfile.stat().st_uid == 0 and stat.S_IMODE(keyfile.stat().st_mode) == 0o600
    written = out.read_bytes()
    assert written
    # nobody (who owns the folder and the checkpoint) says the alert file was empty
    edit(work / "checkpoint.json", output_size=0)
    os.chown(work / "checkpoint.json", NOBODY, NOBODY)
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, env=ENV)
    assert result.returncode == 2 and "does not verify" in result.stderr, result.stderr
    assert out.read_bytes() == written
