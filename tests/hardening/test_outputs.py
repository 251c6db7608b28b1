"""Issue 18 items 1 and 10 (must show 3): outputs are opened after privileges are dropped, never
through a symlink, FIFO or hard link someone else placed, only as our own regular file, created
0600, by `stream`, `scan` and `events` alike; a checkpoint someone edited is refused
(test_checkpoint.py)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from detect.cli.commands import main
from detect.outputs.rotating import RotatingFile
from detect.outputs.safe_open import OutputError, open_output
from detect.sources.checkpoint import write_atomic
from tests.hardening.helpers import CAPTURES, DETECT, needs_root
from tests.hardening.rules import echo_hello, write_rules
from tests.stream.helpers import read_alerts, wait_for

NOBODY = 65534
ENV = {"DETECT_PURE": "1"}


def test_a_new_output_is_0600_and_appended(tmp_path: Path) -> None:
    path = tmp_path / "alerts.jsonl"
    with open_output(path) as stream:
        stream.write("one\n")
    with open_output(path) as stream:
        stream.write("two\n")
    assert path.read_text() == "one\ntwo\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_keep_cuts_back_to_the_checkpoints_size_only_when_shorter(tmp_path: Path) -> None:
    path = tmp_path / "alerts.jsonl"
    path.write_text("0123456789")
    open_output(path, keep=4).close()
    assert path.read_text() == "0123"
    open_output(path, keep=100).close()
    assert path.read_text() == "0123"


def test_a_symlink_is_never_followed(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.write_text("precious\n")
    link = tmp_path / "alerts.jsonl"
    link.symlink_to(target)
    with pytest.raises(OutputError, match="symlink"):
        open_output(link, keep=0)
    assert target.read_text() == "precious\n"


def test_a_fifo_or_a_hard_link_is_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(OutputError, match="FIFO"):
        open_output(fifo)  # without O_NONBLOCK this would hang with no reader
    target = tmp_path / "target"
    target.write_text("x")
    os.link(target, tmp_path / "linked")
    with pytest.raises(OutputError, match="hard links"):
        open_output(tmp_path / "linked")


def run_cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


@pytest.mark.parametrize("command", ["scan", "events"])
def test_scan_and_events_create_their_files_0600_and_empty_an_old_one(
    tmp_path: Path, command: str
) -> None:
    rules = write_rules(tmp_path / "rules", ok=echo_hello())
    out, summary = tmp_path / "out.jsonl", tmp_path / "summary.json"
    out.write_text("an older run's output, longer than this run's: " + "x" * 100_000 + "\n")
    out.chmod(0o644)
    extra = (
        ["--no-default-rules", "--rules", str(rules), "--jobs", "1"] if command == "scan" else []
    )
    log = str(CAPTURES / "execve_args.log")
    result = run_cli(command, log, "--output", str(out), "--summary-json", str(summary), *extra)
    assert result.exit_code == (1 if command == "scan" else 0), result.output
    lines = out.read_text().splitlines()
    assert lines and all(json.loads(line) for line in lines)  # emptied first, then written
    assert stat.S_IMODE(summary.stat().st_mode) == 0o600
    assert json.loads(summary.read_text())["records"] > 0
    fresh = tmp_path / "fresh.jsonl"
    run_cli(command, log, "--output", str(fresh), *extra)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o600


@pytest.mark.parametrize("command", ["scan", "events"])
@pytest.mark.parametrize("option", ["--output", "--summary-json"])
def test_scan_and_events_never_write_through_a_symlink(
    tmp_path: Path, command: str, option: str
) -> None:
    target = tmp_path / "target"
    target.write_text("precious\n")
    link = tmp_path / "planted"
    link.symlink_to(target)
    result = run_cli(command, str(CAPTURES / "execve_args.log"), option, str(link))
    assert result.exit_code == 2 and "symlink" in result.output, result.output
    assert target.read_text() == "precious\n"


def test_rotation_keeps_the_mode_and_refuses_a_planted_link(tmp_path: Path) -> None:
    path = tmp_path / "alerts.jsonl"
    rotating = RotatingFile(path, max_bytes=10, backups=2)
    rotating.write("0123456789ab\n")
    rotating.write("next\n")
    rotating.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert (tmp_path / "alerts.jsonl.1").read_text() == "0123456789ab\n"


def test_a_checkpoint_tmp_symlink_is_replaced_not_written_through(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.write_text("precious\n")
    (tmp_path / ".checkpoint.json.tmp").symlink_to(target)
    write_atomic(tmp_path / "checkpoint.json", b"{}\n")
    assert target.read_text() == "precious\n"
    assert (tmp_path / "checkpoint.json").read_bytes() == b"{}\n"


# --- as root, dropping to nobody --------------------------------------------------------------


def stream_command(work: Path, log: Path, rules: Path, out: Path) -> list[str]:
    return [
        str(DETECT), "stream", "--follow", str(log), "--from-beginning", "--user", "nobody",
        "--checkpoint", str(work / "checkpoint.json"), "--no-default-rules",
        "--rules", str(rules), "--output", str(out), "--stats-interval", "0",
    ]  # fmt: skip


@needs_root
def test_stream_as_nobody_writes_nothing_outside_its_own_files(shared_dir: Path) -> None:
    """The output folder belongs to nobody; nobody planted `alerts.jsonl` -> a root file (and
    test_checkpoint.py: a checkpoint that says the alert file was 0 bytes long)."""
    victim = shared_dir / "victim"
    victim.write_text("root's data\n")
    victim.chmod(0o644)
    log = shared_dir / "audit.log"  # root's, unreadable to nobody: opened before the drop
    log.write_text((CAPTURES / "execve_args.log").read_text())
    log.chmod(0o600)
    rules = write_rules(shared_dir / "rules", ok=echo_hello())
    work = shared_dir / "out"
    work.mkdir()
    os.chown(work, NOBODY, NOBODY)
    out = work / "alerts.jsonl"
    out.symlink_to(victim)
    os.lchown(out, NOBODY, NOBODY)
    command = stream_command(work, log, rules, out)
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, env=ENV)
    assert result.returncode == 2 and "symlink" in result.stderr, result.stderr
    assert victim.read_text() == "root's data\n"
    # the link gone, the same command writes its own file, as nobody, 0600
    out.unlink()
    child = subprocess.Popen(command, stderr=subprocess.DEVNULL, env=ENV)
    try:
        wait_for(lambda: len(read_alerts(out)) >= 1, what="an alert as nobody")
    finally:
        child.terminate()
        assert child.wait(timeout=30) == 0
    assert out.stat().st_uid == NOBODY and stat.S_IMODE(out.stat().st_mode) == 0o600
    assert victim.read_text() == "root's data\n"


def test_dropping_to_the_user_we_already_are_is_a_no_op(monkeypatch: pytest.MonkeyPatch) -> None:
    """The plugin wrapper becomes `detect` before it starts us with `--user detect`."""
    from detect.pipeline import privileges

    def refuse(*args: object) -> None:
        raise PermissionError("not root")

    monkeypatch.setattr(os, "getuid", lambda: NOBODY)
    monkeypatch.setattr(os, "geteuid", lambda: NOBODY)
    monkeypatch.setattr(os, "initgroups", refuse)
    assert privileges.drop_to("nobody") == (NOBODY, 65534)
