"""Events of the real captures under tests/auditd/captures, for tests of what builds on them."""

from __future__ import annotations

from pathlib import Path

from detect.auditd.event import AuditEvent
from detect.auditd.reassemble import Reassembler
from detect.sources.files import iter_lines

REPO = Path(__file__).resolve().parent.parent
CAPTURES = REPO / "tests" / "auditd" / "captures"


def capture_events(*names: str) -> list[AuditEvent]:
    """Every event of the named captures (`file_ops`, `connect`…), in completion order."""
    events: list[AuditEvent] = []
    machine = Reassembler(events.append)
    machine.feed(iter_lines([str(CAPTURES / f"{name}.log") for name in names]))
    machine.flush()
    return events


def capture_events_at(path: str) -> list[AuditEvent]:
    """Every event of a capture named by its path from the repository (without `.log`)."""
    events: list[AuditEvent] = []
    machine = Reassembler(events.append)
    machine.feed(iter_lines([str(REPO / f"{path}.log")]))
    machine.flush()
    return events


def by_serial(events: list[AuditEvent], serial: int) -> AuditEvent:
    return next(event for event in events if event.serial == serial)
