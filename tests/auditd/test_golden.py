"""Goldens named by scenario (STYLE.md 14): `golden/<scenario>.log` in, `.expected.jsonl` out.

Each input runs through the same path as `detect events` (detect.pipeline.factory.read_events:
files source, Reassembler, `event_to_dict`, JSON lines), followed by one `{"summary": ...}` line:
the run summary without its timings. `UPDATE_GOLDEN=1` rewrites the expected files instead of
comparing; nothing else ever does. Provenance and every edit made to derive an input:
`golden/README.md`.

The checks after the golden comparison say, per scenario, what was verified by hand in the
expected files, so a regenerated golden cannot quietly bless a regression.
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from detect.auditd.event import AuditEvent
from detect.auditd.export import event_to_dict
from detect.outputs.events import dumps
from detect.pipeline.factory import PipelineSettings, read_events

GOLDEN = Path(__file__).parent / "golden"
SCENARIOS = (
    "argc_truncated",
    "enriched",
    "eoe",
    "execve_chunked",
    "garbage",
    "interleaved",
    "kernel_printk",
    "late",
    "lost",
    "multi_host",
    "no_eoe",
    "node_prefix",
    "serial_wrap",
    "user_msg",
)
HORIZON_MS = 2000  # the CLI's default
TIMINGS = ("seconds", "records_per_second")  # the only parts of a summary that vary by run
HUGE_PLACEHOLDER = "@@ replaced at test time by a 2 MiB line: see README.md @@\n"
# The absurdly long line of `garbage`: a real header (garbage.log line 16 stands in for it)
# followed by 2 MiB of body, as when newlines are lost and records run together.
HUGE_LINE = "type=PROCTITLE msg=audit(1795317173.142:2235): proctitle=" + "41" * (1 << 20) + "\n"
DIFF_WIDTH = 240  # diff lines are cut here: some values are tens of kilobytes

Event = dict[str, Any]


def prepare(scenario: str, workdir: Path) -> Path:
    """The folder to run in: the golden folder, or a copy with test-time lines filled in."""
    if scenario != "garbage":
        return GOLDEN
    source = GOLDEN / "garbage.log"
    data = source.read_bytes()
    placeholder = HUGE_PLACEHOLDER.encode()
    assert data.count(placeholder) == 1, "garbage.log must keep its one placeholder line"
    (workdir / source.name).write_bytes(data.replace(placeholder, HUGE_LINE.encode()))
    return workdir


def run_scenario(scenario: str, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> list[Event]:
    """Events then the summary, as JSON values, exactly as `detect events` would write them."""
    folder = prepare(scenario, workdir)
    monkeypatch.chdir(folder)  # sources are named as given: `<scenario>.log`, not a full path
    lines: list[str] = []

    def emit(event: AuditEvent) -> None:  # what the CLI's JsonLinesWriter writes, per event
        lines.append(dumps(event_to_dict(event)))

    summary = read_events(
        (f"{scenario}.log",), emit, PipelineSettings(horizon_ms=HORIZON_MS)
    ).to_dict()
    for key in TIMINGS:
        del summary[key]
    lines.append(dumps({"summary": summary}))
    return [json.loads(line) for line in lines]


def expected_path(scenario: str) -> Path:
    return GOLDEN / f"{scenario}.expected.jsonl"


def load_expected(scenario: str) -> list[Event]:
    path = expected_path(scenario)
    if not path.exists():
        pytest.fail(f"{path} is missing: run UPDATE_GOLDEN=1 pytest {__file__}")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def write_expected(scenario: str, got: list[Event]) -> None:
    text = "".join(dumps(item) + "\n" for item in got)
    expected_path(scenario).write_text(text, encoding="utf-8")


def describe(item: Event) -> str:
    if "summary" in item:
        return "the summary line"
    return f"event host={item.get('host')} serial={item.get('serial')}"


def pretty(item: Event) -> list[str]:
    text = json.dumps(item, indent=1, ensure_ascii=False)
    return [
        line if len(line) <= DIFF_WIDTH else line[:DIFF_WIDTH] + " …" for line in text.split("\n")
    ]


def first_difference(expected: list[Event], got: list[Event]) -> str | None:
    """A readable account of the first differing line, or None when all are equal."""
    for index, (want, have) in enumerate(zip(expected, got, strict=False)):
        if want != have:
            diff = difflib.unified_diff(
                pretty(want), pretty(have), "expected", "got", lineterm="", n=2
            )
            return f"line {index + 1} ({describe(want)}) differs:\n" + "\n".join(diff)
    if len(expected) != len(got):
        extra = got[len(expected) :] or expected[len(got) :]
        which = "got" if len(got) > len(expected) else "expected"
        return (
            f"{len(expected)} lines expected, {len(got)} got; first extra in {which}: "
            f"{describe(extra[0])}"
        )
    return None


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_golden(scenario: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    got = run_scenario(scenario, tmp_path, monkeypatch)
    if os.environ.get("UPDATE_GOLDEN") == "1":
        write_expected(scenario, got)
        return
    problem = first_difference(load_expected(scenario), got)
    if problem is not None:
        pytest.fail(f"{scenario}: {problem}\n(UPDATE_GOLDEN=1 rewrites the golden)", False)


def test_every_input_has_a_scenario_and_an_expected_file() -> None:
    inputs = {path.name.removesuffix(".log") for path in GOLDEN.glob("*.log")}
    outputs = {path.name.removesuffix(".expected.jsonl") for path in GOLDEN.glob("*.jsonl")}
    assert inputs == set(SCENARIOS)
    assert outputs == set(SCENARIOS)


MAX_EXPECTED_BYTES = 512 * 1024


def test_expected_files_stay_small() -> None:
    """A regenerated golden must not swallow the 2 MiB line of `garbage` (or the like)."""
    sizes = {path.name: path.stat().st_size for path in GOLDEN.glob("*.expected.jsonl")}
    assert {name: size for name, size in sizes.items() if size > MAX_EXPECTED_BYTES} == {}


CAPTURES = Path(__file__).parent / "captures"
# Lines (1-based) of each input that are not a capture line byte for byte: added or edited, as
# golden/README.md says. Scenarios whose edit is the header keep the body after it verbatim.
EDITED_LINES: dict[str, set[int]] = {
    "eoe": {8, 16, 20, 24},
    "garbage": {4, 7, 9, 12, 13, 15, 16},
}
EDITED_HEADERS = ("serial_wrap", "kernel_printk", "multi_host")


def body(line: bytes) -> bytes:
    return line.split(b"): ", 1)[1] if b"): " in line else line


def test_inputs_are_capture_lines_except_the_documented_edits() -> None:
    captured = {line for path in CAPTURES.glob("*.log") for line in path.read_bytes().splitlines()}
    bodies = {body(line) for line in captured}
    for scenario in SCENARIOS:
        lines = (GOLDEN / f"{scenario}.log").read_bytes().splitlines()
        edited = EDITED_LINES.get(scenario, set())
        for number, line in enumerate(lines, 1):
            if number in edited:
                assert line not in captured, f"{scenario}.log:{number} is verbatim: update README"
            elif scenario in EDITED_HEADERS:
                assert body(line) in bodies, f"{scenario}.log:{number}"
            else:
                assert line in captured, f"{scenario}.log:{number} is not a capture line"


def test_a_difference_is_shown_as_a_readable_diff_of_the_first_differing_event() -> None:
    want: list[Event] = [{"serial": 1, "x": "a"}, {"serial": 2, "records": ["A" * 1000]}]
    have: list[Event] = [{"serial": 1, "x": "a"}, {"serial": 2, "records": ["B" * 1000]}]
    message = first_difference(want, have)
    assert message is not None
    assert message.startswith("line 2 (event host=None serial=2) differs:")
    assert '-  "AAAA' in message and '+  "BBBB' in message
    assert max(len(line) for line in message.split("\n")) < DIFF_WIDTH + 10
    assert first_difference(want, want) is None
    assert first_difference(want, want[:1]) == (
        "2 lines expected, 1 got; first extra in expected: event host=None serial=2"
    )


def test_garbage_stand_in_is_copied_with_the_huge_line(tmp_path: Path) -> None:
    folder = prepare("garbage", tmp_path)
    lines = (folder / "garbage.log").read_bytes().split(b"\n")
    assert lines[15] == HUGE_LINE.encode().rstrip(b"\n")
    assert len(lines[15]) > 2 * (1 << 20)
    assert (GOLDEN / "garbage.log").read_bytes().split(b"\n")[15] == HUGE_PLACEHOLDER.encode()[:-1]


# What was checked by hand in the expected files, scenario by scenario.


@pytest.fixture
def scenario_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[[str], tuple[list[Event], dict[str, Any]]]:
    def run(scenario: str) -> tuple[list[Event], dict[str, Any]]:
        *events, last = run_scenario(scenario, tmp_path, monkeypatch)
        return events, last["summary"]

    return run


Runner = Callable[[str], tuple[list[Event], dict[str, Any]]]


def shape(events: list[Event]) -> list[tuple[str | None, int, list[str], str]]:
    return [
        (e["host"], e["serial"], [r["type"] for r in e["records"]], e["detect"]["completion"])
        for e in events
    ]


EXECVE_RECORDS = ["SYSCALL", "BPRM_FCAPS", "EXECVE", "CWD", "PATH", "PATH", "PROCTITLE"]
OPEN_CREATE = ["SYSCALL", "CWD", "PATH", "PATH", "PROCTITLE"]


def test_interleaved_records_join_their_own_events(scenario_output: Runner) -> None:
    events, summary = scenario_output("interleaved")
    assert shape(events) == [  # each closed by its own PROCTITLE, whatever came between
        (None, 2446, EXECVE_RECORDS, "proctitle"),
        (None, 2447, OPEN_CREATE, "proctitle"),
        (None, 2448, EXECVE_RECORDS, "proctitle"),
    ]
    assert events[0]["detect"]["argv"] == ["/bin/cat", "/tmp/detect-capture/in3"]
    assert events[1]["file"]["path"] == "/tmp/detect-capture/out2.8"
    assert (summary["records"], summary["events"], summary["lost"]) == (19, 3, 0)


NO_EOE_SHAPES = [
    (2119, EXECVE_RECORDS),
    (2138, ["SYSCALL", "CWD", "PATH", "PATH", "PATH", "PATH", "PROCTITLE"]),
    (2164, ["SYSCALL", "SOCKADDR", "PROCTITLE"]),
    (2231, ["SYSCALL", "TIME_INJOFFSET", "PROCTITLE"]),
]


def test_no_eoe_events_complete_on_their_proctitle(scenario_output: Runner) -> None:
    """audit.log carries no EOE: each syscall event completes on its PROCTITLE, the kernel's
    last record of it, as auparse completes it (before, they waited for the horizon of audit
    time or the end of input). 2231 comes 3.8 s after 2164, past the horizon, and is the last
    event: the clock step is still held (issue 18), though nothing waits on it now. Expiry by
    audit time, for events without a PROCTITLE, is tested in test_reassemble.py."""
    events, summary = scenario_output("no_eoe")
    assert shape(events) == [(None, serial, types, "proctitle") for serial, types in NO_EOE_SHAPES]
    assert summary["expired"] == 0 and summary["time_jumps_held"] == 1
    # The serials are those of four captures: the gaps are the capture filter, counted as lost.
    assert summary["lost"] == (2138 - 2119 - 1) + (2164 - 2138 - 1) + (2231 - 2164 - 1)


def test_eoe_completes_the_same_events_and_is_not_kept(scenario_output: Runner) -> None:
    events, summary = scenario_output("eoe")
    # the PROCTITLE completes each event; its EOE, right after, is expected, not late
    assert shape(events) == [(None, serial, types, "proctitle") for serial, types in NO_EOE_SHAPES]
    assert (summary["lines"], summary["records"], summary["expired"]) == (24, 24, 0)
    assert summary["late_records"] == 0
    plain, _ = scenario_output("no_eoe")
    for with_eoe, without in zip(events, plain, strict=True):
        with_eoe["detect"].pop("completion")
        without["detect"].pop("completion")
        assert with_eoe == without


def test_serial_wrap_counts_nothing_lost(scenario_output: Runner) -> None:
    events, summary = scenario_output("serial_wrap")
    assert [e["serial"] for e in events] == [4294967294, 4294967295, 0, 1]
    assert [len(e["records"]) for e in events] == [7, 7, 5, 7]
    assert (summary["lost"], summary["serial_resets"]) == (0, 0)


def test_execve_chunked_argv(scenario_output: Runner) -> None:
    events, _ = scenario_output("execve_chunked")
    argv = {e["serial"]: e["detect"].get("argv") for e in events}
    assert argv[2121] == ["/bin/true", "x y " * 3000, "tail"]
    assert argv[2122] == ["/bin/true", *map(str, range(1, 3001))]
    assert argv[2123] == [
        "/bin/true", "two words", "it's", 'say "hi"', "\\xff\\xfe", "line1\nline2",
        "tab\there", "naïve", "", "end",
    ]  # fmt: skip
    assert argv[2124] == ["/bin/true", "x" + "é" * 5000]
    assert argv[2125] == ["/bin/true", "(null)", "?", ""]
    assert argv[2128] == ["./my true", "x"]
    by_serial = {e["serial"]: e for e in events}
    assert by_serial[2128]["process"]["executable"] == "/tmp/detect-capture/dir with space/my true"
    assert by_serial[2128]["process"]["working_directory"] == "/tmp/detect-capture/dir with space"
    assert not any(e["detect"].get("argv_truncated") for e in events)


def test_argc_truncated_is_flagged(scenario_output: Runner) -> None:
    events, _ = scenario_output("argc_truncated")
    many, _ = events
    assert many["detect"]["argv"] == ["/bin/true", *map(str, range(1, 2447))]
    assert many["detect"]["argv_truncated"] is True


def test_argument_missing_a_chunk_is_flagged(scenario_output: Runner) -> None:
    """2124 lost the EXECVE record holding a1[2]: a1_len=20002 promises 10001 bytes and only the
    chunks a1[0] and a1[1] remain. argc (2) is met, but the argument is cut short: the event must
    say that its argv is incomplete."""
    _, chunked = scenario_output("argc_truncated")[0]
    execve = [r["fields"] for r in chunked["records"] if r["type"] == "EXECVE"]
    assert execve[0]["a1_len"] == "20002"
    assert [key for fields in execve for key in fields if key.startswith("a1[")] == [
        "a1[0]", "a1[1]",
    ]  # fmt: skip
    argument = chunked["detect"]["argv"][1]
    assert argument.startswith("x" + "é" * 3000) and len(argument.encode()) < 10001
    assert chunked["detect"].get("argv_truncated") is True


def test_enriched_keeps_auditd_names_and_adds_the_same_for_raw_fields(
    scenario_output: Runner,
) -> None:
    events, _ = scenario_output("enriched")
    by_serial = {e["serial"]: e for e in events}
    execve = by_serial[2247]
    assert execve["detect"]["argv"] == ["/bin/echo", "enriched", "two words", "\\xff"]
    assert execve["records"][0]["interpreted"]["AUID"] == "unknown(4242)"
    assert execve["user"]["name"] == "root"
    rename = by_serial[2250]
    assert rename["event"]["action"] == "renamed"
    assert rename["file"]["path"] == "/tmp/detect-capture/f.txt"
    destinations = {s: by_serial[s]["destination"] for s in (2257, 2258, 2259, 2260)}
    assert destinations[2259] == {"address": "127.0.0.1", "ip": "127.0.0.1", "port": 9,
                                  "family": "inet"}  # fmt: skip
    assert destinations[2258]["ip"] == "::1"
    assert destinations[2260]["address"] == "/tmp/detect-capture/sock"
    sockaddr = by_serial[2259]["records"][1]["interpreted"]
    assert sockaddr["SADDR"] == "{ saddr_fam=inet laddr=127.0.0.1 lport=9 }"
    assert by_serial[2259]["event"]["outcome"] == "failure"


def test_node_prefix_sets_the_host(scenario_output: Runner) -> None:
    events, summary = scenario_output("node_prefix")
    assert [(e["host"], e["serial"]) for e in events] == [
        ("testhost", serial) for serial in range(2269, 2274)
    ]
    assert summary["lost_by_node"] == {}


def test_user_msg_unpacks_nested_messages(scenario_output: Runner) -> None:
    events, _ = scenario_output("user_msg")
    fields = {e["serial"]: e["records"][0]["fields"] for e in events}
    user = fields[2284]  # auditctl -m "capture says: it's a \"test\" key=value"
    assert (user["exe"], user["res"], user.get("hostname")) == (
        "/usr/sbin/auditctl", "success", None,
    )  # fmt: skip
    assert user["text"] == "capture"  # the text is not quoted by auditctl: its first word
    assert fields[2287]["op"] == "adding"  # `op=adding user` is not quoted either
    assert fields[2287]["id"] == "1001"
    assert fields[2314]["grantors"] == "pam_rootok"
    assert fields[2314]["acct"] == "detectmsg"
    su_child = next(e for e in events if e["serial"] == 2318)
    assert su_child["detect"]["argv"] == ["true"]
    assert (su_child["user"]["id"], su_child["user"]["audit"]["id"]) == ("1001", "4242")
    by_serial = {e["serial"]: e for e in events}
    assert by_serial[2295]["event"]["action"] == "changed-password"  # usermod -c


def test_user_space_records_are_standalone(scenario_output: Runner) -> None:
    """Every user-space record is an event of its own, completed on arrival; USER (1005, what
    `auditctl -m` writes) included: it has no EOE and no other record to wait for."""
    events, _ = scenario_output("user_msg")
    standalone = [
        e["records"][0]["type"] for e in events if e["detect"]["completion"] == "standalone"
    ]
    assert standalone == [
        "USER", "ADD_GROUP", "ADD_USER", "USER_CHAUTHTOK", "USER_AUTH", "USER_ACCT",
        "CRED_ACQ", "USER_START", "USER_END", "CRED_DISP", "DEL_USER", "DEL_GROUP", "DEL_GROUP",
    ]  # fmt: skip
    assert [e["serial"] for e in events][:2] == [2284, 2286]  # in input order, not at flush


def test_garbage_is_counted_with_file_and_line(scenario_output: Runner) -> None:
    events, summary = scenario_output("garbage")
    assert [(e["serial"], len(e["records"])) for e in events] == [
        (2231, 3), (2232, 3), (2233, 2), (2234, 2), (2235, 3),
    ]  # fmt: skip
    cut = events[3]["records"][1]["fields"]["proctitle"]
    assert cut == "2F7573722F62696E2F707974686"  # odd hex: kept as written, never decoded
    assert (summary["lines"], summary["records"]) == (19, 13)
    assert summary["unparsed"] == 6
    where = [example.split(": ", 2)[:2] for example in summary["unparsed_examples"]]
    assert where == [
        ["garbage.log:4", "no type= field"],
        ["garbage.log:7", "no type= field"],
        ["garbage.log:9", "no audit(timestamp:serial) header"],
        ["garbage.log:12", "absurd timestamp or serial"],
        ["garbage.log:13", "bad audit(timestamp:serial)"],
        ["garbage.log:16", "line longer than 1 MiB (--max-line-bytes 1048576)"],
    ]


def test_one_event_past_the_horizon_does_not_split_the_one_before(
    scenario_output: Runner,
) -> None:
    """2164 comes 2.47 s after 2119: a step past the horizon waits for a second event to
    confirm it (issue 18: one record ahead must not expire what is in flight), so 2119's
    PROCTITLE, after 2164, still joins it and completes it; 2164, whole before it, is out
    first."""
    events, summary = scenario_output("late")
    assert shape(events) == [
        (None, 2164, ["SYSCALL", "SOCKADDR", "PROCTITLE"], "proctitle"),
        (None, 2119, EXECVE_RECORDS, "proctitle"),
        (None, 2231, ["SYSCALL", "TIME_INJOFFSET", "PROCTITLE"], "proctitle"),
    ]
    assert summary["late_records"] == 0 and summary["time_jumps_held"] == 1


def test_kernel_printk_and_syslog_forms(scenario_output: Runner) -> None:
    events, summary = scenario_output("kernel_printk")
    assert shape(events) == [
        (None, 2222, ["SYSCALL", "PROCTITLE"], "proctitle"),
        (None, 2223, ["SYSCALL", "PROCTITLE"], "proctitle"),
        (None, 2224, ["SYSCALL", "PROCTITLE"], "proctitle"),
        (None, 2231, ["SYSCALL", "TIME_INJOFFSET", "PROCTITLE"], "proctitle"),
    ]
    assert [e["event"].get("action") for e in events][:3] == [
        "loaded-kernel-module",
        "loaded-kernel-module",
        "unloaded-kernel-module",
    ]
    assert summary["unparsed"] == 0


def test_multi_host_same_serials_stay_apart(scenario_output: Runner) -> None:
    events, summary = scenario_output("multi_host")
    got = sorted((e["host"], e["serial"], len(e["records"])) for e in events)
    assert got == [
        ("otherhost", 2269, 3), ("otherhost", 2270, 3), ("otherhost", 2271, 2),
        ("testhost", 2269, 7), ("testhost", 2270, 7), ("testhost", 2271, 7),
    ]  # fmt: skip
    assert all(
        {r["raw"].split(" ", 1)[0] for r in e["records"]} == {f"node={e['host']}"} for e in events
    )
    assert summary["lost"] == 0


def test_lost_is_counted_per_node(scenario_output: Runner) -> None:
    _, summary = scenario_output("lost")
    assert summary["lost"] == 3
    assert summary["lost_by_node"] == {"testhost": 2, "-": 1}
    assert summary["serial_resets"] == 0
