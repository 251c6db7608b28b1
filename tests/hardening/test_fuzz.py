"""Issue 18 must show 1: real captured lines mutated every way a user, a fuzzer or a broken
disk can (truncation, bit flips, invalid UTF-8, NUL, huge fields, big and Unicode numbers,
reordering, duplication, far-future and negative timestamps, other nodes), through reassembly,
export (JSON) and the shipped detections: no exception escapes, and every event no mutation
touched comes out whole. Bounded: a fixed number of examples, no deadline per example."""

from __future__ import annotations

import json
import random
import re
from functools import cache
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from detect.auditd.event import AuditEvent
from detect.auditd.export import event_to_dict
from detect.core.alert import Alert
from detect.outputs.events import dumps
from detect.pipeline.factory import build_reassembler, build_scan, load_rules
from detect.pipeline.scan import Scan
from tests.hardening.helpers import capture_lines, run_detect

LINES = capture_lines("execve_args") + capture_lines("connect") + capture_lines("user_msg")
HEADER = re.compile(r"msg=audit\((\d+\.\d+):(\d+)\)")
NUMBER = re.compile(r"(?<=[=:(])\d+")


def key_of(line: str) -> tuple[str, str] | None:
    match = HEADER.search(line)
    return None if match is None else (match.group(1), match.group(2))


ORIGINAL: dict[tuple[str, str], list[str]] = {}
for _line in LINES:
    _key = key_of(_line)
    assert _key is not None
    ORIGINAL.setdefault(_key, []).append(_line)


def truncate(line: str, rnd: random.Random) -> str:
    return line[: rnd.randrange(len(line))] + "\n"


def flip(line: str, rnd: random.Random) -> str:
    data = bytearray(line.encode("utf-8", "surrogateescape"))
    for _ in range(rnd.randint(1, 4)):
        at = rnd.randrange(len(data))
        data[at] ^= 1 << rnd.randrange(8)
    return data.decode("utf-8", "surrogateescape")


def invalid_utf8(line: str, rnd: random.Random) -> str:
    at = rnd.randrange(len(line))
    return line[:at] + b"\xff\xc3(\xf0\x9f".decode("utf-8", "surrogateescape") + line[at:]


def nul(line: str, rnd: random.Random) -> str:
    at = rnd.randrange(len(line))
    return line[:at] + "\x00" + line[at:]


def huge_field(line: str, rnd: random.Random) -> str:
    return line.rstrip("\n") + " a9=" + "41" * rnd.randint(10_000, 200_000) + "\n"


def big_number(line: str, rnd: random.Random) -> str:
    numbers = list(NUMBER.finditer(line))
    if not numbers:
        return line
    match = rnd.choice(numbers)
    value = rnd.choice(["9" * 25, "18446744073709551616", "4294967296", "²", "٣٣", "1" * 5000])
    return line[: match.start()] + value + line[match.end() :]


def far_future(line: str, rnd: random.Random) -> str:
    ahead = rnd.choice([3, 90, 599, 86_400, 10**9])
    return HEADER.sub(
        lambda m: f"msg=audit({int(float(m.group(1))) + ahead}.000:{m.group(2)})", line
    )


def negative_time(line: str, rnd: random.Random) -> str:
    return HEADER.sub(lambda m: f"msg=audit(-{m.group(1)}:{m.group(2)})", line)


def other_node(line: str, rnd: random.Random) -> str:
    return f"node=fuzz{rnd.randrange(3)} {line}"


LINE_MUTATIONS = {
    "truncate": truncate,
    "flip": flip,
    "invalid_utf8": invalid_utf8,
    "nul": nul,
    "huge_field": huge_field,
    "big_number": big_number,
    "negative_time": negative_time,
    "other_node": other_node,
}
GARBAGE = [
    "\x00\x01\x02 binary\n",
    "type=SYSCALL msg=audit(\n",
    "type=PATH msg=audit(1795317166.861:" + "9" * 30 + "): item=0\n",
    "node= type= msg=audit(.:)\n",
    "\n",
]


@cache
def shipped() -> object:
    return load_rules()


def mutate(data: st.DataObject) -> tuple[list[str], set[tuple[str, str]]]:
    """The mutated lines and the keys of the events a mutation touched."""
    lines = list(LINES)
    touched: set[tuple[str, str]] = set()
    rnd = random.Random(data.draw(st.integers(0, 2**32), label="seed"))
    for _ in range(data.draw(st.integers(0, 6), label="mutations")):
        at = rnd.randrange(len(lines))
        kind = data.draw(st.sampled_from(sorted(LINE_MUTATIONS)), label="kind")
        touched.add(key_of(LINES[at]) or ("", ""))
        lines[at] = LINE_MUTATIONS[kind](lines[at], rnd)
        touched.add(key_of(lines[at]) or ("", ""))  # a flipped header may name another event
    for _ in range(data.draw(st.integers(0, 2), label="moves")):
        at = rnd.randrange(len(lines) - 1)  # reorder: a line swaps with the next
        touched.update(key_of(LINES[i]) or ("", "") for i in (at, at + 1))
        lines[at], lines[at + 1] = lines[at + 1], lines[at]
    if data.draw(st.booleans(), label="duplicate"):
        at = rnd.randrange(len(lines))
        touched.add(key_of(lines[at]) or ("", ""))
        lines.insert(at, lines[at])
    if data.draw(st.booleans(), label="far future"):  # one record far ahead: a broken clock
        at = rnd.randrange(len(lines))
        touched.add(key_of(lines[at]) or ("", ""))
        lines[at] = far_future(lines[at], rnd)
    for garbage in data.draw(st.lists(st.sampled_from(GARBAGE), max_size=3), label="garbage"):
        lines.insert(rnd.randrange(len(lines) + 1), garbage)
    return lines, touched


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.data())
def test_mutated_real_lines_never_raise_and_keep_untouched_events_whole(
    data: st.DataObject,
) -> None:
    lines, touched = mutate(data)
    events: list[AuditEvent] = []
    alerts: list[Alert] = []
    scan: Scan = build_scan(shipped(), alerts.append)  # type: ignore[arg-type]

    def on_event(event: AuditEvent) -> None:  # the scan's own, seeing each event first
        events.append(event)
        scan.on_event(event)

    machine = build_reassembler(on_event, scan=scan)  # compiled Scan methods cannot be patched
    machine.feed([(line, "fuzz.log", n) for n, line in enumerate(lines, 1)])
    machine.flush()
    scan.flush()
    for event in events:
        json.loads(dumps(event_to_dict(event)))  # every event can be written as JSON
    for alert in alerts:
        json.loads(dumps(alert.document()))
    got: dict[tuple[str, str], list[list[str]]] = {}
    for event in events:
        if event.node is None:
            got.setdefault((event.stamp, str(event.serial)), []).append(
                [record.line for record in event.records]
            )
    for key, expected in ORIGINAL.items():
        if key not in touched:
            assert got.get(key) == [expected], key


def test_the_commands_exit_by_their_meaning_on_mutated_input(tmp_path: Path) -> None:
    """0: no alert; 1: alerts (scan); never a crash's 1."""
    rnd = random.Random(18)
    lines = list(LINES)
    for at in rnd.sample(range(len(lines)), 40):
        kind = rnd.choice(sorted(LINE_MUTATIONS))
        lines[at] = LINE_MUTATIONS[kind](lines[at], rnd)
    path = tmp_path / "mutated.log"
    path.write_text("".join(lines), errors="surrogateescape")
    out, summary = tmp_path / "alerts.jsonl", tmp_path / "s.json"
    scan = run_detect("scan", str(path), "--output", str(out), "--summary-json", str(summary))
    assert "Traceback" not in scan.stderr, scan.stderr
    alerts = out.read_text().splitlines()
    assert scan.returncode == (1 if alerts else 0)
    assert json.loads(summary.read_text())["unparsed"] > 0
    events = run_detect("events", str(path))
    assert events.returncode == 0 and "Traceback" not in events.stderr, events.stderr
