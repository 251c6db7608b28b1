"""`detect validate`: one line per problem with file:line, exit 1 on errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from detect.authoring import validate as validate_module
from detect.authoring.validate import validate
from detect.cli.commands import main

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


CHAIN_RULE = """\
title: Curl below a shell
id: 5d1e4c52-8f0e-4a55-9a55-2b8f0f3c0c04
status: test
description: d
tags: [attack.command-and-control, attack.t1105]
logsource: {product: linux, category: process_creation}
detection:
  sel: {Image|endswith: /curl}
  condition: sel
chain:
  - selection: {Image|endswith: /nginx}
  - selection: {Image|endswith: /sh}
    max_distance: 0
level: low
"""


def test_a_malformed_chain_is_an_error_on_the_line_of_its_step(tmp_path: Path) -> None:
    assert messages(write(tmp_path, CHAIN_RULE)) == [
        "12: error: chain.1: max_distance: expected a whole number from 1 to 64"
    ]
    assert messages(write(tmp_path, CHAIN_RULE.replace("max_distance: 0", "max_distance: 2"))) == []
    not_a_list = CHAIN_RULE.replace("  - selection: {Image|endswith: /nginx}\n", "").replace(
        "  - selection: {Image|endswith: /sh}\n    max_distance: 0\n", ""
    )
    assert messages(write(tmp_path, not_a_list.replace("chain:", "chain: 3"))) == [
        "10: error: chain: expected a non-empty list of steps (selection, max_distance)"
    ]


def test_a_chain_on_the_record_view_is_an_error(tmp_path: Path) -> None:
    text = CHAIN_RULE.replace("category: process_creation", "service: auditd")
    text = text.replace("Image|endswith: /curl", "exe|endswith: /curl").replace(
        "max_distance: 0", "max_distance: 1"
    )
    assert messages(write(tmp_path, text)) == [
        "10: error: chain: chains need a category view (e.g. process_creation)"
    ]


def test_a_record_view_rule_may_use_the_tree_fields(tmp_path: Path) -> None:
    text = GOOD.replace("category: file_change", "service: auditd").replace(
        "TargetFilename|startswith: /tmp/",
        "type: EXECVE\n    ParentImage|endswith: /nginx\n    AncestorImages|endswith: /sshd",
    )
    assert messages(write(tmp_path, text)) == []
    typo = text.replace("ParentImage", "ParentImag")
    assert messages(write(tmp_path, typo)) == [
        "10: warning: field 'ParentImag' is not an audit field nor an interpreted name"
    ]


CORRELATION = """\
title: Chmod under /tmp twice
id: 5d1e4c52-8f0e-4a55-9a55-2b8f0f3c0c05
status: test
correlation:
  type: event_count
  rules:
    - 5d1e4c52-8f0e-4a55-9a55-2b8f0f3c0c03
    - no-such-rule
  group-by: [User]
  timespan: 5m
  condition: {gte: 2}
level: low
"""


def test_a_correlation_naming_a_missing_rule_is_an_error_on_its_line(tmp_path: Path) -> None:
    write(tmp_path, GOOD)
    correlation = write(tmp_path, CORRELATION, "correlation.yml")
    assert messages(tmp_path) == ["8: error: references 'no-such-rule', which is not loaded"]
    correlation.write_text(CORRELATION.replace("    - no-such-rule\n", ""))
    assert messages(tmp_path) == []


def test_a_correlation_may_name_the_shipped_detections(tmp_path: Path) -> None:
    shipped = "22da1fdd-6737-4ff5-9239-becb65b082af"  # Cron File Modified
    text = CORRELATION.replace("5d1e4c52-8f0e-4a55-9a55-2b8f0f3c0c03", shipped)
    assert messages(write(tmp_path, text.replace("    - no-such-rule\n", ""))) == []


def test_a_correlation_cycle_is_an_error(tmp_path: Path) -> None:
    first = CORRELATION.replace("no-such-rule", "second")
    second = CORRELATION.replace("0c05", "0c06").replace(
        "no-such-rule", "5d1e4c52-8f0e-4a55-9a55-2b8f0f3c0c05"
    )
    write(tmp_path, first, "first.yml")
    write(tmp_path, second.replace("status: test", "name: second\nstatus: test"), "second.yml")
    write(tmp_path, GOOD)
    found = messages(tmp_path)
    assert found and all("error" in m for m in found), found
    assert any("correlation cycle" in m for m in found), found


def test_a_chain_step_field_the_category_cannot_produce_is_an_error(tmp_path: Path) -> None:
    text = CHAIN_RULE.replace("max_distance: 0", "max_distance: 2")
    text = text.replace("{Image|endswith: /sh}", "[{Image|endswith: /sh}, {Imgae: /bin/sh}]")
    assert messages(write(tmp_path, text)) == [
        "12: error: chain.1: field 'Imgae' is not produced by category process_creation "
        "(mappings/sigma/linux.yml)"
    ]
    block = text.replace(
        "  - selection: {Image|endswith: /nginx}\n", "  - selection:\n      Nope: x\n"
    )
    assert messages(write(tmp_path, block))[0].startswith("12: error: chain.0: field 'Nope'")


def test_an_empty_process_label_is_an_error_on_its_line(tmp_path: Path) -> None:
    text = GOOD.replace("level: low", "process_label: ''\nlevel: low")
    assert messages(write(tmp_path, text)) == ["11: error: process_label: expected a label name"]
