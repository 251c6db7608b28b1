"""Command line: wiring only. What one command alone needs (the linter, the sample runner,
the ATT&CK layer) is imported when that command runs: importing all of it cost `detect scan`
~0.35 s of start-up (`python -X importtime -c "import detect.cli.commands"`)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, TextIO

import click

from detect.cli.attack import attack
from detect.cli.bounds import bounds_options, reassembly_bounds_options, with_bounds
from detect.cli.lazy import LazyGroup
from detect.cli.options import no_default_option
from detect.cli.report import ReportCollector, report
from detect.cli.runtime import tune_for_throughput
from detect.cli.scan_incidents import ScanIncidents
from detect.cli.triage_options import (
    check_rules,
    host_name,
    host_option,
    pipeline_settings,
    pop_triage,
    triage_options,
)
from detect.cli.tune import tune
from detect.core.defaults import HORIZON_MS
from detect.outputs.alerts import ALERT_WRITERS
from detect.outputs.events import EVENT_WRITERS, dumps
from detect.outputs.safe_open import OutputError, open_output
from detect.outputs.summary import write_scan_text
from detect.pipeline.factory import PipelineSettings, load_rules, read_events
from detect.pipeline.parallel import Parallelism, PartitionError, scan_parallel
from detect.triage.levels import DEFAULT_MIN_LEVEL, LEVELS, at_least

EXIT_ALERTS, EXIT_ERROR = 1, 2


def output_stream(path: Path | None) -> TextIO:
    """stdout, or `path` emptied (created 0600, never through a symlink, FIFO or hard link,
    only our own regular file; detect.outputs.safe_open); exit 2 when it is not safe."""
    if path is None:
        return sys.stdout
    try:
        return open_output(path, append=False)
    except OutputError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(EXIT_ERROR)


def write_summary_json(path: Path, data: dict[str, Any]) -> None:
    """The run's summary as JSON, opened as `output_stream` opens (it quotes input lines)."""
    with output_stream(path) as stream:
        stream.write(dumps(data) + "\n")


def exit_status(alerts: int, input_errors: int, rules_ok: bool = True) -> int:
    """0: no alerts, 1: alerts, 2: an error (an input file missing, unreadable, truncated or
    corrupt; no rule loaded, or a skipped rule with --strict), also when there were alerts:
    the rest of the input was read and its alerts written all the same."""
    if input_errors:
        inputs = "1 input" if input_errors == 1 else f"{input_errors} inputs"
        click.echo(f"error: {inputs} not read whole (input error above)", err=True)
    if input_errors or not rules_ok:
        return EXIT_ERROR
    return EXIT_ALERTS if alerts else 0


# imported when asked for: a scan needs neither (detect.cli.lazy)
LAZY_COMMANDS = {
    "stream": "detect.cli.stream:stream",
    "audit-rules": "detect.cli.audit_rules:audit_rules",
    "rules": "detect.cli.audit_rules:deprecated_rules",  # the old name, hidden
}


@click.group(cls=LazyGroup, lazy=LAZY_COMMANDS)
@click.version_option(package_name="detect")
@click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="DETECT_CONFIG",
    default=None,
    help="YAML file of options, by command (packaging/detect.yaml); flags override it.",
)
@click.pass_context
def main(context: click.Context, config: Path | None) -> None:
    """Detection engine for Linux audit logs."""
    tune_for_throughput()
    if config is not None:
        from detect.cli.config import ConfigError, load_config  # pydantic: only for a config

        try:
            context.default_map = load_config(config, context.command)  # type: ignore[arg-type]
        except ConfigError as error:
            click.echo(f"config error: {error}", err=True)
            sys.exit(EXIT_ERROR)


main.add_command(attack)
main.add_command(tune)
main.add_command(report)


@main.command()
@click.argument("paths", nargs=-1)
@click.option("--format", "fmt", type=click.Choice(sorted(EVENT_WRITERS)), default="jsonl")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--summary-json", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option(
    "--horizon-ms",
    type=int,
    default=HORIZON_MS,
    show_default=True,
    help="Audit-time horizon after which an event without EOE is complete.",
)
@host_option
@reassembly_bounds_options
def events(
    paths: tuple[str, ...],
    fmt: str,
    output: Path | None,
    summary_json: Path | None,
    horizon_ms: int,
    host: str | None,
    **bounds: Any,
) -> None:
    """Print reassembled, interpreted events (PATHS: files, folders, globs; none or - is stdin)."""
    stream = output_stream(output)
    try:
        settings = PipelineSettings(horizon_ms=horizon_ms, host=host_name(host, live=False))
        settings = with_bounds(settings, bounds)
        summary = read_events(paths, EVENT_WRITERS[fmt](stream), settings)
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly, as cat does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
    finally:
        if output:
            stream.close()
    summary.write_text(sys.stderr)
    if summary_json:
        write_summary_json(summary_json, summary.to_dict())
    sys.exit(exit_status(0, len(summary.file_errors)))


@main.command()
@click.argument("paths", nargs=-1)
@click.option("--rules", "rule_paths", multiple=True, help="More Sigma rule files or folders.")
@no_default_option
@click.option("--format", "fmt", type=click.Choice(sorted(ALERT_WRITERS)), default="jsonl")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--summary-json", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option(
    "--layer",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write an ATT&CK Navigator layer of the alerts' techniques.",
)
@click.option("--horizon-ms", type=int, default=HORIZON_MS, show_default=True)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=os.cpu_count() or 1,
    show_default="the machine's cores",
    help="Worker processes; the input is partitioned by host (docs/scale.md).",
)
@click.option("--dask", metavar="ADDRESS", help="Run the partitions on a Dask cluster ('local').")
@click.option("--progress/--no-progress", default=None, help="Progress on stderr (default: tty).")
@click.option(
    "--html",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write a self-contained HTML report: incidents, process trees, timeline, ATT&CK matrix.",
)
@triage_options
@bounds_options
def scan(
    paths: tuple[str, ...],
    rule_paths: tuple[str, ...],
    no_default_rules: bool,
    fmt: str,
    output: Path | None,
    summary_json: Path | None,
    layer: Path | None,
    horizon_ms: int,
    jobs: int,
    dask: str | None,
    progress: bool | None,
    html: Path | None,
    **triage: Any,
) -> None:
    """Scan audit logs with detections (PATHS as for `events`). JSON lines: one alert per line
    (at --min-level and above, deduplicated); `--format text`: the incidents, highest first,
    then a count of the alerts behind them. Exit 0: no alerts, 1: alerts, 2: error."""
    options = pop_triage(triage)
    settings = pipeline_settings(options, horizon_ms, rule_paths, no_default_rules)
    settings = with_bounds(settings, triage)
    rules = load_rules(settings)
    rules_ok = check_rules(rules, options["strict"], errors_shown=True)  # then scan all the same
    stream = output_stream(output)
    incidents = ScanIncidents(options["incidents_path"], stream if fmt == "text" else None)
    people = fmt == "text" and settings.triage is not None
    try:
        sink = incidents.count_alert if people else ALERT_WRITERS[fmt](stream)
        show = sys.stderr.isatty() if progress is None else progress
        parallelism = Parallelism(jobs=jobs, dask=dask, progress=show)
        collector = ReportCollector(sink, incidents, keep=html is not None)
        result, summary = scan_parallel(
            paths, rules, collector.alert, settings, collector.incident, parallelism
        )
        incidents.close(result)
    except PartitionError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(EXIT_ERROR)
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(EXIT_ERROR)
    finally:
        if output:
            stream.close()
    write_scan_text(summary, sys.stderr)
    unnamed = summary.reassembly.get("events_without_host")
    if unnamed:
        click.echo(
            f"  {unnamed} events had no node= and no --host: alerts carry no host.name", err=True
        )
    if summary_json:
        write_summary_json(summary_json, summary.to_dict())
    if layer:
        from detect.attack.layer import write_layer
        from detect.pipeline.scan import alerts_layer

        write_layer(alerts_layer(result), layer)
    if html:
        collector.write(html, summary, rules)
    sys.exit(exit_status(result.alerts, len(summary.file_errors), rules_ok))


@main.command("test")
@click.argument("paths", nargs=-1)
@click.option(
    "--min-level",
    type=click.Choice(LEVELS),
    default=DEFAULT_MIN_LEVEL,
    show_default=True,
    help="Report passing rule files whose rules are all below this level as one count line "
    "(every rule is tested, and every failure is reported, whatever its level).",
)
def test_detections(paths: tuple[str, ...], min_level: str) -> None:
    """Run detections over the annotated sample lines beside them (default: the shipped
    detections); report missed and unexpected alerts. Exit 1 if any rule fails."""
    from detect.pipeline.samples import check_rule_file, rule_files

    files, errors = rule_files(paths)
    failed = len(errors)
    quiet = 0
    for error in errors:
        click.echo(f"FAIL {error}")
    for path in files:
        result = check_rule_file(path)
        failed += not result.passed
        if result.passed and not any(at_least(level, min_level) for level in result.levels):
            quiet += 1
            continue
        for line in result.report():
            click.echo(line)
    if quiet:
        click.echo(f"{quiet} rule files below {min_level} passed (--min-level to list them)")
    click.echo(f"{len(files)} rule files, {failed} failed")
    sys.exit(1 if failed else 0)


@main.command("validate")
@click.argument("paths", nargs=-1)
def validate_rules(paths: tuple[str, ...]) -> None:
    """Lint rules (default: the shipped detections): one line per problem with file:line.
    Exit 1 if any error."""
    from detect.authoring.validate import ERROR, validate

    problems = validate(paths)
    for problem in problems:
        click.echo(str(problem))
    errors = sum(problem.severity == ERROR for problem in problems)
    click.echo(f"{len(problems)} problems, {errors} errors", err=True)
    sys.exit(1 if errors else 0)
