"""The progress bar: drawn in a real terminal (tmux), never on a pipe unless asked."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from detect.pipeline.partition import make_bundles, plan_inputs
from detect.pipeline.progress import ScanProgress

DETECT = Path(sys.executable).parent / "detect"


def test_progress_counts_per_worker_and_total(archive: Path) -> None:
    bundles = make_bundles(plan_inputs([str(archive)]), 2)
    out = io.StringIO()
    with ScanProgress(bundles, enabled=True, stream=out) as progress:
        progress.update(0, 1200, bundles[0].size, 7, 2)
        progress.update(1, 300, bundles[1].size // 2, 1, 0)
    text = out.getvalue()
    assert "worker 1" in text and "worker 2" in text and "total" in text
    assert "1,500 records" in text and "8 alerts" in text and "2 incidents" in text


def test_off_draws_nothing(archive: Path) -> None:
    bundles = make_bundles(plan_inputs([str(archive)]), 2)
    out = io.StringIO()
    with ScanProgress(bundles, enabled=False, stream=out) as progress:
        progress.update(0, 1200, 10, 7, 2)
    assert out.getvalue() == ""


def test_no_bar_on_a_pipe_unless_asked(archive: Path) -> None:
    command = [str(DETECT), "scan", str(archive), "--jobs", "2"]
    quiet = subprocess.run(command, capture_output=True, text=True, check=False)
    assert "records" in quiet.stderr and "worker 1" not in quiet.stderr
    asked = subprocess.run([*command, "--progress"], capture_output=True, text=True, check=False)
    assert "worker 1" in asked.stderr and "total" in asked.stderr


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_bar_in_a_real_terminal(archive: Path, tmp_path: Path) -> None:
    done = tmp_path / "done"
    session = f"detect-progress-{os.getpid()}"
    script = (
        f"{DETECT} scan {archive} --jobs 2 --incidents {tmp_path / 'i'} > {tmp_path / 'out'}; "
        f"touch {done}; sleep 60"
    )
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", session, "-x", "200", "-y", "30", script],
        check=True,
        env={**os.environ, "TERM": "xterm-256color"},
    )
    try:
        deadline = time.monotonic() + 60
        while not done.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        screen = subprocess.run(
            ["tmux", "capture-pane", "-p", "-S", "-", "-t", session], capture_output=True, text=True
        ).stdout
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], check=False)
    assert done.exists(), screen
    lines = screen.splitlines()
    assert any(line.startswith("worker 1") and "records" in line for line in lines), screen
    assert any(line.startswith("total") and "alerts" in line for line in lines), screen
