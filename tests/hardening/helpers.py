"""Shared by the hardening tests (issue 18): real captured lines and small runners."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from detect.auditd.event import AuditEvent
from detect.auditd.reassemble import Limits, Reassembler

REPO = Path(__file__).resolve().parents[2]
DETECT = REPO / ".venv" / "bin" / "detect"
CAPTURES = REPO / "tests" / "auditd" / "captures"
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (drops to nobody)")


def capture_lines(name: str) -> list[str]:
    """A real capture of this machine (its .md says how it was made), line by line."""
    return (CAPTURES / f"{name}.log").read_text(errors="surrogateescape").splitlines(True)


def reassemble(
    lines: list[str], limits: Limits | None = None, horizon_ms: int = 2000
) -> tuple[list[AuditEvent], Reassembler]:
    events: list[AuditEvent] = []
    machine = Reassembler(events.append, horizon_ms=horizon_ms, limits=limits)
    machine.feed((line, "t.log", n) for n, line in enumerate(lines, 1))
    machine.flush()
    return events, machine


def run_detect(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {"DETECT_PURE": "1", "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [str(DETECT), *args], capture_output=True, text=True, timeout=timeout, env=env
    )


def summary_of(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())
