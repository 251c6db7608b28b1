"""Header parsing: formats, type names, bad lines with their location."""

from __future__ import annotations

import pytest

from detect.auditd.record import parse_line
from detect.errors import Location, ParseError

SYSCALL = (
    "type=SYSCALL msg=audit(1795316486.890:4): arch=c000003e syscall=59 success=yes exit=0 "
    'a0=5628c4d2a550 items=2 ppid=2146 pid=2162 auid=4294967295 uid=0 comm="auditctl" '
    'exe="/usr/sbin/auditctl" key="exec_t"\n'
)


def test_header_fields() -> None:
    record = parse_line(SYSCALL, "a.log", 7)
    assert (record.node, record.type, record.stamp, record.serial) == (
        None,
        "SYSCALL",
        "1795316486.890",
        4,
    )
    assert record.time_ms == 1795316486890
    assert record.location == Location("a.log", 7)
    assert record.line == SYSCALL


@pytest.mark.parametrize(
    ("line", "node", "rtype"),
    [
        ("node=web-1 " + SYSCALL, "web-1", "SYSCALL"),
        ("type=1300 msg=audit(1.002:3): arch=c000003e", None, "SYSCALL"),
        ("type=UNKNOWN[1327] msg=audit(1.002:3): proctitle=6C73", None, "PROCTITLE"),
        ("type=UNKNOWN[2999] msg=audit(1.002:3): x=1", None, "UNKNOWN[2999]"),
        ('audit: type=1309 audit(1.002:3): argc=1 a0="ls"', None, "EXECVE"),
        ("Nov 22 host audispd: node=h1 type=EOE msg=audit(1.002:3): ", "h1", "EOE"),
    ],
)
def test_formats(line: str, node: str | None, rtype: str) -> None:
    record = parse_line(line)
    assert (record.node, record.type, record.serial) == (node, rtype, 3 if "1.002" in line else 4)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("", "no type= field"),
        ("hello world", "no type= field"),
        ("type=SYSCALL", "no record header"),
        ("type=SYSCALL msg=audit(abc:1): x=1", "bad audit(timestamp:serial)"),
        ("type=SYSCALL msg=audit(1.2): x=1", "bad audit(timestamp:serial)"),
        ("type=SYSCALL something else", "no audit(timestamp:serial) header"),
        ("type=sys$call msg=audit(1.2:3): x", "bad record type"),
        ("type=SYSCALL msg=audit(99999999999999.000:1): x", "absurd timestamp or serial"),
    ],
)
def test_bad_lines_say_where(line: str, reason: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_line(line, "b.log", 3)
    assert caught.value.reason == reason
    assert caught.value.location == Location("b.log", 3)
    assert str(caught.value).startswith(f"b.log:3: {reason}")


@pytest.mark.parametrize("token", ["0", "999", "3000", "UNKNOWN[12]"])
def test_numbers_outside_the_audit_range_are_not_types(token: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_line(f"type={token} msg=audit(1.002:3): x=1")
    assert caught.value.reason == "bad record type"
