"""Strict rule loading (issue 17 item 4): `scan`, `stream` and `test` skip a rule that fails the
checks `validate` applies (detect.matching.checks), with `file:line` and reason; an id loaded
twice is loaded once with a warning naming both files, the same file twice silently once;
`--strict` makes any skipped rule exit 2; SIGHUP with a broken file keeps the previous rules."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Any

from detect.authoring.validate import validate
from detect.pipeline.factory import PipelineSettings, load_rules
from tests.stream.helpers import DETECT, REPO, wait_line

EXAMPLE = REPO / "examples" / "exec_from_temp_dir.log"  # a real capture: 4 execs from /tmp etc.
RULE = """\
title: Exec under /tmp
id: 6a0f6c8e-1111-4c1e-9a55-000000000001
status: test
description: A program run from /tmp.
tags:
    - attack.execution
    - attack.t1204.002
logsource:
    product: linux
    category: process_creation
detection:
    selection:
        Image|startswith: /tmp/
    condition: selection
level: medium
"""
CORRELATION = """\
title: Many execs under /tmp by one user
id: 6a0f6c8e-1111-4c1e-9a55-000000000002
status: test
correlation:
    type: event_count
    rules:
        - 6a0f6c8e-1111-4c1e-9a55-000000000001
    group-by:
        - User
    timespan: 1m
    condition:
        gte: 2
level: high
"""


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    command = [str(DETECT), *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def scan(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return run("scan", "--jobs", "1", "--no-triage", EXAMPLE, *args)


def alerts(result: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.splitlines()]


def loaded(*paths: Path) -> Any:
    settings = PipelineSettings(rule_paths=tuple(map(str, paths)), default_rules=False)
    return load_rules(settings)


def test_the_rule_itself_loads_and_alerts(tmp_path: Path) -> None:
    rules = write(tmp_path / "rules", "tmp.yml", RULE)
    result = scan("--no-default-rules", "--rules", rules)
    assert result.returncode == 1, result.stderr
    assert len(alerts(result)) == 1  # the payload run from /tmp (the others: /var/tmp, /dev/shm)
    assert {a["rule"]["id"] for a in alerts(result)} == {"6a0f6c8e-1111-4c1e-9a55-000000000001"}


def test_a_misspelt_field_skips_the_rule_in_scan_as_validate_reports_it(tmp_path: Path) -> None:
    bad = write(tmp_path / "rules", "bad.yml", RULE.replace("Image|", "Imagee|"))
    good = write(tmp_path / "rules", "good.yml", RULE.replace("0001", "0003"))
    reason = "field 'Imagee' is not produced by category process_creation"
    [error] = loaded(bad, good).errors
    assert (error.location.source, error.location.line) == (str(bad), 13)
    assert reason in error.reason
    [problem] = [p for p in validate([bad]) if p.severity == "error"]
    assert (problem.location, problem.message) == (error.location, error.reason)
    result = scan("--no-default-rules", "--rules", tmp_path / "rules")
    assert result.returncode == 1  # the good rule still runs
    assert f"skipped: {bad}:13: Exec under /tmp: {reason}" in result.stderr
    assert {a["rule"]["id"] for a in alerts(result)} == {"6a0f6c8e-1111-4c1e-9a55-000000000003"}


def test_unknown_and_misplaced_attack_tags_skip_the_rule(tmp_path: Path) -> None:
    unknown = write(tmp_path, "unknown.yml", RULE.replace("t1204.002", "t9999"))
    moved = RULE.replace("t1204.002", "t1003.008").replace("0001", "0007")  # credential access
    misplaced = write(tmp_path, "misplaced.yml", moved)
    rules = loaded(unknown, misplaced)
    assert rules.rules == []
    reasons = {Path(e.location.source).name: e.reason for e in rules.errors}
    assert "attack.t9999" in reasons["unknown.yml"]
    assert "attack.t1003.008" in reasons["misplaced.yml"]
    assert all(e.location.line == 1 for e in rules.errors)


def test_a_group_by_no_base_rule_produces_skips_the_correlation(tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    write(folder, "tmp.yml", RULE)
    good = write(folder, "count.yml", CORRELATION)
    assert loaded(folder).errors == []
    assert len(loaded(folder).correlations) == 1
    good.write_text(CORRELATION.replace("- User", "- Userr"))
    rules = loaded(folder)
    assert rules.correlations == []
    [error] = rules.errors
    assert (error.location.source, error.location.line) == (str(good), 9)  # the `- Userr` line
    assert "group-by 'Userr' is not produced by rule 'Exec under /tmp'" in error.reason
    assert [str(p) for p in validate([folder]) if p.severity == "error"] == [
        f"{good}:9: error: {error.reason} [Many execs under /tmp by one user]"
    ]
    result = scan("--no-default-rules", "--rules", folder)
    assert f"skipped: {good}:9: Many execs under /tmp by one user: group-by" in result.stderr


def test_an_alias_group_by_is_checked_per_rule(tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    write(folder, "tmp.yml", RULE)
    aliased = CORRELATION.replace(
        "    group-by:\n        - User\n",
        "    aliases:\n        who:\n            6a0f6c8e-1111-4c1e-9a55-000000000001: Usr\n"
        "    group-by:\n        - who\n",
    )
    write(folder, "count.yml", aliased)
    [error] = loaded(folder).errors
    assert "group-by 'Usr (alias who)'" in error.reason


def test_an_id_loaded_twice_is_loaded_once_with_a_warning_naming_both(tmp_path: Path) -> None:
    first = write(tmp_path / "a", "one.yml", RULE)
    second = write(tmp_path / "b", "two.yml", RULE.replace("Exec under /tmp", "Copy"))
    rules = loaded(first, second)
    assert [rule.title for rule in rules.rules] == ["Exec under /tmp"]
    [warning] = rules.warnings
    assert warning.location.source == str(second)
    assert f"already loaded from {first}:1" in warning.reason
    result = scan("--no-default-rules", "--rules", first, "--rules", second)
    assert result.returncode == 1
    assert len(alerts(result)) == 1  # not doubled
    assert f"rule warning: {second}:1: Copy: id" in result.stderr
    assert "rules loaded 1, skipped 1" in result.stderr  # the second copy, in the summary too


def test_the_same_files_given_twice_are_read_once_silently() -> None:
    once = scan()
    twice = scan("--rules", REPO / "detections", "--rules", REPO / "detections" / "execution")
    assert once.returncode == twice.returncode == 1
    assert alerts(twice) == alerts(once)
    assert "rule warning" not in twice.stderr
    assert "skipped 0" in twice.stderr


def test_strict_turns_a_skipped_rule_into_exit_2_after_the_scan(tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    write(folder, "good.yml", RULE)
    write(folder, "bad.yml", RULE.replace("0001", "0004").replace("Image|", "Imagee|"))
    lenient = scan("--no-default-rules", "--rules", folder)
    assert lenient.returncode == 1
    strict = scan("--no-default-rules", "--rules", folder, "--strict")
    assert strict.returncode == 2
    assert alerts(strict) == alerts(lenient)  # the rest ran and was written
    assert "error: --strict: skipped rules, correlations or files: 1" in strict.stderr
    clean = scan("--no-default-rules", "--rules", folder / "good.yml", "--strict")
    assert clean.returncode == 1


def test_detect_test_fails_a_rule_file_the_checks_refuse(tmp_path: Path) -> None:
    shipped = REPO / "detections" / "execution" / "exec_from_temp_dir"
    folder = tmp_path / "execution"
    folder.mkdir()
    for suffix in (".yml", ".log"):
        shutil.copy(shipped.with_suffix(suffix), folder)
    passing = run("test", folder)
    assert passing.returncode == 0, passing.stdout
    rule = folder / "exec_from_temp_dir.yml"
    rule.write_text(rule.read_text().replace("attack.t1204.002", "attack.t9999"))
    failing = run("test", folder)
    assert failing.returncode == 1
    assert f"FAIL {rule}" in failing.stdout
    assert "attack.t9999" in failing.stdout


def test_sighup_with_a_broken_file_keeps_the_previous_rules(tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    write(folder, "good.yml", RULE)
    log, out, err = tmp_path / "audit.log", tmp_path / "alerts.json", tmp_path / "err"
    log.write_text("")
    command = [
        str(DETECT), "stream", "--follow", str(log), "--rules", str(folder),
        "--no-default-rules", "--no-triage", "--output", str(out), "--stats-interval", "0",
    ]  # fmt: skip
    child = subprocess.Popen(command, stderr=err.open("wb"))
    try:
        wait_line(err, "stream: reading")
        write(folder, "bad.yml", RULE.replace("0001", "0005").replace("Image|", "Imagee|"))
        child.send_signal(signal.SIGHUP)
        wait_line(err, "stream: reload: a rule failed; the previous rules stay")
        (folder / "bad.yml").unlink()
        write(folder, "more.yml", RULE.replace("0001", "0006"))
        child.send_signal(signal.SIGHUP)
        wait_line(err, "stream: reloaded 2 rules")
    finally:
        child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=20) == 0
    text = err.read_text()
    assert "Imagee" in text  # the reason was said
    assert text.count("stream: reloaded") == 1
