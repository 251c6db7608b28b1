"""Issue 18 items 2 and 3: numbers beyond 64 bits and Unicode digits are bad fields, counted with
`file:line`, never an exception, never an integer JSON cannot write."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from detect.auditd.numbers import U32_MAX, parse_uint
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
