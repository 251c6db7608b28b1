#!/usr/bin/env python3
"""Write a detection sample from a capture: chosen events, verbatim, with their annotations.

    sample.py CAPTURE OUT.log HEADER_TEXT ID:match=S1,S2:ok=S3,S4 [ID:...]

Events are picked by serial (whole events, every record, in file order); each picked event gets
`# match: ID` / `# ok: ID` lines for every spec naming its serial. The header text (provenance)
goes first as `#` comment lines.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

SERIAL_RE = re.compile(r"msg=audit\(\d+\.\d+:(\d+)\):")


def parse_spec(spec: str) -> dict[int, list[str]]:
    rule_id, *parts = spec.split(":")
    notes: dict[int, list[str]] = {}
    for part in parts:
        kind, serials = part.split("=", 1)
        for serial in serials.split(","):
            notes.setdefault(int(serial), []).append(f"# {kind}: {rule_id}")
    return notes


def main(capture: str, out: str, header: str, *specs: str) -> None:
    notes: dict[int, list[str]] = {}
    for spec in specs:
        for serial, lines in parse_spec(spec).items():
            notes.setdefault(serial, []).extend(lines)
    text = [f"# {line}" if line else "#" for line in header.splitlines()]
    seen: set[int] = set()
    for line in Path(capture).read_text().splitlines():
        found = SERIAL_RE.search(line)
        serial = int(found.group(1)) if found else -1
        if serial not in notes:
            continue
        if serial not in seen:
            seen.add(serial)
            text.extend(notes[serial])
        text.append(line)
    missing = sorted(set(notes) - seen)
    if missing:
        raise SystemExit(f"serials not in {capture}: {missing}")
    Path(out).write_text("\n".join(text) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:])
