"""Issue 18 item 4 (must show 4): rule compilation is total. A hostile rule is skipped with its
`file:line` and reason in `scan`, `validate` and a SIGHUP reload of a running stream; lists too
large for one RE2 program or set are split, and still match."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

from detect.sigma.load import load_rules
from tests.hardening.helpers import CAPTURES, DETECT, run_detect
from tests.hardening.rules import (
    deep_not,
    deep_parentheses,
    echo_hello,
    long_list,
    regex_set,
    write_rules,
)
from tests.stream.helpers import read_alerts, wait_for, wait_line


def test_deep_conditions_are_skipped_with_where_and_why(tmp_path: Path) -> None:
    folder = write_rules(tmp_path, deep_not=deep_not(), deep_parentheses=deep_parentheses())
    folder = write_rules(folder, ok=echo_hello())
    loaded = load_rules([folder])
    assert [rule.title for rule in loaded.rules] == ["echo hello"]
    errors = {Path(e.location.source).name: e for e in loaded.errors}
    assert set(errors) == {"deep_not.yml", "deep_parentheses.yml"}
    assert "nests" in errors["deep_not.yml"].reason
    assert errors["deep_not.yml"].location.line == 9  # the condition's line


def test_a_100000_item_list_loads_matches_and_scans(tmp_path: Path) -> None:
    folder = write_rules(tmp_path / "rules", long=long_list(needle="hello"), re=regex_set())
    log = tmp_path / "a.log"
    log.write_text((CAPTURES / "execve_args.log").read_text())
    out = tmp_path / "alerts.jsonl"
    scan = run_detect(
        "scan", str(log), "--no-default-rules", "--rules", str(folder), "--output", str(out),
        timeout=300,
    )  # fmt: skip
    assert scan.returncode == 1, scan.stderr  # alerts
    titles = {json.loads(line)["rule"]["name"] for line in out.read_text().splitlines()}
    assert titles == {"long list"}  # `a1: hello` holds the list's last item
    assert "skipped 0" in scan.stderr


def test_scan_and_validate_report_the_same_skipped_rule(tmp_path: Path) -> None:
    folder = write_rules(tmp_path / "rules", deep=deep_not(), ok=echo_hello())
    log = tmp_path / "a.log"
    log.write_text((CAPTURES / "execve_args.log").read_text())
    summary = tmp_path / "s.json"
    scan = run_detect(
        "scan", str(log), "--no-default-rules", "--rules", str(folder),
        "--summary-json", str(summary), "--output", str(tmp_path / "alerts.jsonl"),
    )  # fmt: skip
    assert scan.returncode == 1, scan.stderr  # echo hello fired: the run went on
    skipped = json.loads(summary.read_text())["rules_skipped"]
    assert [(Path(s["file"]).name, s["reason"]) for s in skipped] == [
        ("deep.yml:9", "the condition nests too deeply")
    ]
    validate = run_detect("validate", str(folder))
    assert validate.returncode == 1
    assert f"{folder / 'deep.yml'}:9: error: the condition nests too deeply" in validate.stdout


def test_a_reload_with_a_hostile_rule_keeps_the_stream_running(tmp_path: Path) -> None:
    folder = write_rules(tmp_path / "rules", ok=echo_hello())
    log, out, err = tmp_path / "audit.log", tmp_path / "alerts.jsonl", tmp_path / "err"
    lines = (CAPTURES / "execve_args.log").read_text()
    log.write_text("")
    command = [
        str(DETECT), "stream", "--follow", str(log), "--from-beginning", "--no-default-rules",
        "--rules", str(folder), "--output", str(out), "--stats-interval", "0", "--idle-ms", "50",
    ]  # fmt: skip
    with err.open("wb") as errors:
        child = subprocess.Popen(command, stderr=errors, env={"DETECT_PURE": "1"})
    try:
        wait_line(err, "stream: reading")
        write_rules(folder, deep=deep_not(), long=long_list(items=50_000))
        child.send_signal(signal.SIGHUP)
        wait_line(err, "stream: reload: a rule failed; the previous rules stay")
        with log.open("a") as file:
            file.write(lines)
        wait_for(lambda: len(read_alerts(out)) >= 1, what="an alert after the reload")
        assert child.poll() is None  # still running
    finally:
        child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=30) == 0
    text = err.read_text()
    assert "reload: rule error:" in text and "deep.yml:9" in text and "nests" in text
    assert "reloaded" not in text  # one file failed: the previous rules (`ok`) stay, and alert
