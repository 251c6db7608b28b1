"""The sample runner behind `detect test` (DESIGN §10): missed, unexpected, bad annotations."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from detect.cli.commands import main
from detect.pipeline.samples import check_rule_file
from tests.capture_events import CAPTURES

RULE_ID = "5d1e4c52-8f0e-4a55-9a55-2b8f0f3c0c02"
RULE = f"""\
title: Echo with world
id: {RULE_ID}
logsource: {{product: linux, category: process_creation}}
detection:
  sel: {{Image|endswith: /echo, CommandLine|contains: world}}
  condition: sel
level: low
"""
ECHO, BASH = 2119, 2118  # serials in execve_args.log: echo hello world; bash running the script


def event_lines(serial: int) -> list[str]:
    lines = (CAPTURES / "execve_args.log").read_text().splitlines()
    return [line for line in lines if f":{serial}):" in line]


def write(tmp_path: Path, *blocks: tuple[str | None, int]) -> Path:
    rule = tmp_path / "echo.yml"
    rule.write_text(RULE)
    text = ["# provenance: tests/auditd/captures/execve_args.log"]
    for kind, serial in blocks:
        if kind is not None:
            text.append(f"# {kind}: {RULE_ID}")
        text.extend(event_lines(serial))
    rule.with_suffix(".log").write_text("\n".join(text) + "\n")
    return rule


def test_passes_with_a_match_and_an_ok(tmp_path: Path) -> None:
    result = check_rule_file(write(tmp_path, ("match", ECHO), ("ok", BASH)))
    assert result.passed, list(result.report())
    assert (result.matched, result.cleared) == (1, 1)


def test_missed_and_unexpected(tmp_path: Path) -> None:
    result = check_rule_file(write(tmp_path, ("ok", ECHO), ("match", BASH)))
    # line 1 comment, 2 annotation, 3.. the echo event, then an annotation, then the bash event
    bash_first = 3 + len(event_lines(ECHO)) + 1
    assert result.missed == [f"{RULE_ID} at {tmp_path / 'echo.log'}:{bash_first}"]
    assert result.unexpected == [f"{RULE_ID} at {tmp_path / 'echo.log'}:3"]
    assert not result.passed


def test_bad_annotations_fail(tmp_path: Path) -> None:
    rule = write(tmp_path, ("match", ECHO), (None, BASH))
    with rule.with_suffix(".log").open("a") as sample:
        sample.write("# ok: 11111111-1111-4111-8111-111111111111\n")
    problems = check_rule_file(rule).problems
    assert any("event without annotation" in p for p in problems)
    assert any("annotation not followed by an event" in p for p in problems)
    assert any("has no `# ok:` event" in p for p in problems)


def test_unknown_rule_id_and_missing_sample(tmp_path: Path) -> None:
    rule = write(tmp_path, ("match", ECHO), ("ok", BASH))
    sample = rule.with_suffix(".log")
    sample.write_text(sample.read_text().replace(f"# ok: {RULE_ID}", "# ok: nope"))
    assert any("no rule nope here" in p for p in check_rule_file(rule).problems)
    sample.unlink()
    assert any("no sample file" in p for p in check_rule_file(rule).problems)


def test_cli_reports_and_exits(tmp_path: Path) -> None:
    write(tmp_path, ("match", ECHO), ("ok", BASH))
    good = CliRunner().invoke(main, ["test", str(tmp_path)])
    assert good.exit_code == 0 and good.stdout.startswith("PASS")
    write(tmp_path, ("ok", ECHO), ("ok", BASH))
    bad = CliRunner().invoke(main, ["test", str(tmp_path)])
    assert bad.exit_code == 1 and "unexpected:" in bad.stdout and "FAIL" in bad.stdout
