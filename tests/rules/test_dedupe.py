"""Rules of one id: the first that passes the checks loads, a broken copy claims no id
(pipeline.factory.load_checked deduplicates after detect.matching.checks)."""

from __future__ import annotations

from pathlib import Path

from detect.pipeline.factory import load_checked

RULE = """\
title: {title}
id: 6a0f6c8e-1111-4c1e-9a55-00000000d001
tags: [attack.execution, attack.t1204.002]
logsource: {{product: linux, category: process_creation}}
detection:
    selection:
        {field}|startswith: /tmp/
    condition: selection
level: medium
"""


def _write(folder: Path, title: str, field: str = "Image") -> Path:
    folder.mkdir(parents=True)
    path = folder / "rule.yml"
    path.write_text(RULE.format(title=title, field=field))
    return path


def test_a_copy_that_fails_the_checks_does_not_claim_the_id(tmp_path: Path) -> None:
    broken = _write(tmp_path / "a", "Broken", field="Imagee")  # no such field: an error
    good = _write(tmp_path / "b", "Good")
    rules = load_checked([broken, good], default=False)
    assert [rule.title for rule in rules.rules] == ["Good"]
    assert rules.warnings == []  # the good copy is not skipped as a duplicate of the broken
    (error,) = rules.errors
    assert error.location.source == str(broken) and "'Imagee'" in error.reason


def test_of_two_good_copies_the_first_loads_and_the_second_is_named(tmp_path: Path) -> None:
    first = _write(tmp_path / "a", "First")
    second = _write(tmp_path / "b", "Second")
    rules = load_checked([first, second], default=False)
    assert [rule.title for rule in rules.rules] == ["First"]
    (warning,) = rules.warnings
    assert warning.location.source == str(second) and warning.rule == "Second"
    assert f"already loaded from {first}:1: this copy is skipped" in warning.reason
    assert rules.skipped == 1
