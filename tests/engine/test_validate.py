"""`detect validate`: one line per problem with file:line, exit 1 on errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from detect import validate as validate_module
from detect.cli import main
from detect.validate import validate

GOOD = """\
title: Chmod under /tmp
id: 5d1e4c52-8f0e-4a55-9a55-2b8f0f3c0c03
status: test
description: d
tags: [attack.defense-impairment, attack.t1222.002]
logsource: {product: linux, category: file_change}
detection:
  sel:
    TargetFilename|startswith: /tmp/
  condition: sel
level: low
"""


def write(tmp_path: Path, text: str, name: str = "rule.yml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def messages(path: Path) -> list[str]:
    return [f"{p.location.line}: {p.severity}: {p.message}" for p in validate([path])]


def test_a_clean_rule_has_no_problem(tmp_path: Path) -> None:
    assert messages(write(tmp_path, GOOD)) == []


def test_a_field_the_category_cannot_produce_is_an_error_on_its_line(tmp_path: Path) -> None:
    text = GOOD.replace("TargetFilename|startswith", "CommandLine|startswith")
    assert messages(write(tmp_path, text)) == [
        "9: error: field 'CommandLine' is not produced by category file_change "
        "(mappings/sigma/linux.yml)"
    ]


def test_record_view_fields_are_checked_against_the_audit_dictionary(tmp_path: Path) -> None:
    text = GOOD.replace("category: file_change", "service: auditd").replace(
        "TargetFilename|startswith: /tmp/", "nmae: /tmp/x\n    type: PATH\n    SYSCALL: chmod"
    )
    assert messages(write(tmp_path, text)) == [
        "9: warning: field 'nmae' is not an audit field nor an interpreted name"
    ]


def test_revoked_and_misplaced_techniques_are_errors(tmp_path: Path) -> None:
    text = GOOD.replace("attack.t1222.002", "attack.t1070.002, attack.t1053.003")
    found = messages(write(tmp_path, text))
    assert any("T1685.006" in m and "error" in m for m in found), found
    assert any("T1053.003" in m and "error" in m for m in found), found


def test_pysigma_validators_run(tmp_path: Path) -> None:
    text = GOOD.replace("TargetFilename|startswith: /tmp/", "TargetFilename: '*/tmp/*'")
    found = messages(write(tmp_path, text))
    assert any("wildcards_instead_of_modifiers" in m for m in found), found


def test_shipped_detections_need_samples(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(validate_module, "DEFAULT_RULES", tmp_path)
    rule = write(tmp_path, GOOD)
    assert any("without a sample file" in m for m in messages(rule))
    rule.with_suffix(".log").write_text("")
    assert not any("without a sample file" in m for m in messages(rule))


def test_cli_exit_status(tmp_path: Path) -> None:
    good = write(tmp_path, GOOD, "good.yml")
    assert CliRunner().invoke(main, ["validate", str(good)]).exit_code == 0
    bad = write(tmp_path, GOOD.replace("TargetFilename", "Nope"), "bad.yml")
    result = CliRunner().invoke(main, ["validate", str(bad)])
    assert result.exit_code == 1
    assert result.stdout.startswith(f"{bad}:9: error: field 'Nope'")
