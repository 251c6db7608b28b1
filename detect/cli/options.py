"""Options several commands share."""

from __future__ import annotations

from pathlib import Path

import click

from detect.pipeline.factory import load_checked
from detect.sigma.model import RuleSet

# The Sigma rules a command reads besides (or instead of) the shipped detections, as paths.
rules_option = click.option(
    "--rules",
    "paths",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Sigma rule files or folders (repeatable).",
)
no_default_option = click.option(
    "--no-default-rules/--default-rules",
    default=False,
    help="Leave out the shipped Sigma detections (--default-rules: run them after all).",
)


def load_enabled(paths: tuple[Path, ...], no_default: bool) -> RuleSet:
    """The rules as `detect scan` loads them (same checks, a failing rule skipped), each rule
    not loaded and each duplicate said on stderr."""
    rule_set = load_checked(paths, default=not no_default)
    for error in rule_set.errors:
        click.echo(f"rule not loaded: {error}", err=True)
    for warning in rule_set.warnings:
        click.echo(f"rule warning: {warning}", err=True)
    return rule_set
