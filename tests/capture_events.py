"""Events of the real captures under tests/auditd/captures, for tests of what builds on them."""

from __future__ import annotations

from pathlib import Path

from detect.auditd.event import AuditEvent
from detect.auditd.reassemble import Reassembler
from detect.sources.files import iter_lines

CAPTURES = Path(__file__).resolve().parent / "auditd" / "captures"


def capture_events(*names: str) -> list[AuditEvent]:
    """Every event of the named captures (`file_ops`, `connect`…), in completion order."""
    events: list[AuditEvent] = []
    machine = Reassembler(events.append)
    machine.feed(iter_lines([str(CAPTURES / f"{name}.log") for name in names]))
    machine.flush()
    return events


def by_serial(events: list[AuditEvent], serial: int) -> AuditEvent:
    return next(event for event in events if event.serial == serial)
