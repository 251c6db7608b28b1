"""The syscall name of a SYSCALL record from the table of logged texts (`syscall_name_of`) is
the one `syscall_of(arch_of(arch), number)` gives, the first time and every time after, names
and their absence alike, past the table's bound too."""

from __future__ import annotations

from detect.auditd import interpret
from detect.auditd.record import parse_line

CASES = [
    ("c000003e", "59"),  # x86_64 execve
    ("c000003e", "257"),  # openat
    ("40000003", "11"),  # i386 execve
    ("c00000b7", "221"),  # aarch64 execve
    ("c000003e", "99999"),  # no such syscall
    ("c000003e", "x"),  # not a number
    ("deadbeef", "59"),  # no such arch
    ("c000003e", ""),  # no syscall field
]


def test_names_from_the_table_are_those_of_the_lookups() -> None:
    for _ in range(3):
        for arch, number in CASES:
            expected = interpret.syscall_of(interpret.arch_of(arch), number)
            assert interpret.syscall_name_of(arch, number) == expected, (arch, number)
    assert interpret.syscall_name_of("c000003e", "59") == "execve"
    assert interpret.syscall_name_of("c000003e", "99999") is None


def test_the_table_stays_bounded_and_right_when_full() -> None:
    for number in range(interpret.NAME_CACHE + 10):
        assert interpret.syscall_name_of("c000003e", str(number)) == interpret.syscall_of(
            "x86_64", str(number)
        )
    assert all(len(names) <= interpret.NAME_CACHE for names in interpret.SYSCALL_NAMES.values())


def test_a_record_s_syscall_name_and_its_interpretation_agree() -> None:
    line = "type=SYSCALL msg=audit(1.002:3): arch=c000003e syscall=59 success=yes exit=0 pid=7"
    record = parse_line(line)
    assert interpret.syscall_name(record) == "execve"
    assert interpret.record_interpreted(record)["SYSCALL"] == "execve"
