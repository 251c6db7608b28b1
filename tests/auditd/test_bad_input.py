"""Bad input between good events: nothing raises, good events come out intact, bad lines are
counted with their location (DESIGN.md §8). Good events are real captures from this kernel."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from detect.auditd.event import AuditEvent
from detect.auditd.export import event_to_dict
from detect.auditd.reassemble import Reassembler
from detect.auditd.record import parse_line
from detect.core.errors import ParseError
from detect.outputs.events import dumps

CAPTURES = Path(__file__).parent / "captures"


def real_events() -> list[list[str]]:
    """Whole events (their lines, in order) from the captures, grouped by header."""
    groups: dict[tuple[str | None, str, int], list[str]] = {}
    for path in sorted(CAPTURES.glob("*.log")):
        with open(path, encoding="utf-8", errors="surrogateescape", newline="\n") as stream:
            for line in stream:
                record = parse_line(line)
                groups.setdefault((record.node, record.stamp, record.serial), []).append(line)
    return list(groups.values())


EVENTS = real_events()

garbage = st.one_of(
    st.text(max_size=200),
    st.binary(max_size=200).map(lambda b: b.decode("utf-8", "surrogateescape")),
    st.sampled_from(
        [
            "type=SYSCALL msg=audit(",
            "type=SYSCALL msg=audit(1795316486.890:): x=1",
            "type=SYSCALL msg=audit(99999999999999.1:1): x=1",
            "node= type=",
            "\x00\x1d\xff",
            "type=EXECVE msg=audit(nan:1): argc=1",
            "msg=audit(1.1:1): type missing",
        ]
    ),
)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """A real line with its header damaged: bytes cut, replaced or inserted before the body."""
    lines = draw(st.sampled_from(EVENTS))
    line = draw(st.sampled_from(lines)).rstrip("\n")
    header_end = line.find("): ") + 2
    cut = draw(st.integers(0, max(header_end, 1)))
    junk = draw(st.text(alphabet="()=: .x\x1d\xff0123456789", max_size=4))
    return line[:cut] + junk + line[cut + draw(st.integers(1, 6)) :]


@st.composite
def streams(draw: st.DrawFn) -> tuple[list[str], list[list[str]]]:
    picks = draw(st.lists(st.sampled_from(range(len(EVENTS))), min_size=1, max_size=8))
    good: list[list[str]] = []
    out: list[str] = []
    for number, index in enumerate(picks):
        good.append(renumber(EVENTS[index], 10_000_000 + number * 7))
        for line in good[-1]:
            out.append(line)
            out.extend(draw(st.lists(st.one_of(garbage, mutated()), max_size=2)))
    return out, good


def renumber(lines: list[str], serial: int) -> list[str]:
    """A copy of an event under a fresh serial, so that picking one twice gives two events."""
    out = []
    for line in lines:
        head, _, rest = line.partition("):")
        stamp = head[: head.rindex(":")]
        out.append(f"{stamp}:{serial}):{rest}")
    return out


def parses(line: str) -> bool:
    try:
        parse_line(line)
    except ParseError:
        return False
    return True


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams())
def test_bad_lines_never_break_good_events(case: tuple[list[str], list[list[str]]]) -> None:
    lines, good = case
    events: list[AuditEvent] = []
    machine = Reassembler(events.append, horizon_ms=10**12)
    for number, line in enumerate(lines, 1):
        machine.push(line, "fuzz.log", number)
    machine.flush()
    for event in events:
        dumps(event_to_dict(event))  # the whole output path, on everything that came out

    bad = [number for number, line in enumerate(lines, 1) if not parses(line)]
    assert machine.stats.unparsed == len(bad)
    shown = [error.location.line for error in machine.stats.unparsed_examples]
    assert shown == bad[: len(shown)]
    assert all(error.location.source == "fuzz.log" for error in machine.stats.unparsed_examples)

    stray = {(r.node, r.stamp, r.serial) for r in map(parse_line, filter(parses, lines))} - {
        (r.node, r.stamp, r.serial) for r in (parse_line(line) for g in good for line in g)
    }
    by_key = {(e.node, e.stamp, e.serial): e for e in events}
    for expected in good:
        first = parse_line(expected[0])
        key = (first.node, first.stamp, first.serial)
        if key in stray:
            continue
        got = by_key[key]
        mine = [r.line for r in got.records if r.line in expected]
        assert mine == expected, f"event {key} lost or reordered records"
