"""Nothing a rule author wrote reaches an audit rule file unescaped.

auditctl reads a rule file line by line and splits each line on blanks; it knows no quotes and
no escapes. So a value with a blank, a newline or another control character cannot be written
as one token (`unsafe_value` says why, and the detection is refused for generation), and every
comment built from a title or a file name is made one line of printable text (`comment_text`).
"""

from __future__ import annotations

import re

UNSAFE_RE = re.compile(r"[\s\x00-\x1f\x7f-\x9f\u2028\u2029]")
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
NAMES = {"\n": "a newline", "\r": "a carriage return", "\t": "a tab", " ": "a blank"}


def unsafe_value(value: str) -> str | None:
    """Why auditctl cannot take `value` as one token (None when it can)."""
    found = UNSAFE_RE.search(value)
    if found is None:
        return None
    char = found.group()
    what = NAMES.get(char) or (
        "a blank" if char.isspace() else f"the control character U+{ord(char):04X}"
    )
    return f"{value!r} holds {what}, which auditctl cannot read inside one value"


def comment_text(text: str) -> str:
    """`text` as one printable comment line: control characters and line breaks become `?`."""
    return CONTROL_RE.sub("?", text)
