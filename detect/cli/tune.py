"""`detect tune`: Sigma filters proposed from a baseline (detect.triage.tune), wiring only."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from detect.cli.options import no_default_option
from detect.core.alert import Alert
from detect.pipeline.factory import PipelineSettings, load_rules, scan_files
from detect.triage.levels import DEFAULT_MIN_LEVEL, LEVELS, at_least
from detect.triage.tune import propose, render

EXIT_ERROR = 2


@click.command()
@click.option(
    "--baseline",
    "baseline",
    multiple=True,
    required=True,
    help="Logs of a period known to be clean (files, folders, globs; repeatable).",
)
@click.option("--rules", "rule_paths", multiple=True, help="More Sigma rule files or folders.")
@no_default_option
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Filters file."
)
@click.option(
    "--min-level",
    type=click.Choice(LEVELS),
    default=DEFAULT_MIN_LEVEL,
    show_default=True,
    help="Propose filters for alerts of this level and above.",
)
@click.option(
    "--allow-whole-rule/--no-allow-whole-rule",
    default=False,
    help="Also write filters that name no activity (they exclude a whole rule).",
)
def tune(
    baseline: tuple[str, ...],
    rule_paths: tuple[str, ...],
    no_default_rules: bool,
    out: Path,
    min_level: str,
    allow_whole_rule: bool,
) -> None:
    """Propose Sigma filters that exclude what fired on a clean baseline (docs/triage.md)."""
    settings = PipelineSettings(rule_paths=rule_paths, default_rules=not no_default_rules)
    rules = load_rules(settings)
    if not rules.rules:
        click.echo("no rules to run", err=True)
        sys.exit(EXIT_ERROR)
    alerts: list[Alert] = []
    _, summary = scan_files(baseline, rules, alerts.append, settings)
    if summary.file_errors and not summary.reassembly["lines"]:
        click.echo("tune: no baseline line could be read", err=True)
        sys.exit(EXIT_ERROR)
    wanted = [alert for alert in alerts if at_least(alert.rule.level, min_level)]
    proposals = propose(wanted, {rule.id: rule for rule in rules.rules})
    refused = [p for p in proposals if p.whole_rule and not allow_whole_rule]
    for proposal in refused:
        click.echo(
            f"tune: not written (would exclude the whole rule; --allow-whole-rule): "
            f"{proposal.rule.title} ({proposal.hits} hits)",
            err=True,
        )
    kept = [p for p in proposals if p not in refused]
    out.write_text(render(kept, ", ".join(baseline)), encoding="utf-8")
    hits = sum(p.hits for p in kept)
    click.echo(
        f"tune: {len(kept)} filters for {hits} of {len(wanted)} baseline alerts at {min_level} "
        f"and above ({len(alerts)} hits in all) written to {out}",
        err=True,
    )
