"""An event completes on its PROCTITLE record: the kernel writes it last in every syscall
event (kernel/auditsc.c, audit_log_exit: after the SYSCALL, auxiliary, CWD and PATH records,
just before the EOE that audit.log files never carry), and auparse completes an event there
too. Before, such an event waited the 2-second horizon of audit time in flight."""

from __future__ import annotations

from pathlib import Path

from detect.auditd.event import AuditEvent
from detect.auditd.reassemble import Reassembler

CAPTURES = Path(__file__).resolve().parent / "captures"


def lines_of(name: str) -> list[str]:
    return (CAPTURES / name).read_text(encoding="utf-8").splitlines()


def first_event(name: str) -> list[str]:
    """The lines of the capture's first event (up to its PROCTITLE)."""
    lines = lines_of(name)
    end = next(i for i, line in enumerate(lines) if line.startswith("type=PROCTITLE"))
    return lines[: end + 1]


def test_a_syscall_event_completes_on_its_proctitle_at_once() -> None:
    out: list[AuditEvent] = []
    machine = Reassembler(out.append)
    lines = first_event("file_ops.log")
    for number, line in enumerate(lines[:-1], 1):
        machine.push(line, "file_ops.log", number)
    assert out == [] and machine.inflight == 1  # SYSCALL, CWD, PATHs: still in flight
    machine.push(lines[-1], "file_ops.log", len(lines))
    (event,) = out  # no flush, no later record: the PROCTITLE closed it
    assert event.types == ["SYSCALL", "CWD", "PATH", "PATH", "PROCTITLE"]
    assert event.completion == "proctitle" and machine.inflight == 0
    assert machine.stats.expired == 0


def test_a_record_after_its_events_proctitle_is_late() -> None:
    out: list[AuditEvent] = []
    machine = Reassembler(out.append)
    lines = first_event("file_ops.log")
    stray = lines[2]  # one of its PATH records again, after the PROCTITLE
    for number, line in enumerate([*lines, stray], 1):
        machine.push(line, "t.log", number)
    machine.flush()
    assert [len(event.records) for event in out] == [5, 1]
    assert machine.stats.late_records == 1 and out[1].completion == "late"


def test_interleaved_events_each_complete_on_their_own_proctitle() -> None:
    out: list[AuditEvent] = []
    machine = Reassembler(out.append)
    for number, line in enumerate(lines_of("interleaved.log"), 1):
        machine.push(line, "interleaved.log", number)
        if line.startswith("type=PROCTITLE"):
            assert out and out[-1].records[-1].line == line  # it closed its own event
    held = machine.inflight
    machine.flush()
    syscall_events = [event for event in out if "SYSCALL" in event.types]
    assert syscall_events and all(e.completion == "proctitle" for e in syscall_events)
    assert held == 0  # nothing left waiting for the horizon


def test_every_capture_event_with_a_proctitle_ends_with_it() -> None:
    for path in sorted(CAPTURES.glob("*.log")):
        out: list[AuditEvent] = []
        machine = Reassembler(out.append)
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            machine.push(line, path.name, number)
        machine.flush()
        for event in out:
            if "PROCTITLE" in event.types:
                assert event.types[-1] == "PROCTITLE", (path.name, event.serial, event.types)
                assert event.completion == "proctitle", (path.name, event.serial)


def test_an_eoe_after_its_events_proctitle_is_expected_not_late() -> None:
    """Where EOE records are kept (a netlink or af_unix stream), each follows its PROCTITLE:
    dropped as every EOE is, not counted late. An EOE after an event that expired is late."""
    out: list[AuditEvent] = []
    machine = Reassembler(out.append)
    lines = first_event("file_ops.log")
    stamp = lines[0].split("msg=")[1].split(":")[0]  # audit(SECONDS.MILLIS
    serial = lines[0].split("):")[0].split(":")[-1]
    eoe = f"type=EOE msg={stamp}:{serial}): "
    for number, line in enumerate([*lines, eoe], 1):
        machine.push(line, "t.log", number)
    machine.flush()
    assert [e.types[-1] for e in out] == ["PROCTITLE"] and machine.stats.late_records == 0
    machine.push(eoe, "t.log", 99)  # a second EOE of that event: late
    assert machine.stats.late_records == 1
