"""`detect attack coverage` and `detect attack gaps` through click's runner, on a small folder."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from detect.attack.catalog import load_catalog
from detect.attack.layer import NAVIGATOR_VERSION
from detect.cli.attack import attack, enabled_rules
from detect.sigma import load as sigma_load

RULE = """\
title: {title}
id: {id}
status: test
logsource: {{product: linux, category: process_creation}}
detection:
  selection: {{Image|endswith: /{image}}}
  condition: selection
tags: {tags}
level: high
"""
RULES = {
    "shell.yml": ("Shell from web server", "bash", ["attack.execution", "attack.t1059.004"]),
    "reverse.yml": ("Reverse shell", "nc", ["attack.execution", "attack.t1059.004"]),
    "cron.yml": ("Cron job written", "crontab", ["attack.persistence", "attack.t1053.003"]),
    "plain.yml": ("No ATT&CK tags", "true", ["cve.2021-4034"]),
}


def write_rules(folder: Path, rules: dict[str, tuple[str, str, list[str]]]) -> Path:
    folder.mkdir(exist_ok=True)
    for number, (name, (title, image, tags)) in enumerate(sorted(rules.items()), start=1):
        uuid = f"00000000-0000-4000-8000-{number:012d}"
        text = RULE.format(title=title, id=uuid, image=image, tags=json.dumps(tags))
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    return write_rules(tmp_path / "rules", RULES)


def run(*args: str) -> Result:
    result = CliRunner().invoke(attack, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def linux_total(tactic_id: str) -> int:
    return len(load_catalog().techniques_of_tactic(tactic_id, "Linux"))


def cells(line: str) -> list[str]:
    return re.split(r"\s{2,}", line.strip())


def test_coverage_table(rules: Path) -> None:
    out = run("coverage", "--rules", str(rules), "--no-default-rules").stdout.splitlines()
    assert out[0] == (
        "ATT&CK 19.1 coverage of Linux techniques and sub-techniques by 4 enabled detections "
        "(3 with technique tags)"
    )
    execution = out.index(f"execution (TA0002): 4 of {linux_total('TA0002')} covered")
    assert [cells(line) for line in out[execution + 1 : execution + 5]] == [
        ["T1053", "Scheduled Task/Job", "(through its sub-techniques)"],
        ["T1053.003", "Cron", "Cron job written"],
        ["T1059", "Command and Scripting Interpreter", "(through its sub-techniques)"],
        ["T1059.004", "Unix Shell", "Reverse shell; Shell from web server"],
    ]
    assert out[execution + 5] == ""
    persistence = out.index(f"persistence (TA0003): 2 of {linux_total('TA0003')} covered")
    assert cells(out[persistence + 2]) == ["T1053.003", "Cron", "Cron job written"]
    assert f"impact (TA0040): 0 of {linux_total('TA0040')} covered" in out
    assert not any(line.startswith("reconnaissance") for line in out)  # no Linux techniques


def test_coverage_tactics_in_matrix_order(rules: Path) -> None:
    out = run("coverage", "--rules", str(rules), "--no-default-rules").stdout.splitlines()
    headings = [line.split(" ")[0] for line in out if re.match(r"[a-z-]+ \(TA\d{4}\): ", line)]
    order = [t.short_name for t in load_catalog().tactics if linux_total(t.id)]
    assert headings == order


def test_coverage_totals(rules: Path) -> None:
    out = run("coverage", "--rules", str(rules), "--no-default-rules").stdout.splitlines()
    linux = [t for t in load_catalog().active_techniques() if "Linux" in t.platforms]
    total = f"Total: 4 of {len(linux)} Linux techniques and sub-techniques covered, in 3 of 13 "
    total += "tactics"
    assert total in out
    assert out[-1].startswith("© 2026 The MITRE Corporation.")


def test_coverage_layer(rules: Path, tmp_path: Path) -> None:
    path = tmp_path / "layer.json"
    result = run("coverage", "--rules", str(rules), "--no-default-rules", "--layer", str(path))
    assert f"layer written to {path}" in result.stderr
    layer = json.loads(path.read_text(encoding="utf-8"))
    assert layer["versions"] == {"attack": "19", "navigator": NAVIGATOR_VERSION, "layer": "4.5"}
    assert layer["domain"] == "enterprise-attack"
    assert layer["name"] == "detect: enabled detections"
    assert layer["description"].startswith("Techniques covered by 4 enabled detections. © 2026")
    assert [set(entry) for entry in layer["techniques"]] == [
        {"techniqueID", "tactic", "score", "comment", "enabled"}
    ] * 4
    by_key = {(t["techniqueID"], t["tactic"]): t for t in layer["techniques"]}
    assert sorted(by_key) == [
        ("T1053.003", "execution"),
        ("T1053.003", "persistence"),
        ("T1053.003", "privilege-escalation"),
        ("T1059.004", "execution"),
    ]
    shell = by_key["T1059.004", "execution"]
    assert (shell["score"], shell["comment"]) == (2, "Reverse shell; Shell from web server")
    cron = by_key["T1053.003", "persistence"]
    assert (cron["score"], cron["comment"], cron["enabled"]) == (1, "Cron job written", True)
    assert layer["gradient"]["maxValue"] == 2


def test_coverage_reports_bad_tags_and_unloadable_rules(rules: Path) -> None:
    """Coverage counts what `detect scan` runs: a rule with a revoked or misplaced tag is not
    loaded (as in scan), said with its file:line and the tag to use instead."""
    text = RULE.format(
        title="Old tags",
        id="00000000-0000-4000-8000-000000000099",
        image="auditctl",
        tags=json.dumps(["attack.defense-evasion", "attack.t1562.012"]),
    )
    (rules / "bad.yml").write_text(text, encoding="utf-8")
    (rules / "broken.yml").write_text("title: [unclosed\n", encoding="utf-8")
    result = run("coverage", "--rules", str(rules), "--no-default-rules")
    assert "rule not loaded: " in result.stderr and "bad.yml:1: Old tags: " in result.stderr
    assert "tag attack.t1685.004 instead" in result.stderr
    assert "broken.yml" in result.stderr
    assert "rule warning" not in result.stderr
    out = result.stdout.splitlines()
    assert f"defense-impairment (TA0112): 0 of {linux_total('TA0112')} covered" in out
    assert "Cron job written" in result.stdout  # its id is not taken by the rule not loaded
    assert "Old tags" not in result.stdout


def test_default_rules_are_enabled_unless_told(
    rules: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shipped = write_rules(tmp_path / "shipped", {"x.yml": RULES["cron.yml"]})
    monkeypatch.setattr(sigma_load, "DEFAULT_RULES", shipped)
    assert [r.title for r in enabled_rules((), False)] == ["Cron job written"]
    assert enabled_rules((), True) == []
    both = enabled_rules((rules / "shell.yml",), False)
    assert [r.title for r in both] == ["Cron job written", "Shell from web server"]
    out = run("coverage").stdout
    assert "by 1 enabled detections (1 with technique tags)" in out


def test_rules_audit_logs_do_not_feed_are_not_counted(rules: Path) -> None:
    sshd = (rules / "shell.yml").read_text(encoding="utf-8")
    sshd = sshd.replace("category: process_creation", "service: sshd")
    sshd = re.sub(r"(?m)^id: .*$", "id: 00000000-0000-4000-8000-000000000099", sshd)  # its own
    (rules / "sshd.yml").write_text(sshd.replace("Shell from web server", "SSH"), "utf-8")
    result = run("coverage", "--rules", str(rules), "--no-default-rules")
    assert "sshd.yml:1: SSH: not counted: logsource {product: linux, service: sshd}" in (
        result.stderr
    )
    assert "by 4 enabled detections" in result.stdout


def test_gaps_name_auditd_channels(rules: Path) -> None:
    out = run("gaps", "--rules", str(rules), "--no-default-rules").stdout.splitlines()
    assert out[0] == (
        "ATT&CK 19.1: Linux techniques that MITRE's analytics see in auditd and no enabled "
        "detection covers"
    )
    ids = {line.split()[0] for line in out if re.match(r"  T\d{4}", line)}
    assert {"T1053.003", "T1053", "T1059.004", "T1059"}.isdisjoint(ids)
    assert {"T1003", "T1053.006", "T1098.004", "T1136.001"} <= ids
    credential = out.index(next(line for line in out if line.startswith("credential-access")))
    dumping = out.index("  T1003      OS Credential Dumping", credential)
    assert [line.split() for line in out[dumping + 1 : dumping + 4]] == [
        ["auditd:SYSCALL", "execve", "(Process", "Creation)"],
        ["auditd:SYSCALL", "open", "(File", "Access)"],
        ["auditd:SYSCALL", "ptrace", "(Process", "Access)"],
    ]
    text = "\n".join(out)
    for source in ("auditd:SYSCALL", "auditd:EXECVE", "auditd:PATH", "auditd:USER_LOGIN"):
        assert source in text
    assert "auditd:CONFIG_CHANGE" in text


def test_gaps_total_and_tactic_filter(rules: Path) -> None:
    everything = run("gaps", "--rules", str(rules), "--no-default-rules").stdout.splitlines()
    visible = len(load_catalog().linux_auditd_techniques())
    assert f"Total: {visible - 4} uncovered of {visible} auditd-visible Linux techniques" in (
        everything
    )
    out = run("gaps", "--no-default-rules", "--tactic", "Privilege_Escalation").stdout
    headings = [line for line in out.splitlines() if re.match(r"[a-z-]+ \(TA", line)]
    assert len(headings) == 1 and headings[0].startswith("privilege-escalation (TA0004): ")
    assert "  T1053.003  Cron" in out


def test_gaps_unknown_tactic() -> None:
    result = CliRunner().invoke(attack, ["gaps", "--no-default-rules", "--tactic", "nope"])
    assert result.exit_code == 2
    assert "unknown ATT&CK tactic 'nope'" in result.stderr
