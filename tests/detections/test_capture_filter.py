"""capture.py's filter keeps the scenario's own audit changes only when asked (no kernel, no root).

The lines are verbatim from the unfiltered private audit.log of the first `audit_pipeline`
capture (scripts/capture/detections/audit_pipeline.sh): the harness's auditd start and its
backlog setting (no login uid), the scenario's loginuid write (LOGIN), the scenario's
`auditctl -r 50` (CONFIG_CHANGE with its login uid), a kill by the scenario (SYSCALL + OBJ_PID),
and auditd's DAEMON_END after the scenario's SIGTERM.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXCERPT = Path(__file__).with_name("captures") / "audit_pipeline_unfiltered_excerpt.log"


@pytest.fixture(scope="module")
def capture() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "detect_capture_script", ROOT / "scripts" / "capture" / "capture.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def kept_types(capture: ModuleType, **flags: bool) -> list[str]:
    lines = EXCERPT.read_text(encoding="utf-8").splitlines(keepends=True)
    kept, _ = capture.filter_lines(lines, **flags)
    return [line.split(" ", 1)[0].removeprefix("type=") for line in kept]


def test_by_default_audit_changes_are_left_out(capture: ModuleType) -> None:
    assert kept_types(capture) == ["SYSCALL", "OBJ_PID", "PROCTITLE"]


def test_the_scenarios_audit_changes_are_kept_when_asked(capture: ModuleType) -> None:
    assert kept_types(capture, audit_changes=True) == [
        "CONFIG_CHANGE",  # auditctl -r 50 by the scenario (its CONFIG_CHANGE, SYSCALL, ...)
        "SYSCALL",
        "SOCKADDR",
        "PROCTITLE",
        "SYSCALL",  # the kill
        "OBJ_PID",
        "PROCTITLE",
        "DAEMON_END",  # auditd stopped by the scenario
    ]


def test_the_harness_and_the_loginuid_write_stay_out(capture: ModuleType) -> None:
    kept = "".join(
        capture.filter_lines(
            EXCERPT.read_text(encoding="utf-8").splitlines(keepends=True), audit_changes=True
        )[0]
    )
    assert "DAEMON_START" not in kept and "audit_backlog_limit" not in kept
    assert "type=LOGIN" not in kept
