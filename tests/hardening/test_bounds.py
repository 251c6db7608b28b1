"""Issue 18, the bounds: each has a default, a flag (so a configuration key) on `scan`, `events`
and `stream`, reaches the stage it bounds through PipelineSettings, and is counted in the summary
(JSON and text) when hit."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from detect.auditd.reassemble import MAX_NODES, MAX_RECORDS, Limits
from detect.cli.commands import main
from detect.cli.stream import stream
from detect.pipeline.factory import (
    DEFAULTS,
    PipelineSettings,
    build_correlations,
    build_engine,
    build_reassembler,
    load_rules,
)
from detect.proctree.settings import load_settings
from detect.sigma.correlation.window import MAX_GROUPS
from detect.sigma.correlation.window import Limits as CorrelationLimits
from detect.sigma.model import RuleSet
from tests.hardening.helpers import CAPTURES, DETECT
from tests.hardening.rules import rule, write_rules

EXECVE_ARGS = str(CAPTURES / "execve_args.log")
ENV = {"DETECT_PURE": "1"}
BOUNDS_FLAGS = (
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
    assert set(BOUNDS_FLAGS[:6]) <= names
    assert all((flag in names) == detecting for flag in BOUNDS_FLAGS[6:])
    defaults = {param.name: param.default for param in command.params}
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
    plain, _ = run("events", EXECVE_ARGS, tmp_path=tmp_path)
    assert plain["inflight_full"] == plain["node_inflight_full"] == 0
    counts, text = run("events", EXECVE_ARGS, "--max-inflight", "2", tmp_path=tmp_path)
    assert counts["inflight_full"] > 0 and counts["evicted"] >= counts["inflight_full"]
    assert f"inflight full {counts['inflight_full']}" in text
    counts, text = run("events", EXECVE_ARGS, "--max-node-inflight", "1", tmp_path=tmp_path)
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
