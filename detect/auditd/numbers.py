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
