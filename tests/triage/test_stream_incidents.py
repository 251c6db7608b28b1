"""`detect stream` writes an incident line when an incident opens, when its level rises, and when
it closes; the closing lines are the incidents a batch scan of the same input writes, byte for
byte (the stream is a child process reading the capture on standard input)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.stream.helpers import DETECT
from tests.triage.helpers import DAY


def incident_lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def test_stream_incident_updates_and_batch_agree(tmp_path: Path) -> None:
    streamed, batch = tmp_path / "stream.jsonl", tmp_path / "batch.jsonl"
    with DAY.open("rb") as lines:
        run = subprocess.run(
            [
                str(DETECT),
                "stream",
                "--stdin",
                "--stats-interval",
                "0",
                "--incidents",
                str(streamed),
                "--host",  # the scan's: a live source would be named after this machine
                "day",
            ],
            stdin=lines,
            capture_output=True,
            timeout=120,
        )
    assert run.returncode == 0, run.stderr.decode()
    scan = subprocess.run(
        [str(DETECT), "scan", "--host", "day", "--incidents", str(batch), str(DAY)],
        capture_output=True,
        timeout=120,
    )
    assert scan.returncode == 1, scan.stderr.decode()
    updates = incident_lines(streamed)
    status = [u["detect"]["incident"]["status"] for u in updates]  # type: ignore[index]
    assert {"open", "raised", "closed"} <= set(status)
    by_id: dict[str, list[str]] = {}
    for update in updates:
        part = update["detect"]["incident"]  # type: ignore[index]
        by_id.setdefault(part["id"], []).append(part["status"])
    for changes in by_id.values():
        assert changes[0] == "open" and changes[-1] == "closed"
        assert set(changes[1:-1]) <= {"raised", "reopened"}
    closed = [u for u in updates if u["detect"]["incident"]["status"] == "closed"]  # type: ignore[index]
    key = lambda u: u["detect"]["incident"]["id"]  # type: ignore[index]  # noqa: E731
    assert sorted(closed, key=key) == sorted(incident_lines(batch), key=key)
    assert len(closed) >= 3
