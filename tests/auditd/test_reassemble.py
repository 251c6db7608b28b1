"""Reassembly: keys, completion, interleaving, expiry by audit time, bounds, serial accounting."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from detect.auditd.event import AuditEvent
from detect.auditd.reassemble import Limits, Reassembler, event_recent_key, recent_key
from detect.auditd.record import parse_line


def line(serial: int, rtype: str = "SYSCALL", ms: int = 0, node: str | None = None) -> str:
    prefix = f"node={node} " if node else ""
    seconds, millis = divmod(1795316486000 + ms, 1000)
    return f"{prefix}type={rtype} msg=audit({seconds}.{millis:03d}:{serial}): x={serial}"


def run(lines: list[str], **options: int) -> tuple[list[AuditEvent], Reassembler]:
    out: list[AuditEvent] = []
    machine = Reassembler(out.append, **options)
    for number, text in enumerate(lines, 1):
        machine.push(text, "t.log", number)
    machine.flush()
    return out, machine


def shape(events: list[AuditEvent]) -> list[tuple[int, list[str], str]]:
    return [(e.serial, e.types, e.completion) for e in events]


def test_eoe_completes_at_once() -> None:
    out: list[AuditEvent] = []
    machine = Reassembler(out.append)
    for text in (line(1), line(1, "PATH"), line(1, "EOE")):
        machine.push(text)
    assert shape(out) == [(1, ["SYSCALL", "PATH"], "eoe")]
    assert machine.inflight == 0


def test_interleaved_records_are_not_closed_by_other_headers() -> None:
    lines = [line(1), line(2), line(1, "PATH"), line(2, "CWD"), line(1, "PROCTITLE")]
    events, _ = run(lines)
    assert shape(events) == [
        (1, ["SYSCALL", "PATH", "PROCTITLE"], "proctitle"),  # its own last record closed it
        (2, ["SYSCALL", "CWD"], "flushed"),
    ]


def test_expiry_by_audit_time_not_arrival() -> None:
    out: list[AuditEvent] = []
    machine = Reassembler(out.append, horizon_ms=2000)
    machine.push(line(1, ms=0))
    machine.push(line(2, ms=1999))
    assert out == []
    machine.push(line(3, ms=2001))
    assert shape(out) == [(1, ["SYSCALL"], "expired")]
    assert machine.stats.expired == 1


def test_standalone_user_records() -> None:
    events, _ = run([line(7, "USER_LOGIN"), line(8, "ADD_USER")])
    assert shape(events) == [(7, ["USER_LOGIN"], "standalone"), (8, ["ADD_USER"], "standalone")]


def test_late_record_is_counted_and_kept() -> None:
    # 3 confirms the step to 2 (one event past the horizon alone expires nothing)
    lines = [line(1), line(2, ms=5000), line(3, ms=5100), line(1, "PATH")]
    events, machine = run(lines)
    assert shape(events) == [
        (1, ["SYSCALL"], "expired"),
        (2, ["SYSCALL"], "flushed"),
        (3, ["SYSCALL"], "flushed"),
        (1, ["PATH"], "late"),
    ]
    assert machine.stats.late_records == 1


def test_same_serial_on_two_nodes_are_two_events() -> None:
    events, _ = run([line(5, node="a"), line(5, node="b"), line(5, "PATH", node="a")])
    assert sorted((e.node, e.types) for e in events) == [
        ("a", ["SYSCALL", "PATH"]),
        ("b", ["SYSCALL"]),
    ]


def test_bound_on_inflight_evicts_oldest_and_counts() -> None:
    events, machine = run([line(n) for n in range(1, 11)], max_inflight=4)
    assert machine.stats.evicted == 6
    assert [e.serial for e in events if e.completion == "evicted"] == [1, 2, 3, 4, 5, 6]
    assert len(events) == 10


def test_serial_gaps_are_lost_events_and_disorder_fills_them() -> None:
    _, machine = run([line(1), line(2), line(5), line(4), line(9)])
    # missing: 3, 6, 7, 8 (4 arrived late and filled its gap)
    assert machine.lost == 4


def test_serial_wrap_counts_across_and_reboot_resets() -> None:
    top = (1 << 32) - 2
    _, machine = run([line(top - 1), line(top), line(1)])
    assert machine.lost == 2  # 4294967295 and 0 never seen: the serial wraps modulo 2**32
    _, rebooted = run([line(900_000_000), line(3, ms=10), line(4, ms=20)])
    assert rebooted.lost == 0  # a second record near the new serial confirms the reset
    assert rebooted.stats.serial_resets == 1 and rebooted.stats.serial_outliers == 0


def test_daemon_serials_do_not_count() -> None:
    _, machine = run([line(3), line(1332, "DAEMON_START"), line(4)])
    assert machine.lost == 0


def test_bad_lines_are_counted_with_location_and_do_not_break_events() -> None:
    lines = [line(1), "garbage here", line(1, "PATH"), "\x00\xff", line(1, "CWD")]
    events, machine = run(lines)
    assert shape(events) == [(1, ["SYSCALL", "PATH", "CWD"], "flushed")]
    assert machine.stats.unparsed == 2
    assert [str(e.location) for e in machine.stats.unparsed_examples] == ["t.log:2", "t.log:4"]


def test_one_bogus_future_timestamp_does_not_expire_everything() -> None:
    far = 10 * 365 * 24 * 3600 * 1000
    lines = [line(1), line(9, ms=far), line(1, "PATH"), line(2, ms=10), line(1, "CWD")]
    events, machine = run(lines, horizon_ms=2000)
    assert shape(events)[0] == (1, ["SYSCALL", "PATH", "CWD"], "flushed")
    assert machine.stats.time_jumps_held == 1
    assert machine.stats.late_records == 0


def test_a_confirmed_clock_jump_moves_audit_time() -> None:
    hour = 3600 * 1000
    out: list[AuditEvent] = []
    machine = Reassembler(out.append, horizon_ms=2000)
    for text in (line(1), line(2, ms=hour), line(3, ms=hour + 5)):
        machine.push(text)
    assert shape(out) == [(1, ["SYSCALL"], "expired")]


def test_expire_completes_one_event_in_flight_and_ignores_others() -> None:
    events: list[AuditEvent] = []
    machine = Reassembler(events.append)
    machine.push("type=SYSCALL msg=audit(1700000000.100:7): arch=c000003e syscall=2 success=yes")
    machine.push('type=CWD msg=audit(1700000000.100:7): cwd="/"')
    machine.push("type=SYSCALL msg=audit(1700000000.200:8): arch=c000003e syscall=2 success=yes")
    first, second = machine.inflight_events()
    machine.expire(first)
    machine.expire(first)  # no longer in flight: nothing happens
    assert [(e.serial, e.completion, len(e.records)) for e in events] == [(7, "expired", 2)]
    assert machine.inflight_events() == [second]
    assert machine.stats.expired == 1


def test_records_held_in_flight_come_back_as_parsed() -> None:
    """An event in flight keeps its later records as a few values each (memory); completed, its
    records are those `parse_line` gives, with the event's node, stamp and serial, from any
    file and line (records of one event can sit far apart, or in two files of a rotation)."""
    lines = [
        ("node=h1 type=SYSCALL msg=audit(1700000000.100:7): arch=c000003e syscall=59", "a.log", 10),
        ("node=h1 type=SYSCALL msg=audit(1700000000.100:8): arch=c000003e syscall=2", "a.log", 11),
        ('node=h1 type=CWD msg=audit(1700000000.100:7): cwd="/root"', "a.log", 900),
        ("node=h1 type=PATH msg=audit(1700000000.100:7): item=0 name=2F746D70", "b.log", 1),
        ("node=h1 type=PROCTITLE msg=audit(1700000000.100:7):proctitle=6C73", "b.log", 2),
    ]
    events: list[AuditEvent] = []
    machine = Reassembler(events.append, host="other")
    machine.feed(lines[:-1])  # its PROCTITLE would complete it
    held = next(e for e in machine.inflight_events() if e.serial == 7)
    assert held.size == sum(len(text) for text, _, _ in lines[:-1]) - len(lines[1][0])
    machine.feed(lines[-1:])
    machine.flush()
    event = next(e for e in events if e.serial == 7)
    expected = [parse_line(*item) for i, item in enumerate(lines) if i != 1]
    got = [(r.type, r.line, r.source, r.lineno, r.body, r.fields) for r in event.records]
    assert got == [(r.type, r.line, r.source, r.lineno, r.body, r.fields) for r in expected]
    assert all(r.node == "h1" and r.stamp is event.stamp and r.serial == 7 for r in event.records)
    assert event.records[3].fields == {"proctitle": "ls"}


# Lines of a few events on two nodes, in any order, with EOEs, standalone records, records
# of an event already completed (late) and times far enough apart to expire events in flight.
REASSEMBLY_LINES = st.builds(
    lambda serial, rtype, ms, node: line(serial, rtype, ms, node),
    st.integers(1, 4),
    st.sampled_from(["SYSCALL", "CWD", "PATH", "EOE", "USER_START"]),
    st.sampled_from([0, 0, 0, 1, 2500, 6000]),
    st.sampled_from([None, "h1", "h2"]),
)


def outcome(machine: Reassembler, events: list[AuditEvent]) -> object:
    done = [
        (e.node, e.serial, e.completion, [(r.type, r.line, r.lineno) for r in e.records])
        for e in events
    ]
    return done, machine.stats.to_dict(), machine.lost


BAD_LINES = st.sampled_from(
    [
        "type=9999 msg=audit(1795316486.000:1): x=1",  # a bad type in a usual header
        "type=SYSCALL msg=audit(1795316486.000:99999999999): x=1",  # serial out of range
        "node=h1 type=CWD msg=audit(1795316486.000:1) x=1",  # not a usual header
        "garbage",
        "x" * 300,  # longer than the tests' max_line_bytes
    ]
)


@given(st.lists(REASSEMBLY_LINES | BAD_LINES, max_size=30), st.sampled_from([10_000, 2]))
def test_a_record_of_the_last_event_takes_the_same_way_as_any_other(
    lines: list[str], max_inflight: int
) -> None:
    """The record after one of the same event skips the lookups (Reassembler._last): what
    it gives is what the lookups give, whatever completed the event in between."""
    quick: list[AuditEvent] = []
    slow: list[AuditEvent] = []
    limits = Limits(max_inflight=max_inflight, max_line_bytes=256)
    machine = Reassembler(quick.append, limits=limits)
    reference = Reassembler(slow.append, limits=limits)
    for number, text in enumerate(lines, 1):
        machine.push(text, "t.log", number)
        reference._last = None  # no shortcut: every record looked up
        reference.push(text, "t.log", number)
    machine.flush()
    reference.flush()
    assert outcome(machine, quick) == outcome(reference, slow)


@given(
    st.integers(0, 10**11 - 1),
    st.text("0123456789", min_size=1, max_size=9),
    st.integers(0, 2**32 - 1),
)
def test_an_events_recent_key_is_its_keys(seconds: int, decimals: str, serial: int) -> None:
    stamp = f"{seconds}.{decimals}"
    event = AuditEvent(parse_line(f"type=CWD msg=audit({stamp}:{serial}): cwd=/"))
    assert event_recent_key(event) == recent_key((stamp, serial))
