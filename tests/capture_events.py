"""Events of the real captures under tests/auditd/captures, for tests of what builds on them."""

from __future__ import annotations

from pathlib import Path

from detect.auditd.event import AuditEvent
from detect.auditd.reassemble import Reassembler
from detect.sources.lines import iter_lines

REPO = Path(__file__).resolve().parent.parent
CAPTURES = REPO / "tests" / "auditd" / "captures"
# Every kernel capture the views are checked on, as `capture_events_at` paths (folder/stem).
CAPTURE_FOLDERS = ("tests/auditd/captures", "tests/proctree/captures", "tests/sigma/captures")
ALL_CAPTURES = sorted(
    f"{folder}/{path.stem}" for folder in CAPTURE_FOLDERS for path in (REPO / folder).glob("*.log")
)


def events_of(paths: list[Path]) -> list[AuditEvent]:
    events: list[AuditEvent] = []
    machine = Reassembler(events.append)
    machine.feed(iter_lines([str(path) for path in paths]))
    machine.flush()
    return events


def capture_events(*names: str) -> list[AuditEvent]:
    """Every event of the named captures (`file_ops`, `connect`…), in completion order."""
    return events_of([CAPTURES / f"{name}.log" for name in names])


def capture_events_at(path: str) -> list[AuditEvent]:
    """Every event of a capture named by its path from the repository (without `.log`)."""
    return events_of([REPO / f"{path}.log"])


def by_serial(events: list[AuditEvent], serial: int) -> AuditEvent:
    return next(event for event in events if event.serial == serial)
