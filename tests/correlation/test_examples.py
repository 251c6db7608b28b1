"""The correlation examples of the Sigma specification and of pySigma load; with base rules
for the names they reference, every one resolves except the spec's value_percentile example,
which gives no `percentile` (pySigma's backends refuse it the same way)."""

from __future__ import annotations

from pathlib import Path

from detect.core.resources import ROOT
from detect.sigma.correlation.resolve import resolve
from detect.sigma.load import load_detections

EXAMPLES = ROOT.parent / "shared" / "sigma" / "correlation-examples"
BASE = """\
title: base {name}
{key}: {name}
logsource: {{product: linux, category: process_creation}}
detection:
  sel: {{Image|endswith: /{tail}}}
  condition: sel
"""
REFERENCED = {
    "id": ["5638f7c0-ac70-491d-8465-2a65075e0d86"],
    "name": [
        "recon_cmd_a",
        "recon_cmd_b",
        "recon_cmd_c",
        "rule_a_id",
        "website_access",
        "process_creation",
    ],
}


def example_files() -> list[Path]:
    return sorted(EXAMPLES.rglob("*.yml"))


def test_all_eleven_correlations_load() -> None:
    rules = load_detections(example_files(), default=False)
    assert rules.errors == []
    # the spec's event_count.yml and event_count_ecs.yml are variants sharing one id: loading
    # keeps the first and warns about the second
    [duplicate] = rules.warnings
    assert Path(duplicate.location.source).name == "event_count_ecs.yml"
    assert len(rules.correlations) == 10
    kinds = sorted(str(c.type.name).lower() for c in rules.correlations)
    assert kinds == sorted(
        ["event_count"] * 2
        + ["value_count"] * 2
        + ["temporal"] * 2
        + ["temporal_ordered", "value_sum", "value_avg", "value_percentile"]
    )


def test_they_resolve_against_base_rules(tmp_path: Path) -> None:
    documents = [
        BASE.format(key=key, name=name, tail=f"t{index}")
        for key, names in REFERENCED.items()
        for index, name in enumerate(names)
    ]
    bases = tmp_path / "bases.yml"
    bases.write_text("---\n".join(documents))
    # the spec's event_count.yml and event_count_ecs.yml are variants sharing one id
    ecs = [path for path in example_files() if path.name == "event_count_ecs.yml"]
    alone = load_detections([bases, *ecs], default=False)
    assert len(resolve(alone.rules, alone.correlations).correlations) == 1
    rules = load_detections([bases, *example_files()], default=False)
    resolved = resolve(rules.rules, rules.correlations)
    assert [(Path(e.location.source).name, e.reason) for e in resolved.errors] == [
        (
            "value_percentile.yml",
            "value_percentile needs `percentile` in its condition (0-100)",
        ),
    ]
    assert len(resolved.correlations) == 9
    temporal = next(c for c in resolved.correlations if c.title == "Temporal correlation rule")
    assert temporal.aliases == {
        "field": {
            "73a9addc-0cf9-44a4-ad18-e3b7a9d1eeb4": "fieldC",
            "fce9c855-2951-4e96-b764-dbc1dfdf4993": "fieldD",
        }
    }
    # pySigma's file: its base rules feed correlations (generate defaults to false)
    assert "5d8fd9da-6916-45ef-8d4d-3fa9d19d1a64" in resolved.silent


def test_unresolved_and_cyclic_references_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "bad.yml"
    path.write_text(
        """\
title: loop one
name: one
correlation: {type: event_count, rules: [two], group-by: [x], timespan: 1m, condition: {gte: 1}}
---
title: loop two
name: two
correlation: {type: event_count, rules: [one], group-by: [x], timespan: 1m, condition: {gte: 1}}
---
title: nowhere
correlation: {type: temporal, rules: [missing], group-by: [x], timespan: 1m}
"""
    )
    rules = load_detections([path], default=False)
    reasons = sorted(e.reason for e in resolve(rules.rules, rules.correlations).errors)
    assert reasons == [
        "correlation cycle: one -> two -> one",
        "references 'missing', which is not loaded",
        "references correlation 'one', skipped",
    ]
