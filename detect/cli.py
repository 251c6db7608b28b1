"""Command line: wiring only."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

import click

from detect.auditd.event import AuditEvent
from detect.auditd.reassemble import Reassembler
from detect.outputs.events import JsonLinesWriter, TextWriter, dumps
from detect.outputs.summary import RunSummary
from detect.runtime import tune_for_throughput
from detect.sources.files import SourceStats, iter_lines

FORMATS: dict[str, Callable[[TextIO], Callable[[AuditEvent], object]]] = {
    "jsonl": JsonLinesWriter,
    "text": TextWriter,
}


@click.group()
@click.version_option(package_name="detect")
def main() -> None:
    """Detection engine for Linux audit logs."""
    tune_for_throughput()


@main.command()
@click.argument("paths", nargs=-1)
@click.option("--format", "fmt", type=click.Choice(sorted(FORMATS)), default="jsonl")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--summary-json", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option(
    "--horizon-ms",
    type=int,
    default=2000,
    show_default=True,
    help="Audit-time horizon after which an event without EOE is complete.",
)
def events(
    paths: tuple[str, ...],
    fmt: str,
    output: Path | None,
    summary_json: Path | None,
    horizon_ms: int,
) -> None:
    """Print reassembled, interpreted events (PATHS: files, folders, globs; none or - is stdin)."""
    stream: TextIO = open(output, "w", encoding="utf-8") if output else sys.stdout  # noqa: SIM115
    try:
        summary = run_events(paths, FORMATS[fmt](stream), horizon_ms)
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly, as cat does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
    finally:
        if output:
            stream.close()
    summary.write_text(sys.stderr)
    if summary_json:
        summary_json.write_text(dumps(summary.to_dict()) + "\n", encoding="utf-8")
    if summary.file_errors and not summary.reassembly["lines"]:
        sys.exit(2)


def run_events(
    paths: tuple[str, ...], emit: Callable[[AuditEvent], object], horizon_ms: int
) -> RunSummary:
    sources = SourceStats()
    machine = Reassembler(emit, horizon_ms=horizon_ms)
    started = time.perf_counter()
    machine.feed(iter_lines(paths, sources))
    machine.flush()
    return RunSummary.collect(machine, sources, time.perf_counter() - started)
