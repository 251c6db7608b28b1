"""`detect attack coverage` and `detect attack gaps`: wiring only.

The enabled detections are those `detect scan` would run: loaded with its checks
(`detect.cli.options.load_enabled`), less the rules whose logsource audit logs never feed.

The lead adds the group to the main command with `main.add_command(attack)`.
"""

from __future__ import annotations

from pathlib import Path

import click

from detect.attack.catalog import Catalog, Tactic, load_catalog
from detect.attack.coverage import coverage_by_tactic, detections_by_technique, gaps
from detect.attack.layer import build_layer, write_layer
from detect.attack.lint import rule_tag_problems
from detect.attack.report import coverage_lines, gap_lines
from detect.attack.tags import ERROR
from detect.cli.options import load_enabled, no_default_option, rules_option
from detect.matching.dispatch import not_applicable_reason, view_of
from detect.sigma.model import Rule

LAYER_NAME = "detect: enabled detections"


def enabled_rules(paths: tuple[Path, ...], no_default: bool) -> list[Rule]:
    """The detections that run on audit logs: the shipped ones (unless `no_default`) and those
    under `paths`. Rules that did not load and rules whose logsource audit logs do not feed
    (loaded, never run, so not counted) are reported on stderr."""
    rule_set = load_enabled(paths, no_default)
    for rule in rule_set.rules:
        if view_of(rule) is None:
            click.echo(f"{where(rule)}: not counted: {not_applicable_reason(rule)}", err=True)
    return [rule for rule in rule_set.rules if view_of(rule) is not None]


def where(rule: Rule) -> str:
    return f"{rule.source}: {rule.title}"


def report_tag_errors(rules: list[Rule], catalog: Catalog) -> None:
    for rule in rules:
        for problem in rule_tag_problems(rule.tags, catalog):
            if problem.severity == ERROR:
                click.echo(f"{where(rule)}: {problem}", err=True)


def titles_and_tags(rules: list[Rule]) -> list[tuple[str, tuple[str, ...]]]:
    return [(rule.title, rule.tags) for rule in rules]


@click.group()
def attack() -> None:
    """MITRE ATT&CK coverage of the enabled detections."""


@attack.command()
@rules_option
@no_default_option
@click.option(
    "--layer",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write an ATT&CK Navigator layer of the coverage to this file.",
)
def coverage(paths: tuple[Path, ...], no_default_rules: bool, layer: Path | None) -> None:
    """Techniques the enabled detections cover, by tactic in matrix order."""
    catalog = load_catalog()
    enabled = enabled_rules(paths, no_default_rules)
    report_tag_errors(enabled, catalog)
    rules = titles_and_tags(enabled)
    by_technique = detections_by_technique(rules, catalog)
    rows = coverage_by_tactic(rules, catalog)
    click.echo("\n".join(coverage_lines(rows, by_technique, catalog, len(rules))))
    if layer is not None:
        description = f"Techniques covered by {len(rules)} enabled detections. {catalog.notices[0]}"
        built = build_layer(by_technique, name=LAYER_NAME, description=description, catalog=catalog)
        write_layer(built, layer)
        click.echo(f"layer written to {layer}", err=True)


@attack.command(name="gaps")
@rules_option
@no_default_option
@click.option("--tactic", default=None, help="Only this tactic (id or name, e.g. persistence).")
def gaps_command(paths: tuple[Path, ...], no_default_rules: bool, tactic: str | None) -> None:
    """Linux techniques MITRE's analytics see in auditd that no enabled detection covers."""
    catalog = load_catalog()
    only = _tactic(catalog, tactic)
    enabled = enabled_rules(paths, no_default_rules)
    report_tag_errors(enabled, catalog)
    found = gaps(titles_and_tags(enabled), catalog)
    click.echo("\n".join(gap_lines(found, catalog, only)))


def _tactic(catalog: Catalog, name: str | None) -> Tactic | None:
    if name is None:
        return None
    tactic = catalog.tactic(name)
    if tactic is None:
        raise click.BadParameter(f"unknown ATT&CK tactic {name!r}", param_hint="--tactic")
    return tactic
