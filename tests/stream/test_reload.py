"""Must show 3: a detection added while streaming (SIGHUP) matches the next event; an event whose
first records arrived before the reload is still whole (reassembly state kept)."""

from __future__ import annotations

import shutil
import signal
import subprocess
from pathlib import Path

from tests.stream.helpers import DETECT, REPO, read_alerts, wait_for, wait_line

SAMPLE = REPO / "detections" / "execution" / "exec_from_temp_dir.log"
ADDED = REPO / "detections" / "execution" / "exec_from_temp_dir.yml"
FIRST = REPO / "detections" / "execution" / "named_pipe_created.yml"
ADDED_ID = "96695c67-2249-44d8-8c3b-8d22f015b4e7"


def matching_events() -> list[list[str]]:
    """The sample's events annotated `match` for the added rule, as lists of lines."""
    events: list[list[str]] = []
    current: list[str] | None = None
    for line in SAMPLE.read_text().splitlines(keepends=True):
        if line.startswith("#"):
            current = [] if line.startswith(f"# match: {ADDED_ID}") else None
            if current is not None:
                events.append(current)
        elif current is not None:
            current.append(line)
    return events


def append(log: Path, lines: list[str]) -> None:
    with log.open("a") as file:
        file.write("".join(lines))


def test_detection_added_by_sighup_matches_next_event(tmp_path: Path) -> None:
    rules, log, out, err = (tmp_path / name for name in ("rules", "audit.log", "a.json", "e"))
    rules.mkdir()
    shutil.copy(FIRST, rules)
    log.write_text("")
    event = matching_events()[0]
    command = [
        str(DETECT), "stream", "--follow", str(log), "--rules", str(rules), "--no-default-rules",
        "--output", str(out), "--stats-interval", "0", "--idle-ms", "2000",
    ]  # fmt: skip
    child = subprocess.Popen(command, stderr=err.open("wb"))
    try:
        wait_line(err, "stream: reading")
        append(log, event[:1])  # the SYSCALL record only: in flight across the reload
        shutil.copy(ADDED, rules)
        child.send_signal(signal.SIGHUP)
        wait_line(err, "stream: reloaded 2 rules")
        append(log, event[1:])
        wait_for(lambda: len(read_alerts(out)) >= 1, what="an alert after the reload")
    finally:
        child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=10) == 0
    alerts = read_alerts(out)
    assert [a["rule"]["id"] for a in alerts] == [ADDED_ID]
    assert len(alerts[0]["detect"]["events"][0]["records"]) == len(event) > 1
