"""`detect` leaves without the interpreter's teardown (detect.cli.leave), but only once what
teardown would have written is written: threads joined, open files flushed, atexit handlers
run, the status kept."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = """
import atexit, sys, threading, time
from detect.cli import leave
kept = open(sys.argv[1], "w")  # never closed: teardown would have flushed it
kept.write("alert line\\n")
def late():  # a thread still delivering when the command returns
    time.sleep(0.3)
    kept.write("late line\\n")
threading.Thread(target=late).start()
atexit.register(lambda: open(sys.argv[2], "w").write("atexit ran"))
sys.stdout.write("on stdout")
leave(int(sys.argv[3]) if sys.argv[3].isdigit() else sys.argv[3])
raise SystemExit("not reached")
"""


def _run(tmp_path: Path, code: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-c", SCRIPT, str(tmp_path / "kept"), str(tmp_path / "hook"), code]
    return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60)


def test_leave_flushes_open_files_runs_atexit_and_keeps_the_status(tmp_path: Path) -> None:
    done = _run(tmp_path, "3")
    assert done.returncode == 3
    assert (tmp_path / "kept").read_text() == "alert line\nlate line\n"
    assert (tmp_path / "hook").read_text() == "atexit ran"
    assert done.stdout == "on stdout"


def test_leave_with_a_message_writes_it_and_exits_1(tmp_path: Path) -> None:
    done = _run(tmp_path, "bad input")
    assert done.returncode == 1
    assert done.stderr == "bad input\n"
    assert (tmp_path / "kept").read_text() == "alert line\nlate line\n"
