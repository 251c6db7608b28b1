"""Issue 18 must show 2: adversarial corpora, each bounded in memory and time, each counted in
the summary. Every run is a `detect` child: its own peak RSS (`wait4`) and wall time are
asserted loosely (figures for people: `bench/adversarial.py`)."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from tests.hardening.corpora import (
    arg_max_execve,
    endless_event,
    endless_line,
    many_nodes,
    many_pids,
)
from tests.hardening.helpers import DETECT, REPO

MB = 1 << 20


# ru_maxrss of a forked child starts at its parent's peak (the kernel keeps the larger across
# fork and exec), and pytest's grows past any bound here: a small Python forks `detect` and
# reports its child's peak.
MEASURE = """
import resource, subprocess, sys
code = subprocess.run(sys.argv[2:], stdout=subprocess.DEVNULL).returncode
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
open(sys.argv[1], "w").write(f"{code} {peak}")
"""


def run_child(*args: str) -> tuple[int, float, float, str]:
    """(exit status, peak RSS in MB, seconds, stderr) of one `detect` run."""
    report = Path(tempfile.mkstemp(prefix="detect-rss-")[1])
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(report), str(DETECT), *args],
        stderr=subprocess.PIPE,
        text=True,
        env={"DETECT_PURE": "1", "PATH": "/usr/bin:/bin"},
    )
    seconds = time.perf_counter() - started
    code, peak = report.read_text().split()
    report.unlink()
    assert done.returncode == 0, done.stderr
    return int(code), int(peak) / 1024, seconds, done.stderr


def events_summary(path: Path, tmp_path: Path) -> tuple[dict[str, Any], float, float]:
    summary = tmp_path / "summary.json"
    code, rss, seconds, err = run_child("events", str(path), "--summary-json", str(summary))
    assert code == 0, err
    return json.loads(summary.read_text()), rss, seconds


def test_one_endless_event_is_capped_and_counted(tmp_path: Path) -> None:
    path = endless_event(tmp_path / "endless.log", 300_000)
    counts, rss, seconds = events_summary(path, tmp_path)
    assert counts["events"] == 1 and counts["events_capped"] == 1
    assert counts["records_dropped"] == 300_001 - 20_000
    assert rss < 400 and seconds < 120  # unbounded, it held 300,001 records (~1 GB per 1M)


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_one_endless_line_is_never_held_whole(tmp_path: Path, compress: bool) -> None:
    path = endless_line(tmp_path / "line.log", 256 * MB, compress=compress)
    counts, rss, seconds = events_summary(path, tmp_path)
    assert counts["unparsed"] == 1
    assert "line.log:7: line longer than 1 MiB" in counts["unparsed_examples"][0]
    assert counts["events"] == 2 and counts["records"] == 12  # the events around it, whole
    assert rss < 200 and seconds < 120  # whole, the line alone took 256 MB (512 decoded)


def test_120000_nodes_cost_linear_time_and_bounded_memory(tmp_path: Path) -> None:
    path = many_nodes(tmp_path / "nodes.log", 120_000)  # > MAX_NODES and MAX_INFLIGHT
    counts, rss, seconds = events_summary(path, tmp_path)
    assert counts["events"] == 120_000 and counts["records"] == 240_000
    assert counts["nodes_forgotten"] > 0
    assert seconds < 120 and rss < 900  # eviction scanned every node: 90,000 nodes took 243 s


def test_100000_pids_are_bounded_by_the_process_table(tmp_path: Path) -> None:
    path = many_pids(tmp_path / "pids.log", 60_000)
    rules = tmp_path / "rule.yml"
    rules.write_text(
        "title: t\nlogsource:\n  product: linux\n  service: auditd\n"
        "detection:\n  sel:\n    a1: nothing-here\n  condition: sel\n"
    )
    summary = tmp_path / "s.json"
    code, rss, seconds, err = run_child(
        "scan", str(path), "--no-default-rules", "--rules", str(rules),
        "--summary-json", str(summary),
    )  # fmt: skip
    assert code == 0, err
    tree = json.loads(summary.read_text())["process_tree"]
    assert tree["processes"] >= 60_000 and tree["evicted"] > 0
    assert "process tree: processes" in err
    assert seconds < 300 and rss < 900


SIGMAHQ_AUDITD = REPO.parent / "shared" / "sigma" / "rules" / "linux" / "auditd"


@pytest.mark.skipif(not SIGMAHQ_AUDITD.is_dir(), reason="SigmaHQ's rules not in ../shared")
def test_an_arg_max_execve_costs_linear_time_with_sigmahqs_rules(tmp_path: Path) -> None:
    path = arg_max_execve(tmp_path / "argmax.log")
    summary = tmp_path / "s.json"
    code, rss, _, err = run_child(
        "scan", str(path), "--no-default-rules", "--rules", str(SIGMAHQ_AUDITD),
        "--summary-json", str(summary),
    )  # fmt: skip
    assert code == 0, err
    counts = json.loads(summary.read_text())
    assert counts["events"] == 1 and counts["records"] == 379 and counts["rules_loaded"] == 53
    # each EXECVE record's view held the whole 1.4 MB command line: 14.9 s (pure), now 0.3 s
    assert counts["seconds"] < 5 and rss < 400
