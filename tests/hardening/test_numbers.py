"""Issue 18 items 2 and 3: numbers beyond 64 bits and Unicode digits are bad fields, counted with
`file:line`, never an exception, never an integer JSON cannot write."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from detect.auditd.export import event_to_dict
from detect.auditd.numbers import PRIMARY_FIELDS, U32_MAX, bad_numbers, parse_uint
from detect.auditd.reassemble import Reassembler
from detect.auditd.record import parse_line
from detect.core.errors import ParseError
from tests.hardening.helpers import capture_lines, reassemble, run_detect, summary_of


@pytest.mark.parametrize(
    ("text", "most", "expected"),
    [
        ("0", U32_MAX, 0),
        ("4294967295", U32_MAX, U32_MAX),
        ("4294967296", U32_MAX, None),
        ("9" * 18, (1 << 63) - 1, int("9" * 18)),
        ("9" * 19, (1 << 63) - 1, None),  # above 2**63 - 1
        ("9" * 25, (1 << 63) - 1, None),
        ("9" * 5000, (1 << 63) - 1, None),  # int() itself refuses > 4300 digits
        ("²", U32_MAX, None),  # isdigit() is True
        ("٣", U32_MAX, None),  # isdecimal() is True, int() reads it
        ("", U32_MAX, None),
        ("-1", U32_MAX, None),
        (" 1", U32_MAX, None),
        ("1_0", U32_MAX, None),  # int() takes underscores
    ],
)
def test_parse_uint_takes_ascii_digits_in_range_only(
    text: str, most: int, expected: int | None
) -> None:
    assert parse_uint(text, most) == expected


SYSCALL = capture_lines("execve_args")[0]  # a real SYSCALL line, serial 2118


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (SYSCALL.replace(":2118)", ":99999999999999999999)"), "serial out of range"),
        (SYSCALL.replace(":2118)", ":4294967296)"), "serial out of range"),
        (SYSCALL.replace("type=SYSCALL", "type=²"), "bad record type"),
        (SYSCALL.replace("type=SYSCALL", "type=UNKNOWN[²]"), "bad record type"),
        (SYSCALL.replace(":2118)", ":٣)"), "audit(timestamp:serial)"),
        (SYSCALL.replace("(1795", "(١795"), "bad audit(timestamp:serial)"),
    ],
)
def test_bad_numbers_in_a_header_are_a_parse_error_with_where(line: str, reason: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_line(line, "x.log", 7)
    assert reason in str(caught.value) and "x.log:7" in str(caught.value)


def hostile_file(tmp_path: Path) -> Path:
    """Real lines of execve_args with numbers a user (or garbage) can put there."""
    lines = capture_lines("execve_args")
    bad = [
        SYSCALL.replace(":2118)", ":99999999999999999999)"),
        lines[0].replace("pid=11865", "pid=99999999999999999999999"),
        lines[0].replace("syscall=59", "syscall=²").replace(":2118)", ":3000)"),
        lines[0].replace("exit=0", "exit=-²").replace(":2118)", ":3001)"),
    ]
    execve = next(line for line in lines if line.startswith("type=EXECVE"))
    bad.append(execve.replace("argc=", "argc=²").replace(":2118", ":3002"))
    bad.append(execve.replace("argc=", "argc=" + "9" * 5000).replace(":2118", ":3003"))
    path = tmp_path / "hostile.log"
    path.write_text("".join(lines + bad), errors="surrogateescape")
    return path


def test_events_and_scan_do_not_crash_on_hostile_numbers(tmp_path: Path) -> None:
    path = hostile_file(tmp_path)
    summary = tmp_path / "s.json"
    events = run_detect("events", str(path), "--summary-json", str(summary))
    assert events.returncode == 0, events.stderr
    for line in events.stdout.splitlines():
        json.loads(line)  # every line is JSON a reader takes
    counts = summary_of(summary)
    assert counts["unparsed"] == 1
    assert "hostile.log:" in counts["unparsed_examples"][0]
    scan = run_detect("scan", str(path), "--summary-json", str(tmp_path / "scan.json"))
    assert scan.returncode in (0, 1) and "Traceback" not in scan.stderr, scan.stderr


def test_a_pid_beyond_64_bits_stays_text_in_the_summary_of_the_event(tmp_path: Path) -> None:
    line = SYSCALL.replace("pid=11865", "pid=99999999999999999999999")
    events, machine = reassemble([line])
    assert machine.stats.unparsed == 0 and len(events) == 1
    from detect.auditd.export import event_to_dict

    document = event_to_dict(events[0])
    assert document["process"]["pid"] == "99999999999999999999999"


def test_a_program_named_by_digits_keeps_its_name_as_text() -> None:
    line = re.sub(r'comm="[^"]*"', 'comm="3"', SYSCALL)
    events, _ = reassemble([line])
    process = event_to_dict(events[0])["process"]
    assert process["name"] == "3"
    assert isinstance(process["pid"], int)


def test_bad_numbers_in_record_bodies_are_counted_with_file_and_line(tmp_path: Path) -> None:
    path = hostile_file(tmp_path)
    summary = tmp_path / "s.json"
    events = run_detect("events", str(path), "--summary-json", str(summary))
    assert events.returncode == 0, events.stderr
    counts = summary_of(summary)
    at = {n: line for n, line in enumerate(path.read_text().splitlines(), 1)}
    expected = [
        f"hostile.log:{n}: {name}=" for name, mark in BAD for n in at if mark in at[n]
    ]  # the primary record of each event, and its EXECVE: one line each; the pid line
    # repeats the first event's key after that event's PROCTITLE completed it: an event of
    # its own (late), whose primary record it is
    assert counts["bad_fields"] == len(expected) == 5
    for prefix in expected:
        assert any(prefix in example for example in counts["bad_field_examples"])
        assert any(prefix in line for line in events.stderr.splitlines() if "bad field:" in line)
    assert "bad fields: 5" in events.stderr
    big = next(e for e in counts["bad_field_examples"] if "argc=" in e and "999" in e)
    assert big.endswith("argc='" + "9" * 40 + "...'")  # a 5,000-digit value is cut
    for line in events.stdout.splitlines():
        assert all(-(1 << 63) <= n < (1 << 63) for n in ints(json.loads(line)))
    scan = tmp_path / "scan.json"
    result = run_detect("scan", str(path), "--summary-json", str(scan), "--jobs", "1")
    assert result.returncode in (0, 1) and summary_of(scan)["bad_fields"] == 5, result.stderr


BAD = (
    ("syscall", ":3000)"),
    ("exit", ":3001)"),
    ("argc", ":3002)"),
    ("argc", ":3003)"),
    ("pid", "pid=99999999999999999999999"),
)


def ints(value: object) -> list[int]:
    """Every integer in a JSON document."""
    if isinstance(value, bool):
        return []
    if isinstance(value, int):
        return [value]
    if isinstance(value, dict):
        return [n for item in value.values() for n in ints(item)]
    if isinstance(value, list):
        return [n for item in value for n in ints(item)]
    return []


@pytest.mark.parametrize(
    ("fields", "bad"),
    [
        ({"pid": "1", "exit": "-2", "syscall": "59", "auid": "4294967295"}, []),
        ({"exit": "-9223372036854775808", "ses": "0"}, []),
        ({"exit": "-9223372036854775809"}, ["exit"]),
        ({"exit": "9223372036854775808"}, ["exit"]),
        ({"pid": "4294967296", "ppid": "²", "syscall": "-1"}, ["pid", "ppid", "syscall"]),
        ({"syscall": "abc", "uid": "9" * 30, "comm": "9" * 30}, ["syscall"]),  # ids stay text
    ],
)
def test_bad_numbers_by_field_range(fields: dict[str, str], bad: list[str]) -> None:
    assert [name for name, _ in bad_numbers(fields, PRIMARY_FIELDS)] == bad


def read_all(lines: list[str]) -> Reassembler:
    """Reassembly whose every event is exported (every body read), as `detect events` does."""
    machine = Reassembler(event_to_dict)
    machine.feed((line, "t.log", n) for n, line in enumerate(lines, 1))
    machine.flush()
    return machine


def test_real_captures_have_no_bad_fields() -> None:
    lines = [line for name in ("execve_args", "file_ops", "useradd", "user_msg", "connect")
             for line in capture_lines(name)]  # fmt: skip
    machine = read_all(lines)
    assert machine.stats.events > 50 and machine.stats.bad_fields == 0
    bad = read_all([*lines, SYSCALL.replace("pid=11865", "pid=4294967296").replace(":2118", ":9")])
    assert bad.stats.bad_fields == 1 and bad.stats.bad_field_examples[0].startswith("t.log:")


def test_a_body_nothing_read_is_not_parsed_to_count() -> None:
    """Bodies are parsed only when a stage asks (DESIGN §9): the count never forces it."""
    line = SYSCALL.replace("pid=11865", "pid=4294967296")
    events, machine = reassemble([line])
    assert machine.stats.bad_fields == 0 and events[0].records[0]._fields is None
