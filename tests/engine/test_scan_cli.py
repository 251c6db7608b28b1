"""`detect scan`: alerts (ECS fields), text blocks, summary, exit codes, Navigator layer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from detect.cli.commands import main
from tests.capture_events import CAPTURES

RULE = """\
title: Echo with world
id: 5d1e4c52-8f0e-4a55-9a55-2b8f0f3c0c01
status: test
description: An echo whose command line says world.
references: [https://attack.mitre.org/techniques/T1059/004/]
tags: [attack.execution, attack.t1059.004]
logsource: {product: linux, category: process_creation}
detection:
  sel: {Image|endswith: /echo, CommandLine|contains: world}
  condition: sel
level: high
"""


@pytest.fixture
def rule_file(tmp_path: Path) -> Path:
    path = tmp_path / "echo.yml"
    path.write_text(RULE)
    return path


def scan(*args: str) -> Result:
    return CliRunner().invoke(main, ["scan", *args])


def test_alert_fields(rule_file: Path, tmp_path: Path) -> None:
    result = scan(
        str(CAPTURES / "execve_args.log"), "--rules", str(rule_file), "--no-default-rules"
    )
    assert result.exit_code == 1, result.output
    alerts = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert["event"]["kind"] == "alert" and alert["event"]["severity"] == 73
    assert alert["rule"] == {
        "id": "5d1e4c52-8f0e-4a55-9a55-2b8f0f3c0c01",
        "name": "Echo with world",
        "description": "An echo whose command line says world.",
        "reference": ["https://attack.mitre.org/techniques/T1059/004/"],
    }
    assert alert["tags"] == ["attack.execution", "attack.t1059.004"]
    threat = alert["threat"]
    assert threat["framework"] == "MITRE ATT&CK"
    assert threat["technique"]["id"] == ["T1059"]
    assert threat["technique"]["subtechnique"]["id"] == ["T1059.004"]
    assert threat["technique"]["subtechnique"]["name"] == ["Unix Shell"]
    assert threat["tactic"] == {
        "id": ["TA0002"],
        "name": ["Execution"],
        "reference": ["https://attack.mitre.org/tactics/TA0002"],
    }
    assert alert["detect"]["level"] == "high"
    event = alert["detect"]["events"][0]
    assert event["serial"] == 2119 and alert["@timestamp"] == event["@timestamp"]
    assert [r["type"] for r in event["records"]][:3] == ["SYSCALL", "BPRM_FCAPS", "EXECVE"]
    assert all(r["raw"].startswith("type=") for r in event["records"])
    assert event["process"]["command_line"] == "/bin/echo hello world"


def test_text_blocks_and_summary(rule_file: Path, tmp_path: Path) -> None:
    summary = tmp_path / "summary.json"
    layer = tmp_path / "layer.json"
    result = scan(
        str(CAPTURES / "execve_args.log"), "--rules", str(rule_file), "--no-default-rules",
        "--format", "text", "--summary-json", str(summary), "--layer", str(layer), "--no-triage",
    )  # fmt: skip
    assert result.exit_code == 1
    assert "HIGH  Echo with world" in result.stdout  # --no-triage: a block per alert
    assert "command: /bin/echo hello world" in result.stdout
    assert "T1059.004 Unix Shell" in result.stdout
    assert "rules loaded 1, skipped 0; alerts 1" in result.stderr
    data = json.loads(summary.read_text())
    for key in ("rules_loaded", "rules_skipped", "lines", "events", "alerts", "unparsed", "lost"):
        assert key in data
    assert (data["rules_loaded"], data["alerts"], data["rules_skipped"]) == (1, 1, [])
    assert data["alerts_by_technique"] == {"T1059.004": 1}
    techniques = json.loads(layer.read_text())["techniques"]
    assert {(t["techniqueID"], t["score"]) for t in techniques} == {("T1059.004", 1)}


def test_no_alert_exits_0_and_reports_skipped_rules(rule_file: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("title: broken\nlogsource: {product: linux}\ndetection: {condition: nope}\n")
    summary = tmp_path / "summary.json"
    result = scan(
        str(CAPTURES / "file_ops.log"), "--rules", str(rule_file), "--rules", str(bad),
        "--no-default-rules", "--summary-json", str(summary),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    skipped = json.loads(summary.read_text())["rules_skipped"]
    assert [Path(entry["file"].split(":")[0]).name for entry in skipped] == ["bad.yml"]


def test_errors_exit_2(rule_file: Path, tmp_path: Path) -> None:
    assert scan("--rules", str(tmp_path / "none.yml"), "--no-default-rules").exit_code == 2
    missing = scan(str(tmp_path / "no-such.log"), "--rules", str(rule_file), "--no-default-rules")
    assert missing.exit_code == 2


def test_a_rule_with_a_malformed_chain_is_skipped(rule_file: Path, tmp_path: Path) -> None:
    chained = tmp_path / "chained.yml"
    chained.write_text(
        RULE.replace("5d1e4c52-8f0e-4a55-9a55-2b8f0f3c0c01", "5d1e4c52-8f0e-4a55-9a55-2b8f0f3c0c02")
        + "chain:\n  - selection: {Image|endswith: /bash}\n    max_distance: 0\n"
    )
    summary = tmp_path / "summary.json"
    result = scan(
        str(CAPTURES / "execve_args.log"), "--rules", str(rule_file), "--rules", str(chained),
        "--no-default-rules", "--summary-json", str(summary), "--format", "text",
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "  Echo with world in login session" in result.stdout  # one incident, one rule
    assert "1× " in result.stdout and "2× " not in result.stdout  # the chained copy never runs
    data = json.loads(summary.read_text())
    assert data["rules_loaded"] == 1
    assert data["rules_skipped"] == [
        {
            "file": f"{chained}:13",  # the step's line: skipped at loading
            "rule": "Echo with world",
            "reason": "chain.0: max_distance: expected a whole number from 1 to 64",
        }
    ]
    assert "rules loaded 1, skipped 1; alerts 1" in result.stderr
