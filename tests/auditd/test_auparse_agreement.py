"""Our parser against the audit project's own (auparse) on every real capture.

For each `captures/*.log`, `auparse_dump.py` runs under Debian's /usr/bin/python3 (which has the
`auparse` bindings) and our Reassembler reads the same file. Per event, keyed by
(node, timestamp, serial), both must agree on: the records that form it (types, in order), the
syscall name, the decoded EXECVE argv, the PROCTITLE, the sockaddr (family, address, port,
path), the decoded text fields listed in TEXT_FIELDS, and the ENRICHED interpretations listed in
ENRICHED_FIELDS. Every mismatch is listed; the test fails
once per capture.

Representation differences are normalised here, each one named (see the `auparse:` comments):
they are how auparse prints a value, not a disagreement about what the log says.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from detect.auditd.event import AuditEvent
from detect.auditd.interpret import execve_argv, proctitle_argv, record_interpreted, sockaddr
from detect.auditd.reassemble import Reassembler
from detect.auditd.record import Record

HERE = Path(__file__).resolve().parent
CAPTURES = sorted((HERE / "captures").glob("*.log"))
DUMP = HERE / "auparse_dump.py"
SYSTEM_PYTHON = "/usr/bin/python3"
MIN_CAPTURES = 10

Key = tuple[str | None, str, int]

# Fields whose auparse interpretation is the decoded value itself (no uid/errno/mode naming), so
# it must equal our decoded field. Compared on every record both parsers hold at that position.
TEXT_FIELDS = (
    *("name", "cwd", "exe", "comm", "key"),
    *("op", "acct", "res", "grantors", "hostname", "addr", "terminal"),
)
# ENRICHED logs carry auditd's own interpretation after 0x1D; where it cannot depend on the
# host's user database it must equal auparse's interpretation of the raw field (name.lower()).
ENRICHED_FIELDS = ("ARCH", "SYSCALL", "SADDR")
# auparse: absent values are printed as they appear in the log; we drop them (DESIGN.md §2).
ABSENT = frozenset(("?", "(null)", "(none)"))
# auparse: AF_UNIX is named "local" (AF_LOCAL, the POSIX synonym); we name it "unix".
FAMILY_NAMES = {"local": "unix"}
SOCKADDR_RE = re.compile(r"(\w+)=(\S+)")

Quirk = tuple[str, str, str]  # (capture, what, a text the record's line contains)
# Disagreements where we believe auparse is the odd one out; each must still occur (else the
# entry is stale and the test fails), and each says why it is not our bug. Keyed by content,
# not serial, so that a fresh capture of the same scenario keeps matching.
AUPARSE_QUIRKS: dict[Quirk, str] = {
    # user_msg.log line 15, from `auditctl -m "capture says: it's a \"test\" key=value"`:
    #   msg='text=capture says: it's a "test" key=value exe="/usr/sbin/auditctl" ... res=success'
    # The words after text= are free text, and the apostrophe inside it ends the quoted msg for
    # any tokenizer. auparse lists a field `key` whose value is NULL (interpreted as " ");
    # we read `key=value` literally as the words say. Neither is an audit rule key.
    ("user_msg", "USER.key", "msg='text=capture says: it's"): "auparse: NULL `key` in free text",
}


def auparse_missing() -> str | None:
    """Why the comparison cannot run here, or None."""
    if not Path(SYSTEM_PYTHON).exists():
        return f"{SYSTEM_PYTHON} not found"
    check = subprocess.run([SYSTEM_PYTHON, "-c", "import auparse"], capture_output=True, text=True)
    if check.returncode != 0:
        return f"{SYSTEM_PYTHON} cannot import auparse (Debian package python3-audit)"
    return None


@pytest.fixture(scope="module")
def auparse_ready() -> None:
    reason = auparse_missing()
    if reason is not None:
        pytest.skip(reason)


def load_auparse(path: Path) -> dict[Key, dict[str, Any]]:
    result = subprocess.run(
        [SYSTEM_PYTHON, str(DUMP), str(path)], capture_output=True, text=True, check=True
    )
    events = (json.loads(line) for line in result.stdout.splitlines())
    return {(event["node"], event["timestamp"], event["serial"]): event for event in events}


def load_ours(path: Path) -> dict[Key, AuditEvent]:
    events: list[AuditEvent] = []
    machine = Reassembler(events.append)
    with path.open(encoding="utf-8", errors="surrogateescape", newline="\n") as lines:
        for lineno, line in enumerate(lines, 1):
            machine.push(line, source=str(path), lineno=lineno)
    machine.flush()
    assert machine.stats.unparsed == 0, machine.stats.unparsed_examples
    return {(event.node, event.stamp, event.serial): event for event in events}


def present(value: str | None) -> str | None:
    return None if value is None or value in ABSENT else value


def our_syscall(event: AuditEvent) -> str | None:
    record = event.first("SYSCALL")
    return record_interpreted(record).get("SYSCALL") if record is not None else None


def our_proctitle(event: AuditEvent) -> str | None:
    # auparse: the PROCTITLE's NULs become spaces in one string; so we join our argv with spaces.
    argv = proctitle_argv(event)
    return None if argv is None else " ".join(argv)


def their_sockaddr(text: str | None) -> dict[str, Any] | None:
    """`{ saddr_fam=inet laddr=127.0.0.1 lport=9 }` or `{ saddr_fam=local path=/run/x }`."""
    if text is None:
        return None
    parts = dict(SOCKADDR_RE.findall(text))
    family = parts.get("saddr_fam", "")
    out: dict[str, Any] = {"family": FAMILY_NAMES.get(family, family)}
    if "laddr" in parts:
        out["addr"] = parts["laddr"]
    if "lport" in parts:
        out["port"] = int(parts["lport"])
    if "path" in parts:
        out["path"] = parts["path"]
    return out


def our_sockaddr(event: AuditEvent) -> dict[str, Any] | None:
    record = event.first("SOCKADDR")
    decoded = sockaddr(record) if record is not None else None
    if decoded is None:
        return None
    out: dict[str, Any] = {
        key: decoded[key] for key in ("family", "addr", "port", "path") if key in decoded
    }
    if decoded.get("abstract"):
        # auparse: an abstract unix address is printed without its leading NUL, indistinguishable
        # from a path; we mark it with "@". Compare the name only.
        out["path"] = out["path"].removeprefix("@")
    return out


Mismatch = tuple[str, str, str]  # (what, description, record line): what is "argv", "USER.res"…


def compare_fields(ours: Record, theirs: dict[str, Any]) -> list[Mismatch]:
    problems = []
    for name in TEXT_FIELDS:
        if name not in theirs["fields"] and name not in ours.fields:
            continue
        their_value = present((theirs["fields"].get(name) or [None, None])[1])
        our_value = present(ours.fields.get(name))
        if our_value != their_value:
            what = f"{ours.type}.{name}"
            problems.append((what, f"ours {our_value!r} auparse {their_value!r}", ours.line))
    for name in ENRICHED_FIELDS:
        if name not in ours.enriched:
            continue
        their_value = (theirs["fields"].get(name.lower()) or [None, None])[1]
        if ours.enriched[name] != their_value:
            text = f"ours {ours.enriched[name]!r} auparse {their_value!r}"
            problems.append((f"{ours.type}.{name}", text, ours.line))
    return problems


def compare_event(ours: AuditEvent, theirs: dict[str, Any]) -> list[Mismatch]:
    types = [record.type for record in ours.records]
    if types != theirs["types"]:
        return [("types", f"ours {types} auparse {theirs['types']}", "")]
    problems = []
    checks = (
        ("syscall", our_syscall(ours), theirs["syscall"]),
        ("argv", execve_argv(ours), theirs["argv"]),
        ("proctitle", our_proctitle(ours), theirs["proctitle"]),
        ("sockaddr", our_sockaddr(ours), their_sockaddr(theirs["sockaddr"])),
    )
    for what, our_value, their_value in checks:
        if our_value != their_value:
            problems.append((what, f"ours {shorten(our_value)} auparse {shorten(their_value)}", ""))
    for record, their_record in zip(ours.records, theirs["records"], strict=True):
        for what, text, line in compare_fields(record, their_record):
            problems.append((what, f"{text}\n    line {record.lineno}: {shorten(line)}", line))
    return problems


def shorten(value: object, limit: int = 300) -> str:
    text = value.replace("\x1d", "\\x1d") if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} chars)"


def compare_capture(path: Path) -> tuple[list[str], set[Quirk]]:
    """Every mismatch as text, except known auparse quirks, which are returned apart."""
    ours, theirs = load_ours(path), load_auparse(path)
    problems = [f"{key}: only auparse has this event" for key in theirs.keys() - ours.keys()]
    problems += [f"{key}: only we have this event" for key in ours.keys() - theirs.keys()]
    seen: set[Quirk] = set()
    for key in sorted(ours.keys() & theirs.keys(), key=lambda key: (key[2], key[1])):
        for what, text, line in compare_event(ours[key], theirs[key]):
            quirk = known_quirk(path.stem, what, line)
            if quirk is not None:
                seen.add(quirk)
            else:
                problems.append(f"{key} {what}: {text}")
    return problems, seen


def known_quirk(capture: str, what: str, line: str) -> Quirk | None:
    for quirk in AUPARSE_QUIRKS:
        if quirk[:2] == (capture, what) and quirk[2] in line:
            return quirk
    return None


def test_captures_present() -> None:
    assert len(CAPTURES) >= MIN_CAPTURES, f"expected captures in {HERE / 'captures'}"
    for capture in CAPTURES:
        assert capture.with_suffix(".md").exists(), f"{capture.name} has no provenance note"


@pytest.mark.parametrize("capture", CAPTURES, ids=[path.stem for path in CAPTURES])
def test_agrees_with_auparse(auparse_ready: None, capture: Path) -> None:
    problems, seen = compare_capture(capture)
    stale = {quirk for quirk in AUPARSE_QUIRKS if quirk[0] == capture.stem} - seen
    problems += [f"listed auparse quirk no longer seen: {quirk}" for quirk in sorted(stale)]
    assert not problems, f"{capture.name}: {len(problems)} mismatches\n" + "\n".join(problems)
