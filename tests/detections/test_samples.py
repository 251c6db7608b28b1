"""Every shipped detection passes its own samples (DESIGN §10): the runner `detect test` uses."""

from __future__ import annotations

from pathlib import Path

import pytest

from detect.authoring.validate import ERROR, validate
from detect.pipeline.samples import check_rule_file
from detect.sigma.load import DEFAULT_RULES

SHIPPED = sorted(DEFAULT_RULES.rglob("*.yml"))
MIN_SHIPPED = 30  # the list in issue 3; fewer means detections went missing


def test_the_shipped_set_is_complete() -> None:
    assert len(SHIPPED) >= MIN_SHIPPED, [p.name for p in SHIPPED]


@pytest.mark.parametrize("rule_file", SHIPPED, ids=lambda p: p.stem)
def test_detection_passes_its_samples(rule_file: Path) -> None:
    result = check_rule_file(rule_file)
    assert result.passed, "\n".join(result.report())
    assert result.matched >= 1 and result.cleared >= 1


def test_shipped_detections_validate_without_errors() -> None:
    errors = [str(p) for p in validate([DEFAULT_RULES]) if p.severity == ERROR]
    assert errors == []


def test_rule_ids_are_unique() -> None:
    from detect.sigma.load import load_detections

    ids = [rule.id for rule in load_detections([], default=True).rules]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
