#!/usr/bin/python3
"""Dump what the Linux audit project's own parser (auparse) makes of a log: one JSON per event.

Run with Debian's /usr/bin/python3 (python3-audit provides `auparse`); it imports nothing from
this project, so that the comparison in test_auparse_agreement.py is with an independent parser.

    /usr/bin/python3 tests/auditd/auparse_dump.py tests/auditd/captures/connect.log

Per event: serial, timestamp ("sec.msec"), node (or null), types (record type names in order),
syscall (interpreted name of the SYSCALL record's `syscall`), argc and argv (EXECVE arguments in
index order; auparse hands out `aN_len` and each `aN[i]` chunk as separate fields, so the chunks'
bytes are joined here), proctitle (auparse's interpretation: NULs become spaces), sockaddr
(the interpreted `saddr` text, e.g. `{ saddr_fam=inet laddr=127.0.0.1 lport=9 }`) and
sockaddr_parts (auparse's interpret_sock_family/address/port), and records: per record its type
and {field: [raw, interpreted]} (first occurrence of a name wins).

The escape mode is AUPARSE_ESC_RAW, so interpretations are the decoded bytes, not shell- or
tty-escaped. auparse's bindings raise UnicodeDecodeError on bytes that are not UTF-8; the bytes
are then taken from the exception and decoded with surrogateescape, which json.dumps writes as
`\\udcXX` escapes: the same strings the project's parser produces for the same bytes.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator
from typing import Any

import auparse

ARG_RE = re.compile(r"a(\d+)(?:\[(\d+)\])?")
SOCK_PARTS = (
    ("family", "interpret_sock_family"),
    ("addr", "interpret_sock_address"),
    ("port", "interpret_sock_port"),
)


def text_of(call: Callable[[], str]) -> str | None:
    """A binding's string result; non-UTF-8 bytes as surrogate escapes; None for a NULL."""
    try:
        return call()
    except UnicodeDecodeError as error:
        return bytes(error.object).decode("utf-8", "surrogateescape")
    except RuntimeError:
        return None


def to_bytes(text: str | None) -> bytes:
    return (text or "").encode("utf-8", "surrogateescape")


class EventDump:
    """Collects one event while auparse walks its records and fields."""

    def __init__(self, au: Any) -> None:
        stamp = au.get_timestamp()
        self.au = au
        self.out: dict[str, Any] = {
            "serial": stamp.serial,
            "timestamp": f"{stamp.sec}.{stamp.milli:03d}",
            "node": stamp.host,
            "types": [],
            "syscall": None,
            "argc": None,
            "argv": None,
            "proctitle": None,
            "sockaddr": None,
            "sockaddr_parts": None,
            "records": [],
        }
        self.args: dict[int, dict[int, bytes]] = {}

    def record_type(self) -> str:
        name = text_of(self.au.get_type_name)
        return name if name else f"UNKNOWN[{self.au.get_type()}]"

    def add_record(self) -> None:
        rtype = self.record_type()
        self.out["types"].append(rtype)
        fields: dict[str, list[str | None]] = {}
        self.out["records"].append({"type": rtype, "fields": fields})
        if not self.au.first_field():
            return
        while True:
            self.add_field(rtype, fields)
            if not self.au.next_field():
                return

    def add_field(self, rtype: str, fields: dict[str, list[str | None]]) -> None:
        name = text_of(self.au.get_field_name) or ""
        raw = text_of(self.au.get_field_str)
        value = text_of(self.au.interpret_field)
        fields.setdefault(name, [raw, value])
        if rtype == "SYSCALL" and name == "syscall":
            self.out["syscall"] = self.out["syscall"] or value
        elif rtype == "EXECVE":
            self.add_arg(name, value)
        elif rtype == "PROCTITLE" and name == "proctitle":
            self.out["proctitle"] = self.out["proctitle"] or value
        elif rtype == "SOCKADDR" and name == "saddr" and self.out["sockaddr"] is None:
            self.out["sockaddr"] = value
            self.out["sockaddr_parts"] = {
                key: text_of(getattr(self.au, call)) for key, call in SOCK_PARTS
            }

    def add_arg(self, name: str, value: str | None) -> None:
        if name == "argc" and value is not None and value.isdigit():
            self.out["argc"] = int(value)
            return
        match = ARG_RE.fullmatch(name)
        if match is None:
            return
        index, chunk = int(match.group(1)), int(match.group(2) or 0)
        self.args.setdefault(index, {}).setdefault(chunk, to_bytes(value))

    def finish(self) -> dict[str, Any]:
        if self.args or self.out["argc"] is not None:
            self.out["argv"] = [
                b"".join(chunks[i] for i in sorted(chunks)).decode("utf-8", "surrogateescape")
                for _, chunks in sorted(self.args.items())
            ]
        return self.out


def dump_events(path: str) -> Iterator[dict[str, Any]]:
    au = auparse.AuParser(auparse.AUSOURCE_FILE, path)
    au.set_escape_mode(auparse.AUPARSE_ESC_RAW)
    while au.parse_next_event():
        if au.get_timestamp() is None:  # auparse could not read the header: nothing to key by
            print(f"{path}: auparse skipped an event without a timestamp", file=sys.stderr)
            continue
        event = EventDump(au)
        if au.first_record():
            while True:
                event.add_record()
                if not au.next_record():
                    break
        yield event.finish()


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(f"usage: {argv[0]} AUDIT_LOG", file=sys.stderr)
        return 2
    for event in dump_events(argv[1]):
        sys.stdout.write(json.dumps(event) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
