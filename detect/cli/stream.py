"""`detect stream`: wiring only (sources, outputs, privileges, the live loop)."""

from __future__ import annotations

import os
import sys
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import click

from detect.cli.bounds import bounds_options, with_bounds
from detect.cli.options import no_default_option
from detect.cli.triage_options import (
    check_rules,
    pipeline_settings,
    pop_triage,
    reloaded,
    triage_options,
)
from detect.core.defaults import HORIZON_MS, MAX_LINE
from detect.core.errors import DetectError
from detect.outputs.alerts import ALERT_WRITERS
from detect.outputs.delivery import DRAIN_S, Backoff, DeliverySettings
from detect.outputs.fanout import AlertOutputs
from detect.outputs.incidents import StreamIncidents
from detect.outputs.rotating import RotatingFile
from detect.outputs.safe_open import open_output
from detect.outputs.spool import MAX_BYTES, default_spool
from detect.outputs.syslog import syslog_output
from detect.outputs.webhook import BATCH, webhook_output
from detect.pipeline.expiry import IDLE_S
from detect.pipeline.factory import PipelineSettings, build_scan, load_rules
from detect.pipeline.privileges import drop_to
from detect.pipeline.reader import QUEUE_SIZE
from detect.pipeline.stream import STATS_EVERY_S, Stream, StreamSettings
from detect.sources.checkpoint import Checkpoint, Progress, open_checkpoint
from detect.sources.follow import Follower
from detect.sources.live import LiveSource
from detect.sources.netlink import KernelStatus, NetlinkSource
from detect.sources.stdin import StdinSource
from detect.sources.unix import UnixSource

if TYPE_CHECKING:
    from detect.sigma.model import RuleSet

EXIT_ERROR = 2


@dataclass(frozen=True)
class OutputOptions:
    fmt: str
    output: Path | None
    rotate_bytes: int
    rotate_backups: int
    syslog: str | None
    syslog_facility: str
    webhook: str | None
    webhook_batch: int = BATCH
    host: str | None = None  # the syslog HOSTNAME (`--host`; None: this machine's name)


class _Stdout:
    """stdout as an output: flushed, never closed."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def flush(self) -> None:
        self.stream.flush()

    def close(self) -> None:
        self.stream.flush()


def say(text: str) -> None:
    """A message of the stream on stderr (any thread)."""
    click.echo(f"stream: {text}", err=True)


def build_outputs(
    options: OutputOptions, resume: Checkpoint | None, delivery: DeliverySettings
) -> AlertOutputs:
    outputs = AlertOutputs()
    writer = ALERT_WRITERS[options.fmt]
    if options.output is None:
        outputs.add(writer(sys.stdout), _Stdout(sys.stdout))
    elif options.rotate_bytes:
        rotating = RotatingFile(options.output, options.rotate_bytes, options.rotate_backups)
        outputs.add(writer(rotating), rotating)  # type: ignore[arg-type]
    else:
        stream = open_output(options.output, keep=resume.output_size if resume else None)
        outputs.add(writer(stream), stream)
        outputs.size_of(stream)
    if options.syslog:
        outputs.add_remote(
            syslog_output(options.syslog, options.syslog_facility, delivery, options.host)
        )
    if options.webhook:
        outputs.add_remote(webhook_output(options.webhook, options.webhook_batch, delivery))
    return outputs


def build_source(
    follow: str | None,
    stdin: bool,
    unix: str | None,
    netlink: bool,
    max_line: int = MAX_LINE,
    **follow_options: Any,
) -> LiveSource:
    chosen = [
        name
        for name, on in (
            ("--follow", follow),
            ("--stdin", stdin),
            ("--unix", unix),
            ("--netlink", netlink),
        )
        if on
    ]
    if len(chosen) != 1:
        raise click.UsageError("give exactly one source: --follow, --stdin, --unix or --netlink")
    if follow:
        return Follower(follow, max_line=max_line, **follow_options)
    if unix:
        return UnixSource(unix, say=say, max_line=max_line)
    return NetlinkSource() if netlink else StdinSource(max_line=max_line)


def load_rules_or_exit(settings: PipelineSettings, strict: bool = False) -> RuleSet:
    """The rules, each skipped one said; exit 2 when none loaded, or with --strict when any
    was skipped (a collector does not start on part of its rules)."""
    rules = load_rules(settings)
    if not check_rules(rules, strict):
        sys.exit(EXIT_ERROR)
    return rules


@click.command()
@click.option("--follow", type=str, default=None, help="Follow this log across rotation.")
@click.option("--stdin/--no-stdin", default=False, help="Read standard input (auditd plugin).")
@click.option("--unix", type=str, default=None, help="Read auditd's af_unix socket.")
@click.option(
    "--netlink/--no-netlink", default=False, help="Read the kernel's audit multicast group."
)
@click.option("--checkpoint", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option(
    "--from-beginning/--no-from-beginning",
    default=False,
    help="Follow: without checkpoint, read it all.",
)
@click.option("--rules", "rule_paths", multiple=True, help="More Sigma rule files or folders.")
@no_default_option
@click.option("--format", "fmt", type=click.Choice(sorted(ALERT_WRITERS)), default="jsonl")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option(
    "--rotate-bytes", type=int, default=0, help="Rotate --output at this size (needs --output)."
)
@click.option("--rotate-backups", type=int, default=5, show_default=True)
@click.option("--syslog", type=str, default=None, help="udp://H:P, tcp://H:P or unix:///dev/log")
@click.option("--syslog-facility", type=str, default="local0", show_default=True)
@click.option("--webhook", type=str, default=None, help="POST alerts as JSON here.")
@click.option(
    "--webhook-batch",
    type=click.IntRange(min=1),
    default=BATCH,
    show_default=True,
    help="Alerts per POST: a JSON array of up to N alerts; 1: one alert object per POST.",
)
@click.option(
    "--spool",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where --syslog/--webhook alerts wait until accepted (a folder per output). Default: "
    "spool/ beside --checkpoint, else /var/lib/detect/spool as root, else "
    "$XDG_STATE_HOME/detect/spool (~/.local/state/detect/spool). Created after --user drops "
    "privileges: that user must own it.",
)
@click.option(
    "--spool-max-bytes",
    type=click.IntRange(min=1 << 16),
    default=MAX_BYTES,
    show_default=True,
    help="Bound of each output's spool; when full, the oldest alerts are dropped and counted.",
)
@click.option(
    "--backoff-ms",
    type=click.IntRange(min=1),
    default=500,
    show_default=True,
    help="First wait before a remote output tries again; it doubles after each failure.",
)
@click.option(
    "--backoff-max-ms",
    type=click.IntRange(min=1),
    default=30_000,
    show_default=True,
    help="Longest wait between tries (alerts are tried again for ever, kept in the spool).",
)
@click.option(
    "--drain-seconds",
    type=click.FloatRange(min=0),
    default=DRAIN_S,
    show_default=True,
    help="At exit, how long remote outputs may take to deliver what waits; what is left stays "
    "in the spool and the exit status is 2.",
)
@click.option("--user", type=str, default=None, help="Drop to this user once the source is open.")
@click.option("--stats-interval", type=float, default=STATS_EVERY_S, show_default=True)
@click.option("--idle-ms", type=int, default=round(IDLE_S * 1000), show_default=True)
@click.option("--horizon-ms", type=int, default=HORIZON_MS, show_default=True)
@click.option("--queue-size", type=int, default=QUEUE_SIZE, show_default=True)
@triage_options
@bounds_options
def stream(
    follow: str | None,
    stdin: bool,
    unix: str | None,
    netlink: bool,
    checkpoint: Path | None,
    from_beginning: bool,
    rule_paths: tuple[str, ...],
    no_default_rules: bool,
    fmt: str,
    output: Path | None,
    rotate_bytes: int,
    rotate_backups: int,
    syslog: str | None,
    syslog_facility: str,
    webhook: str | None,
    webhook_batch: int,
    spool: Path | None,
    spool_max_bytes: int,
    backoff_ms: int,
    backoff_max_ms: int,
    drain_seconds: float,
    user: str | None,
    stats_interval: float,
    idle_ms: int,
    horizon_ms: int,
    queue_size: int,
    **triage: Any,
) -> None:
    """Detect on a live source: alerts as events complete (at --min-level and above,
    deduplicated), incident updates to --incidents as they open, rise and close. SIGHUP reloads
    the detections and the tuning file; SIGTERM/SIGINT flush and exit. --syslog and --webhook
    alerts go through an on-disk spool and are retried until accepted (docs/delivery.md); exit
    status 2 when some are still undelivered (they stay in the spool for the next start) or
    were dropped."""
    if rotate_bytes and output is None:
        raise click.UsageError("--rotate-bytes rotates the --output file: give --output too")
    options = pop_triage(triage)
    pipeline = pipeline_settings(options, horizon_ms, rule_paths, no_default_rules)
    pipeline = with_bounds(pipeline, triage)
    rules = load_rules_or_exit(pipeline, options["strict"])
    try:
        resume, key = open_checkpoint(checkpoint) if checkpoint and follow else (None, None)
        source = build_source(
            follow,
            stdin,
            unix,
            netlink,
            pipeline.limits.max_line_bytes,
            resume=resume,
            from_beginning=from_beginning,
        )
        source.open()
        kernel = KernelStatus()
        if not kernel.open():
            kernel.close()
            kernel = None  # type: ignore[assignment]
        spool = spool or default_spool(checkpoint, os.geteuid(), dict(os.environ))
        if user:  # before any output is opened: root never writes where others can point it
            drop_to(user)
        delivery = DeliverySettings(
            spool,
            spool_max_bytes,
            Backoff(backoff_ms / 1000, max(backoff_ms, backoff_max_ms) / 1000),
            drain_seconds,
            say,
        )
        outputs = build_outputs(
            OutputOptions(
                fmt,
                output,
                rotate_bytes,
                rotate_backups,
                syslog,
                syslog_facility,
                webhook,
                webhook_batch,
                pipeline.host,
            ),
            resume,
            delivery,
        )
        incidents = StreamIncidents(
            options["incidents_path"], sys.stdout if fmt == "text" else None
        )
    except (DetectError, OSError, ValueError) as error:
        click.echo(f"stream: {error}", err=True)
        sys.exit(EXIT_ERROR)
    for warning in getattr(source, "warnings", []):
        click.echo(f"stream: {warning}", err=True)
    settings = StreamSettings(
        pipeline=pipeline,
        idle_s=idle_ms / 1000,
        queue_size=queue_size,
        stats_every_s=stats_interval,
        checkpoint=checkpoint if follow else None,
        drain_s=drain_seconds,
    )
    progress = Progress(resume.done if resume else None, key) if checkpoint and follow else None
    live = Stream(
        source,
        build_scan(rules, outputs, pipeline, incidents),
        outputs,
        settings,
        reload=lambda: load_rules(reloaded(pipeline, options["tuning"])),
        progress=progress,
        kernel=kernel,
    )
    try:
        live.run()
    except (DetectError, OSError) as error:
        click.echo(f"stream: {error}", err=True)
        sys.exit(EXIT_ERROR)
    finally:
        with suppress(OSError):
            outputs.close()
            incidents.close()
    if live.undelivered:
        sys.exit(EXIT_ERROR)
