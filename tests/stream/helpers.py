"""Shared by the stream tests that run `detect stream` as a child on files (no kernel)."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
DETECT = REPO / ".venv" / "bin" / "detect"
CAPTURES = REPO / "tests" / "detections" / "captures"


STATEFUL = ("correlation:", "Parent", "Ancestor", "ProcessTree", "ProcessLabels")


def event_rules(folder: Path) -> Path:
    """The shipped detections without correlations or process-tree fields: their state starts
    empty on restart, so they may rightly differ from a batch scan."""
    folder.mkdir()
    for rule in sorted((REPO / "detections").rglob("*.yml")):
        if not any(word in rule.read_text() for word in STATEFUL):
            shutil.copy(rule, folder / f"{rule.parent.name}-{rule.name}")
    return folder


def capture_lines() -> list[bytes]:
    """Every line of the detection captures (real audit.log lines of this machine)."""
    return [
        line
        for path in sorted(CAPTURES.glob("*.log"))
        for line in path.read_bytes().splitlines(keepends=True)
    ]


def read_alerts(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def alert_keys(alerts: list[dict[str, Any]]) -> Counter[tuple[str, str, int]]:
    return Counter(
        (a["rule"]["id"], a["@timestamp"], a["detect"]["events"][0]["serial"]) for a in alerts
    )


def batch_alerts(paths: list[Path], rules: Path, out: Path) -> list[dict[str, Any]]:
    command = [str(DETECT), "scan", *map(str, paths), "--rules", str(rules), "--no-default-rules"]
    command.append("--no-triage")  # every hit: what the stream tests compare, one for one
    with out.open("w") as stream:
        subprocess.run(command, stdout=stream, stderr=subprocess.DEVNULL, check=False)
    return read_alerts(out)


def wait_for(predicate: Any, timeout_s: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def wait_line(path: Path, text: str, timeout_s: float = 20.0) -> None:
    wait_for(lambda: path.exists() and text in path.read_text(), timeout_s, repr(text))
