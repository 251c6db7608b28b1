"""Must show 2: kill -9 while following a log that is being written and rotated; restart from
the checkpoint; the alerts are those of a batch scan of the same files, none missing, none
repeated."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from tests.stream.helpers import (
    DETECT,
    alert_keys,
    batch_alerts,
    capture_lines,
    event_rules,
    read_alerts,
    wait_for,
    wait_line,
)

CHUNK = 80  # lines per write
PAUSE_S = 0.01


def start(log: Path, rules: Path, work: Path, run: int) -> subprocess.Popen[bytes]:
    command = [
        str(DETECT), "stream", "--follow", str(log), "--from-beginning", "--no-triage",
        "--checkpoint", str(work / "checkpoint.json"), "--rules", str(rules),
        "--no-default-rules", "--output", str(work / "alerts.jsonl"), "--stats-interval", "0",
    ]  # fmt: skip
    err = (work / f"stream{run}.err").open("wb")
    child = subprocess.Popen(command, stderr=err)
    wait_line(work / f"stream{run}.err", "stream: reading")
    return child


def write_chunks(log: Path, lines: list[bytes]) -> None:
    with log.open("ab") as file:
        for at in range(0, len(lines), CHUNK):
            file.write(b"".join(lines[at : at + CHUNK]))
            file.flush()
            time.sleep(PAUSE_S)


def checkpoint_offset(work: Path) -> int:
    path = work / "checkpoint.json"
    return json.loads(path.read_text())["offset"] if path.exists() else -1


def test_kill_9_and_restart_equals_batch(tmp_path: Path) -> None:
    lines, rules, log = capture_lines(), event_rules(tmp_path / "rules"), tmp_path / "audit.log"
    third = len(lines) // 3
    log.write_bytes(b"")
    first = start(log, rules, tmp_path, 1)
    write_chunks(log, lines[:third])
    wait_for(lambda: len(read_alerts(tmp_path / "alerts.jsonl")) > 10, what="first alerts")
    first.send_signal(signal.SIGKILL)
    first.wait()
    killed_with = len(read_alerts(tmp_path / "alerts.jsonl"))
    write_chunks(log, lines[third : 2 * third])
    os.rename(log, f"{log}.1")  # rotation while the collector is down
    write_chunks(log, lines[2 * third : 2 * third + CHUNK])
    second = start(log, rules, tmp_path, 2)
    write_chunks(log, lines[2 * third + CHUNK :])
    wait_for(lambda: checkpoint_offset(tmp_path) == log.stat().st_size, what="caught up")
    second.send_signal(signal.SIGTERM)
    assert second.wait(timeout=10) == 0
    streamed = read_alerts(tmp_path / "alerts.jsonl")
    batch = batch_alerts([Path(f"{log}.1"), log], rules, tmp_path / "batch.jsonl")
    assert killed_with > 10 and len(batch) > 100
    assert alert_keys(streamed) == alert_keys(batch)
    assert max(alert_keys(streamed).values()) == 1
    assert "reading from the start" not in (tmp_path / "stream2.err").read_text()
