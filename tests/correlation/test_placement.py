"""Which correlations run in each host's pipeline and which after the merge, and what the hosts
export to the merge (detect.correlation.placement)."""

from __future__ import annotations

from pathlib import Path

from detect.correlation.placement import Placement, place
from detect.sigma.correlation.resolve import resolve
from detect.sigma.load import load_detections
from tests.correlation.streams import UUIDS, rules_text

A, B, C = UUIDS["a"], UUIDS["b"], UUIDS["c"]
INNER = "6c1e0b7a-2222-4f3d-8a41-000000000001"
OUTER = "6c1e0b7a-2222-4f3d-8a41-000000000002"
OTHER = "6c1e0b7a-2222-4f3d-8a41-000000000003"


def placement(tmp_path: Path, correlations: str) -> Placement:
    path = tmp_path / "rules.yml"
    path.write_text(rules_text(correlations), encoding="utf-8")
    rules = load_detections([path], default=False)
    resolved = resolve(rules.rules, rules.correlations)
    assert not resolved.errors, resolved.errors
    return place(resolved.correlations)


def correlation(uuid: str, rules: str, group: str, extra: str = "") -> str:
    return f"""\
title: C {uuid[-1]}
id: {uuid}
name: c{uuid[-1]}
correlation:
  type: event_count
  rules: [{rules}]
  group-by: [{group}]
  timespan: 1m
  condition: {{gte: 2}}
{extra}"""


def test_the_shipped_correlations_all_group_by_host() -> None:
    rules = load_detections([], default=True)
    resolved = resolve(rules.rules, rules.correlations)
    assert len(resolved.correlations) == 6
    assert place(resolved.correlations) == Placement(frozenset(), {})


def test_a_group_by_without_the_host_runs_after_the_merge(tmp_path: Path) -> None:
    found = placement(
        tmp_path,
        correlation(INNER, "a", "user") + "---\n" + correlation(OTHER, "b", "'host.name', user"),
    )
    assert found.merged == {INNER}
    assert found.exported == {A: ("user",)}  # b feeds only the per-host correlation


def test_an_alias_of_the_host_in_every_rule_keeps_it_per_host(tmp_path: Path) -> None:
    aliases = "  aliases:\n    where: {a: host, b: ComputerName}\n"
    per_host = placement(
        tmp_path,
        correlation(INNER, "a, b", "where, user").replace("  timespan", aliases + "  timespan"),
    )
    assert per_host.merged == frozenset()
    half = "  aliases:\n    where: {a: host, b: hostname}\n"
    across = placement(
        tmp_path,
        correlation(INNER, "a, b", "where, user").replace("  timespan", half + "  timespan"),
    )
    assert across.merged == {INNER}  # b's `hostname` is a field of its own, not the host
    assert across.exported == {A: ("host", "user"), B: ("hostname", "user")}


def test_correlations_linked_by_their_inputs_run_together(tmp_path: Path) -> None:
    """An outer correlation that groups across hosts takes the per-host inner one with it to
    the merge (its results are the outer's hits); the inner's base rule is exported, with the
    fields the inner reads, and the value_count's measured field."""
    inner = correlation(INNER, "a", "'host.name', user")
    outer = correlation(OUTER, "c1", "user")
    measured = (
        correlation(OTHER, "c", "user")
        .replace("event_count", "value_count")
        .replace("{gte: 2}", "{field: pid, gte: 2}")
    )
    found = placement(tmp_path, "---\n".join((inner, outer, measured)))
    assert found.merged == {INNER, OUTER, OTHER}
    assert found.exported == {A: ("host.name", "user"), C: ("user", "pid")}
