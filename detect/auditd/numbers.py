"""Numbers in audit text, read one strict way: ASCII digits only, with a range.

`str.isdigit()` accepts `²` and `٣`, and `int()` reads numbers of any size (and refuses more
than 4,300 digits with a ValueError): any local user chooses the command lines, file names and
record counts the kernel logs, so every number taken from a record goes through here. A value
that is not a number in range is None (the caller treats it as a bad field), never an exception,
and never an integer that JSON output cannot write.
"""

from __future__ import annotations

from typing import Final

U32_MAX: Final = (1 << 32) - 1  # the kernel's serial, pids, uids, argc: unsigned int
I64_MAX: Final = (1 << 63) - 1  # what every JSON reader takes as an integer
MAX_DIGITS: Final = 20  # 2**64 has 20 digits: longer text is never in range


def parse_uint(text: str, most: int = I64_MAX) -> int | None:
    """`text` as a decimal number in 0..`most` (ASCII digits only, no sign, no spaces), else
    None."""
    if len(text) > MAX_DIGITS or not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if value <= most else None


def is_uint(text: str, most: int = I64_MAX) -> bool:
    """Whether `parse_uint(text, most)` gives a number."""
    return parse_uint(text, most) is not None


# The decimal fields the pipeline reads as numbers, with the kernel's range of each: the
# primary record's (its SYSCALL, else its first record) `pid` and `ppid` (the process tree,
# ECS), `syscall` (its name) and `exit` (a signed long: errno names, a fork's child), and the
# EXECVE's `argc`. Ids (uid, auid, ses...) stay text everywhere. A value that is not ASCII
# digits in its range is a bad field: reassembly counts it and reports it with its file:line;
# the field keeps its text (parse_uint gives None for it).
I64_MAGNITUDE_MIN: Final = 1 << 63  # |-2**63|
PRIMARY_FIELDS: Final = {"pid": U32_MAX, "ppid": U32_MAX, "syscall": U32_MAX, "exit": I64_MAX}
EXECVE_FIELDS: Final = {"argc": U32_MAX}
SIGNED: Final = frozenset(("exit",))
SHORT: Final = 9  # ASCII digits this long fit every range above: no conversion needed


def bad_numbers(fields: dict[str, str], table: dict[str, int]) -> list[tuple[str, str]]:
    """(name, value) of each field of `table` that is not ASCII digits (with a `-` where the
    field is signed) within its range."""
    out: list[tuple[str, str]] = []
    for name, most in table.items():
        value = fields.get(name)
        if value is None or (len(value) <= SHORT and value.isdigit() and value.isascii()):
            continue
        if not _fits(name, value, most):
            out.append((name, value))
    return out


def _fits(name: str, value: str, most: int) -> bool:
    if name in SIGNED and value.startswith("-"):
        return parse_uint(value[1:], I64_MAGNITUDE_MIN) is not None
    return parse_uint(value, most) is not None
