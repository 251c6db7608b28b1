"""Issue 18, the bounds: each has a default, a flag (so a configuration key) on `scan`, `events`
and `stream`, reaches the stage it bounds through PipelineSettings, and is counted in the summary
(JSON and text) when hit."""

from __future__ import annotations

import gzip
import io
import json
import os
import signal
import subprocess
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from detect.auditd.reassemble import MAX_NODES, MAX_RECORDS, Limits
from detect.auditd.record import parse_line
from detect.cli.commands import main
from detect.cli.stream import stream
from detect.core.defaults import MAX_LINE
from detect.core.errors import ParseError
from detect.pipeline.factory import (
    DEFAULTS,
    PipelineSettings,
    build_correlations,
    build_engine,
    build_reassembler,
    load_rules,
)
from detect.pipeline.partition import probe_file
from detect.proctree.settings import load_settings
from detect.sigma.correlation.window import MAX_GROUPS
from detect.sigma.correlation.window import Limits as CorrelationLimits
from detect.sigma.model import RuleSet
from detect.sources.follow import Follower
from detect.sources.lines import read_lines
from detect.sources.stdin import StdinSource
from tests.hardening.helpers import CAPTURES, DETECT
from tests.hardening.rules import rule, write_rules
from tests.stream.helpers import batch_alerts, read_alerts, wait_for, wait_line

EXECVE_ARGS = str(CAPTURES / "execve_args.log")
INTERLEAVED = CAPTURES / "interleaved.log"  # no line longer than 4 KiB
ENV = {"DETECT_PURE": "1"}
BOUNDS_FLAGS = (
    "--max-line-bytes",
    "--max-event-records",
    "--max-event-bytes",
    "--max-inflight",
    "--max-node-inflight",
    "--max-nodes",
    "--node-idle",
    "--max-processes",
    "--max-correlation-groups",
    "--max-group-hits",
    "--max-correlation-hits",
)


def run(command: str, *args: str, tmp_path: Path) -> tuple[dict[str, Any], str]:
    """The command's JSON summary and its text summary (stderr)."""
    summary = tmp_path / f"{command}-summary.json"
    extra = ["--jobs", "1"] if command == "scan" else []
    result = CliRunner().invoke(main, [command, *args, "--summary-json", str(summary), *extra])
    assert result.exit_code in (0, 1), result.output
    return json.loads(summary.read_text()), result.stderr


@pytest.mark.parametrize("command", [main.commands["scan"], main.commands["events"], stream])
def test_every_bound_is_a_flag_with_its_default(command: Any) -> None:
    """`events` builds no process tree and no correlations: only reassembly's bounds."""
    names = {opt for param in command.params for opt in param.opts}
    detecting = command.name != "events"
    assert set(BOUNDS_FLAGS[:7]) <= names
    assert all((flag in names) == detecting for flag in BOUNDS_FLAGS[7:])
    defaults = {param.name: param.default for param in command.params}
    assert defaults["max_line_bytes"] == MAX_LINE == 1 << 20
    assert defaults["max_event_records"] == MAX_RECORDS and defaults["max_nodes"] == MAX_NODES
    assert defaults["node_idle"] == "60m"
    assert defaults.get("max_correlation_groups", MAX_GROUPS) == MAX_GROUPS


def test_the_flags_reach_the_stages_through_pipeline_settings(tmp_path: Path) -> None:
    folder = write_rules(tmp_path / "rules", any=any_exec(), per_program=CORRELATION)
    settings = PipelineSettings(
        limits=Limits(max_records=7, max_nodes=9),
        max_processes=11,
        process_idle_ms=17_000,
        process_grace_ms=19_000,
        correlation_limits=CorrelationLimits(max_groups=13),
        rule_paths=(str(folder),),
        default_rules=False,
    )
    machine = build_reassembler(lambda event: None, settings)
    assert machine.limits.max_records == 7 and machine.limits.max_nodes == 9
    assert machine.limits.max_line_bytes == MAX_LINE
    engine = build_engine(RuleSet(), settings)
    assert engine.tree is not None and engine.tree.settings.max_processes == 11
    assert engine.tree.settings.idle_ms == 17_000 and engine.tree.settings.grace_ms == 19_000
    assert engine.tree.settings.labels == load_settings().labels  # the rest from proctree.yaml
    default = build_engine(RuleSet(), DEFAULTS)
    assert default.tree is not None
    assert default.tree.settings.max_processes == load_settings().max_processes
    stage = build_correlations(load_rules(settings), lambda result: None, settings)
    assert [w.limits.max_groups for w in stage.correlator.windows.values()] == [13]


def test_records_and_bytes_per_event(tmp_path: Path) -> None:
    plain, text = run("events", EXECVE_ARGS, tmp_path=tmp_path)
    assert plain["events_capped"] == 0 and "events capped" not in text
    counts, text = run("events", EXECVE_ARGS, "--max-event-records", "3", tmp_path=tmp_path)
    assert counts["events_capped"] > 0 and counts["records_dropped"] > 0
    assert f"events capped {counts['events_capped']}" in text
    counts, text = run("events", EXECVE_ARGS, "--max-event-bytes", "2000", tmp_path=tmp_path)
    assert counts["events_capped"] > 0 and "records dropped" in text


def test_events_in_flight_in_all_and_per_node(tmp_path: Path) -> None:
    """Events without their PROCTITLE (which completes an event at once) wait in flight for
    the horizon: the bounds apply."""
    lines = Path(EXECVE_ARGS).read_text().splitlines(keepends=True)
    cut = tmp_path / "no_proctitle.log"
    cut.write_text("".join(line for line in lines if "type=PROCTITLE" not in line))
    plain, _ = run("events", str(cut), tmp_path=tmp_path)
    assert plain["inflight_full"] == plain["node_inflight_full"] == 0
    counts, text = run("events", str(cut), "--max-inflight", "2", tmp_path=tmp_path)
    assert counts["inflight_full"] > 0 and counts["evicted"] >= counts["inflight_full"]
    assert f"inflight full {counts['inflight_full']}" in text
    counts, text = run("events", str(cut), "--max-node-inflight", "1", tmp_path=tmp_path)
    assert counts["node_inflight_full"] > 0
    assert f"node inflight full {counts['node_inflight_full']}" in text


def nodes_file(tmp_path: Path) -> Path:
    """Eight hosts, each with one complete event; two hours later eight other hosts."""
    lines = []
    for index in range(16):
        seconds = 1795317166 + (7200 if index >= 8 else 0)
        stamp = f"{seconds}.000:{100 + index}"
        lines.append(f"node=h{index} type=SYSCALL msg=audit({stamp}): arch=c000003e syscall=2\n")
        lines.append(f"node=h{index} type=EOE msg=audit({stamp}): \n")
    path = tmp_path / "nodes.log"
    path.write_text("".join(lines))
    return path


def test_nodes_tracked_and_idle_nodes(tmp_path: Path) -> None:
    path = str(nodes_file(tmp_path))
    plain, _ = run("events", path, tmp_path=tmp_path)
    assert plain["nodes_forgotten"] == plain["nodes_full"] == 0
    # the first eight are idle (an hour by default) when the table fills: forgotten, not full
    counts, text = run("events", path, "--max-nodes", "12", tmp_path=tmp_path)
    assert counts["nodes_forgotten"] > 0 and counts["nodes_full"] == 0
    assert f"nodes forgotten {counts['nodes_forgotten']}" in text
    # idle only after three hours: the table being full is what forgets them
    counts, text = run("events", path, "--max-nodes", "12", "--node-idle", "3h", tmp_path=tmp_path)
    assert counts["nodes_full"] > 0 and f"nodes full {counts['nodes_full']}" in text


def test_processes(tmp_path: Path) -> None:
    rules = write_rules(tmp_path / "rules", any=any_exec())
    base = [EXECVE_ARGS, "--no-default-rules", "--rules", str(rules)]
    plain, _ = run("scan", *base, tmp_path=tmp_path)
    assert plain["process_tree"]["evicted"] == 0
    counts, text = run("scan", *base, "--max-processes", "2", tmp_path=tmp_path)
    evicted = counts["process_tree"]["evicted"]
    assert evicted > 0 and f"evicted {evicted}" in text.split("process tree:")[1].splitlines()[0]


def test_idle_processes_leave_after_process_idle(tmp_path: Path) -> None:
    rules = write_rules(tmp_path / "rules", any=any_exec())
    day = str(Path(__file__).parents[1] / "triage" / "captures" / "host_day.log")
    base = [day, "--no-default-rules", "--rules", str(rules)]
    plain, _ = run("scan", *base, tmp_path=tmp_path)
    assert plain["process_tree"]["idle"] == 0  # six hours by default
    counts, text = run("scan", *base, "--process-idle", "1s", tmp_path=tmp_path)
    idle = counts["process_tree"]["idle"]
    assert idle > 0 and f"idle {idle}" in text.split("process tree:")[1].splitlines()[0]


def any_exec() -> str:
    body = "  sel:\n    type: EXECVE\n  condition: sel\nlevel: high\n"
    return rule("any exec", 6, body).replace("detection:", "name: any_exec\ndetection:")


CORRELATION = """title: execs per program
id: 00000007-1111-4111-8111-111111111111
correlation:
  type: event_count
  rules: [any_exec]
  group-by: [a0]
  timespan: 1h
  condition: {gte: 1000}
level: high
"""


@pytest.mark.parametrize(
    ("flag", "value", "counter", "label"),
    [
        ("--max-correlation-groups", "1", "groups_evicted", "evicted groups"),
        ("--max-group-hits", "1", "hits_evicted", "and hits"),
        ("--max-correlation-hits", "2", "hits_evicted", "and hits"),
    ],
)
def test_correlation_groups_and_hits(
    tmp_path: Path, flag: str, value: str, counter: str, label: str
) -> None:
    rules = write_rules(tmp_path / "rules", any=any_exec(), per_program=CORRELATION)
    base = [EXECVE_ARGS, "--no-default-rules", "--rules", str(rules), "--no-triage"]
    plain, _ = run("scan", *base, tmp_path=tmp_path)
    assert plain["correlations"]["loaded"] == 1 and plain["correlations"][counter] == 0
    counts, text = run("scan", *base, flag, value, tmp_path=tmp_path)
    hit = counts["correlations"][counter]
    assert hit > 0 and f"{label} {hit}" in text, text


@pytest.mark.parametrize(("flag", "value"), [("--max-nodes", "0"), ("--node-idle", "0")])
def test_a_bound_must_be_positive(flag: str, value: str) -> None:
    result = CliRunner().invoke(main, ["events", EXECVE_ARGS, flag, value])
    assert result.exit_code == 2 and flag in result.output


def test_a_stream_says_which_bounds_it_hit(tmp_path: Path) -> None:
    rules = write_rules(tmp_path / "rules", any=any_exec())
    command = [
        str(DETECT), "stream", "--stdin", "--no-default-rules", "--rules", str(rules),
        "--stats-interval", "0", "--max-event-records", "2", "--max-processes", "1",
    ]  # fmt: skip
    data = Path(EXECVE_ARGS).read_bytes()
    result = subprocess.run(command, input=data, capture_output=True, timeout=60, env=ENV)
    assert result.returncode == 0, result.stderr
    line = next(x for x in result.stderr.decode().splitlines() if x.startswith("stream: bounds:"))
    assert "events capped" in line and "records dropped" in line and "processes evicted" in line
    quiet = subprocess.run(command[:-4], input=data, capture_output=True, timeout=60, env=ENV)
    assert quiet.returncode == 0 and b"stream: bounds:" not in quiet.stderr


# --- the line length: --max-line-bytes -----------------------------------------------------

SMALL = 4096
TOO_LONG = f"line longer than 4 KiB (--max-line-bytes {SMALL})"


def long_record(size: int, stamp: str, node: str = "b") -> str:
    """A valid USER_CMD record (an event of its own) of exactly `size` bytes, its newline not
    counted."""
    head = f"node={node} type=USER_CMD msg=audit({stamp}): pid=1 uid=0 ses=1 msg='cmd="
    tail = " terminal=? res=success'"
    line = head + "4" * (size - len(head) - len(tail)) + tail
    assert len(line.encode()) == size
    return line + "\n"


def host_logs(tmp_path: Path) -> tuple[Path, Path]:
    """A capture of interleaved events (every line under 4 KiB) as host a (a.log) and host b
    (b.log). b.log also holds a 100 KB record (line 41) and a 5,000-byte record (line 62) whose
    node= name alone is longer than 4 KiB: a reader that stops at 4 KiB cannot tell its host, a
    probe of whole lines can. Their serials follow the capture's last (no gap)."""
    lines = INTERLEAVED.read_text().splitlines(True)
    last = max(int(x.split("):", 1)[0].rsplit(":", 1)[1]) for x in lines)
    stamp = lines[40].split("audit(", 1)[1].split(":", 1)[0]
    a, b = tmp_path / "a.log", tmp_path / "b.log"
    a.write_text("".join("node=a " + line for line in lines))
    host_b = ["node=b " + line for line in lines]
    host_b.insert(40, long_record(100_000, f"{stamp}:{last + 1}"))
    host_b.insert(61, long_record(5000, f"{stamp}:{last + 2}", node="x" * 4200))
    b.write_text("".join(host_b))
    return a, b


def is_long(event: dict[str, Any]) -> bool:
    return bool(event["records"][0]["type"] == "USER_CMD")


def events_of(*args: str, tmp_path: Path) -> tuple[list[dict[str, Any]], dict[str, Any], str]:
    out = tmp_path / "events.jsonl"
    counts, text = run("events", *args, "--output", str(out), tmp_path=tmp_path)
    return [json.loads(line) for line in out.read_text().splitlines()], counts, text


def test_the_default_takes_a_100_kb_line(tmp_path: Path) -> None:
    _, b = host_logs(tmp_path)
    events, counts, _ = events_of(str(b), tmp_path=tmp_path)
    assert counts["unparsed"] == 0
    sizes = sorted(len(e["records"][0]["raw"]) for e in events if is_long(e))
    assert sizes == [5000, 100_000]


def test_a_line_longer_than_max_line_bytes_is_unparsed_and_the_rest_read(tmp_path: Path) -> None:
    _, b = host_logs(tmp_path)
    plain, _, _ = events_of(str(b), tmp_path=tmp_path)
    events, counts, text = events_of(str(b), "--max-line-bytes", str(SMALL), tmp_path=tmp_path)
    assert events == [e for e in plain if not is_long(e)]  # every other event, intact
    assert counts["unparsed"] == 2
    where = [example.split(": ", 2)[:2] for example in counts["unparsed_examples"]]
    assert where == [[f"{b}:41", TOO_LONG], [f"{b}:62", TOO_LONG]]
    assert f"unparsed: {b}:41: {TOO_LONG}" in text


def test_the_bound_is_in_bytes_and_leaves_out_the_newline() -> None:
    """Characters of many bytes and undecodable bytes (one lone surrogate each, as sources
    decode) count their bytes; a line of exactly the bound passes."""
    head = "type=USER_CMD msg=audit(1795317166.900:7): msg='cmd="
    for body, size in (("é" * 1000, 2000), ("\udcff" * 1000, 1000), ("a" * 1000, 1000)):
        line = head + body + "'"
        limit = len(head) + size + 1
        assert parse_line(line + "\n", max_line=limit).serial == 7
        with pytest.raises(ParseError, match=r"x.log:3: line longer than .* \(--max-line-bytes"):
            parse_line(line + "\n", "x.log", 3, max_line=limit - 1)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_scan_reports_a_long_line_in_every_partition_layout(tmp_path: Path, jobs: str) -> None:
    """--jobs 2 reads each host's lines in its own worker: the line whose host cannot be told
    once cut goes to the file's first host (counted there, never dropped), whatever the
    bundling."""
    rules = write_rules(tmp_path / "rules", any=any_exec())
    a, b = host_logs(tmp_path)
    base = [str(a), str(b), "--no-default-rules", "--rules", str(rules), "--no-triage"]
    plain, _ = run("scan", *base, tmp_path=tmp_path)
    summary = tmp_path / "bounded.json"
    bounded = ["--jobs", jobs, "--max-line-bytes", str(SMALL), "--summary-json", str(summary)]
    result = CliRunner().invoke(main, ["scan", *base, *bounded])
    assert result.exit_code == 1, result.output  # alerts found
    counts = json.loads(summary.read_text())
    assert plain["unparsed"] == 0 and counts["unparsed"] == 2
    assert counts["alerts"] == plain["alerts"] > 0
    where = sorted(example.split(": ", 2)[0] for example in counts["unparsed_examples"])
    assert where == [f"{b}:41", f"{b}:62"]
    assert f"{TOO_LONG}" in result.stderr


def stream_command(rules: Path, *args: str) -> list[str]:
    return [
        str(DETECT), "stream", "--no-default-rules", "--rules", str(rules), "--no-triage",
        "--stats-interval", "0", "--idle-ms", "50", *args,
    ]  # fmt: skip


def end_line(stderr: str) -> str:
    return next(line for line in stderr.splitlines() if line.startswith("stream: end:"))


def test_stream_stdin_refuses_a_long_line_and_reads_on(tmp_path: Path) -> None:
    rules = write_rules(tmp_path / "rules", any=any_exec())
    _, b = host_logs(tmp_path)
    ends = []
    for bound in ([], ["--max-line-bytes", str(SMALL)]):
        command = stream_command(rules, "--stdin", *bound)
        result = subprocess.run(
            command, input=b.read_bytes(), capture_output=True, timeout=60, env=ENV
        )
        assert result.returncode == 0, result.stderr
        ends.append(end_line(result.stderr.decode()))
    alerts = [line.split(" alerts,")[0].rsplit(" ", 1)[1] for line in ends]
    assert alerts[0] == alerts[1] != "0"
    assert "unparsed 0," in ends[0] and "unparsed 2," in ends[1]
    said = [line for line in result.stderr.decode().splitlines() if "stream: unparsed:" in line]
    assert len(said) == 2 and all(f"(--max-line-bytes {SMALL})" in line for line in said)


def test_stream_follow_refuses_a_long_line_and_reads_on(tmp_path: Path) -> None:
    rules = write_rules(tmp_path / "rules", any=any_exec())
    _, b = host_logs(tmp_path)
    log, out, err = tmp_path / "audit.log", tmp_path / "alerts.jsonl", tmp_path / "err"
    log.write_text("")
    command = stream_command(rules, "--follow", str(log), "--from-beginning", "--output", str(out))
    command += ["--max-line-bytes", str(SMALL)]
    with err.open("wb") as errors:
        child = subprocess.Popen(command, stderr=errors, env=ENV)
    try:
        wait_line(err, "stream: reading")
        with log.open("ab") as file:  # the long lines arrive in pieces, as a writer makes them
            for piece in range(0, b.stat().st_size, 3000):
                file.write(b.read_bytes()[piece : piece + 3000])
                file.flush()
        expected = len(batch_alerts([b], rules, tmp_path / "batch.jsonl"))
        wait_for(lambda: len(read_alerts(out)) >= expected, what=f"{expected} alerts")
    finally:
        child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=30) == 0
    assert expected > 0 and len(read_alerts(out)) == expected
    assert "unparsed 2," in end_line(err.read_text())


def test_every_reader_holds_at_most_the_bound_of_a_line(tmp_path: Path) -> None:
    """With --max-line-bytes 4096, files, pipes and --follow keep 4,097 bytes of a 3 MB line
    (what the parser refuses: it stands for the line) and read on past it."""
    lines = INTERLEAVED.read_text().splitlines(True)[:6]
    data = ("".join(lines[:3]) + "A" * (3 << 20) + "\n" + "".join(lines[3:])).encode()
    path = tmp_path / "long.log"
    path.write_bytes(data)
    read = [text for text, _, _ in read_lines(io.BytesIO(data), "x.log", SMALL)]
    fd = os.open(path, os.O_RDONLY)
    piped = StdinSource(fd, max_line=SMALL)
    follower = Follower(str(path), from_beginning=True, sleep=lambda s: None, max_line=SMALL)
    follower.open()
    for got in (read, live_lines(piped), live_lines(follower)):
        assert got[:3] == lines[:3] and got[4:] == lines[3:]
        assert got[3].rstrip("\n") == "A" * (SMALL + 1)
    os.close(fd)
    follower.close()


def live_lines(source: Any) -> list[str]:
    got: list[str] = []
    for _ in range(10):
        batch = source.read()
        got += batch.lines if batch is not None else []
    return got


def test_the_probe_of_one_endless_line_holds_a_bounded_part_of_it(tmp_path: Path) -> None:
    """--jobs N probes each file for its hosts first: of a compressed file, only its head (a
    64 MB line from 64 KB of gzip is cut there, not gathered whole)."""
    lines = INTERLEAVED.read_bytes().splitlines(True)[:6]
    path = tmp_path / "endless.log.gz"
    with gzip.open(path, "wb", compresslevel=1) as file:
        file.write(b"".join(lines[:3]))
        for _ in range(64):
            file.write(b"A" * (1 << 20))
        file.write(b"\n" + b"".join(lines[3:]))
    tracemalloc.start()
    try:
        probe = probe_file(str(path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert set(probe.lines) == {""} and not probe.exact
    assert peak < 8 << 20, f"{peak >> 20} MiB"


def test_the_line_bound_is_a_config_key(tmp_path: Path) -> None:
    _, b = host_logs(tmp_path)
    config = tmp_path / "detect.yaml"
    config.write_text(f"common:\n  max-line-bytes: {SMALL}\n")
    summary = tmp_path / "summary.json"
    out = tmp_path / "events.jsonl"
    command = ["--config", str(config), "events", str(b), "--output", str(out)]
    result = CliRunner().invoke(main, [*command, "--summary-json", str(summary)])
    assert result.exit_code == 0, result.output
    assert json.loads(summary.read_text())["unparsed"] == 2
    assert f"unparsed: {b}:41: {TOO_LONG}" in result.stderr
