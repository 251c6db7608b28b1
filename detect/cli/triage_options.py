"""The triage options `detect scan` and `detect stream` share (docs/triage.md), and the
settings they make."""

from __future__ import annotations

import dataclasses
import re
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from detect.pipeline.factory import PipelineSettings
from detect.sigma.model import RuleSet
from detect.triage.dedup import DEFAULT_WINDOW_MS
from detect.triage.incidents import DEFAULT_GAP_MS, DEFAULT_MAX_MS
from detect.triage.levels import DEFAULT_MIN_LEVEL, LEVELS
from detect.triage.settings import TriageSettings
from detect.triage.tuning import Tuning, TuningError, load_tuning

F = TypeVar("F", bound=Callable[..., Any])
UNITS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
DURATION_RE = re.compile(r"^\s*(\d+)\s*(ms|s|m|h|d)?\s*$")


class Duration(click.ParamType):
    """`10m`, `30s`, `2h`, `500ms`, or a number of seconds; as milliseconds."""

    name = "duration"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        match = DURATION_RE.match(str(value))
        if match is None:
            self.fail(f"{value!r} is not a duration (e.g. 10m, 30s, 2h, 0)", param, ctx)
        number, unit = match.groups()
        return int(number) * UNITS[unit or "s"]


def _ms_text(ms: int) -> str:
    for unit in ("d", "h", "m", "s"):
        if ms % UNITS[unit] == 0:
            return f"{ms // UNITS[unit]}{unit}"
    return f"{ms}ms"


def _duration(name: str, default_ms: int, help: str) -> Callable[[F], F]:
    return click.option(
        name, type=Duration(), default=_ms_text(default_ms), show_default=True, help=help
    )


# The host of events whose records name none (auditd's default `name_format = NONE`): a live
# source (`detect stream`) defaults to this machine's name, a file stays unnamed without it.
host_option = click.option(
    "--host",
    metavar="NAME",
    default=None,
    help="host.name of events whose records carry no node= (a record's own node= wins; "
    "default: this machine's name for `stream`, none for files).",
)


def host_name(given: str | None, live: bool) -> str | None:
    """The host of records without node=: `--host`, else this machine's name for a live
    source; an empty name is none."""
    if given is None and live:
        given = socket.gethostname()
    return given or None


def triage_options(command: F) -> F:
    """The triage options, on a click command."""
    options = [
        click.option(
            "--min-level",
            type=click.Choice(LEVELS),
            default=DEFAULT_MIN_LEVEL,
            show_default=True,
            help="Write alerts of this level and above (informational hits only tag incidents).",
        ),
        _duration(
            "--dedup-window",
            DEFAULT_WINDOW_MS,
            "Fold repeats of one rule on one activity within this audit time (0: off).",
        ),
        _duration(
            "--incident-gap", DEFAULT_GAP_MS, "An incident closes after this much quiet audit time."
        ),
        _duration(
            "--incident-max", DEFAULT_MAX_MS, "An incident closes at this length of audit time."
        ),
        click.option(
            "--tuning",
            type=click.Path(dir_okay=False, exists=True, path_type=Path),
            default=None,
            help="Tuning file: disabled rules, levels, Sigma filters (docs/triage.md).",
        ),
        click.option(
            "--incidents",
            "incidents_path",
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            help="Write incidents here as JSON lines.",
        ),
        click.option(
            "--no-triage/--triage",
            default=False,
            help="Write every hit as an alert: no levels, deduplication or incidents.",
        ),
        click.option(
            "--strict/--lenient",
            default=False,
            help="Exit 2 when any rule was skipped (an error, or an id loaded twice).",
        ),
        host_option,
    ]
    for option in reversed(options):
        command = option(command)
    return command


def triage_settings(options: dict[str, Any]) -> TriageSettings | None:
    """The triage settings of the options (None with --no-triage)."""
    if options["no_triage"]:
        return None
    if options["incident_gap"] <= 0 or options["incident_max"] <= 0:
        raise click.BadParameter("incident durations must be positive")
    return TriageSettings(
        min_level=options["min_level"],
        dedup_window_ms=options["dedup_window"],
        incident_gap_ms=options["incident_gap"],
        incident_max_ms=options["incident_max"],
    )


def pipeline_settings(
    options: dict[str, Any],
    horizon_ms: int,
    rule_paths: tuple[str, ...],
    no_default_rules: bool,
    *,
    live: bool | None = None,
) -> PipelineSettings:
    """The settings of `detect scan` and `detect stream` from their shared options. `live`: the
    input is a live source, whose host defaults to this machine's name (None: the command is
    `detect stream`)."""
    if live is None:
        context = click.get_current_context(silent=True)
        live = context is not None and context.command.name == "stream"
    return PipelineSettings(
        host=host_name(options["host"], live),
        horizon_ms=horizon_ms,
        rule_paths=rule_paths,
        default_rules=not no_default_rules,
        tuning=tuning_of(options["tuning"]),
        triage=triage_settings(options),
    )


def tuning_of(path: Path | None) -> Tuning | None:
    """The tuning file, or exit 2 with every problem and its file:line."""
    if path is None:
        return None
    try:
        return load_tuning(path)
    except TuningError as error:
        click.echo(f"tuning error: {error}", err=True)
        raise SystemExit(2) from None


def check_rules(rules: RuleSet, strict: bool, *, errors_shown: bool = False) -> bool:
    """Say on stderr what loading left out (the errors too, unless `errors_shown`: the scan
    summary lists them); False when no rule loaded, or with `strict` when any was skipped:
    the run is an error (exit 2)."""
    for warning in rules.warnings:
        click.echo(f"rule warning: {warning}", err=True)
    if not errors_shown:
        for error in rules.errors:
            click.echo(f"rule error: {error}", err=True)
    if not rules.rules:
        click.echo("error: no rule loaded", err=True)
        return False
    if strict and rules.skipped:
        skipped = rules.skipped
        click.echo(f"error: --strict: skipped rules, correlations or files: {skipped}", err=True)
        return False
    return True


def reloaded(settings: PipelineSettings, path: Path | None) -> PipelineSettings:
    """The settings with the tuning file read again (a SIGHUP); a file with an error keeps
    the previous tuning, and says why on stderr."""
    if path is None:
        return settings
    try:
        return dataclasses.replace(settings, tuning=load_tuning(path))
    except TuningError as error:
        click.echo(f"stream: reload: tuning error, the previous tuning stays: {error}", err=True)
        return settings


TRIAGE_KEYS = (
    "min_level",
    "dedup_window",
    "incident_gap",
    "incident_max",
    "tuning",
    "incidents_path",
    "no_triage",
    "strict",
    "host",
)


def pop_triage(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The triage options taken out of a command's keyword arguments."""
    return {key: kwargs.pop(key) for key in TRIAGE_KEYS}
