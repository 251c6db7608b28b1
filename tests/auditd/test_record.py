"""Header parsing: formats, type names, bad lines with their location."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from detect.auditd.record import HEADER_RE, _parse_line_fast, parse_line, stamp_to_ms
from detect.core.errors import Location, ParseError
from detect.core.timefmt import iso_ms, iso_second

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
        # a superscript is a digit to isdigit() but not to int(): refused, not a crash later
        ("audit: type=1300 audit(17\u00b295.1:5): x=1", "bad audit(timestamp:serial)"),
        ("audit: type=1300 audit(1.\u00b2:5): x=1", "bad audit(timestamp:serial)"),
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


NOISE = ["", " ", "\t", "\n", "(", ")", ":", ".", "=", "x", "é", "\u0663", "\u00b2"]
HEADER_PARTS = [  # each part of a usual header, and what can go wrong with it
    ["", "node=web-1 ", "node= ", "node=a b ", "node=web-1"],
    ["type=", "tipe="],
    ["SYSCALL", "UNKNOWN[1300]", "1300", "[]", "sys", "PATH_", "9999", ""],
    [" msg=audit(", " msg=audit", "msg=audit(", "  msg=audit("],
    ["1795316486", "12345678901", "123456789012", "\u0663", "\u00b2", ""],
    ["."],
    ["890", "123456789", "1234567890", "\u0663", "\u00b2", ""],
    [":"],
    ["4", "99999999999999999999", "999999999999999999999", "\u0663", "\u00b2", ""],
    ["):"],
    ["", " ", "  ", " x=1", "x=1", " type=x"],
]


def _one_change() -> list[str]:
    """Every usual header with one part changed: each variant, each followed by each noise."""
    usual = [variants[0] for variants in HEADER_PARTS]
    lines = []
    for at, variants in enumerate(HEADER_PARTS):
        for variant in variants:
            for noise in NOISE:
                lines.append("".join([*usual[:at], variant + noise, *usual[at + 1 :]]))
    return lines


@st.composite
def headers(draw: st.DrawFn) -> str:
    """Header lines with several parts changed."""
    parts = [variants[0] for variants in HEADER_PARTS]
    for _ in range(draw(st.integers(2, 4))):
        at = draw(st.integers(0, len(HEADER_PARTS) - 1))
        parts[at] = draw(st.sampled_from(HEADER_PARTS[at])) + draw(st.sampled_from(NOISE))
    return "".join(parts)


def _same_as_the_regex(line: str) -> None:
    match = HEADER_RE.match(line)
    try:
        record = _parse_line_fast(line, "-", 0)
    except ParseError:  # a token of the regex's class that names no type: both refuse it
        assert match is not None
        return
    if match is None:
        assert record is None, line
        return
    if record is None:  # digits beyond ASCII (`\\d` takes them): left to the regex
        assert not match.group().isascii(), line
        return
    node, _, stamp, serial = match.groups()
    assert (record.node, record.stamp, record.serial, record.body_at) == (
        node or None,
        stamp,
        int(serial),
        match.end(),
    ), line


def test_the_usual_header_parse_agrees_with_the_regex_on_every_single_change() -> None:
    lines = _one_change()
    assert len(lines) > 500
    for line in lines:
        _same_as_the_regex(line)


def test_a_header_after_one_with_the_same_stamp_agrees_with_the_regex() -> None:
    """The fast parse takes a header that repeats the last one's `stamp:serial):` unchecked:
    after the usual header, after itself, and after each other, every line still parses as
    the regex does."""
    usual = "".join(variants[0] for variants in HEADER_PARTS)
    lines = _one_change()
    for before, line in zip([usual, *lines], lines, strict=False):
        for first in (usual, before, line):
            with contextlib.suppress(ParseError):
                _parse_line_fast(first, "-", 0)
            _same_as_the_regex(line)


@given(headers())
def test_the_usual_header_parse_agrees_with_the_regex_on_several_changes(line: str) -> None:
    _same_as_the_regex(line)


def test_usual_headers_take_the_fast_parse() -> None:
    line = "node=web-1 type=UNKNOWN[1300] msg=audit(1.002:3):  arch=c000003e"
    record = _parse_line_fast(line, "-", 0)
    assert record is not None
    assert (record.node, record.type, record.body) == ("web-1", "SYSCALL", " arch=c000003e")
    assert _parse_line_fast("type=SYSCALL msg=audit(1.2:3) x", "-", 0) is None
    assert _parse_line_fast("node=a tipe=SYSCALL msg=audit(1.2:3): type=x", "-", 0) is None


@given(st.integers(0, 10**11 - 1), st.text("0123456789", min_size=1, max_size=9))
def test_a_stamp_in_milliseconds(seconds: int, decimals: str) -> None:
    stamp = f"{seconds}.{decimals}"
    assert stamp_to_ms(stamp) == seconds * 1000 + int(decimals[:3].ljust(3, "0"))


@given(st.integers(-(10**12), 10**14))
def test_audit_time_as_iso_text(ms: int) -> None:
    seconds, millis = divmod(ms, 1000)
    assert iso_ms(ms) == f"{iso_second(seconds)}.{millis:03d}Z"
