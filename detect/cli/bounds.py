"""The bounds options `detect scan`, `detect events` and `detect stream` share (DESIGN §8,
issue 18): what a run holds at most, each counted in the summary when hit. Plain option names:
a configuration file's keys are the same (click's default_map)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar, cast

import click

from detect.cli.triage_options import Duration
from detect.core.defaults import KERNEL_MAX_RECORD
from detect.pipeline.factory import DEFAULTS, PipelineSettings
from detect.proctree.settings import MAX_PROCESSES

F = TypeVar("F", bound=Callable[..., Any])
Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]
# The defaults, as the stages have them (reassembly's Limits, the correlations' Limits): taken
# from the default settings, so that this module needs neither side's types (the layering).
REASSEMBLY = DEFAULTS.limits
CORRELATIONS = DEFAULTS.correlation_limits


def _bound(name: str, default: int, help: str) -> Decorator:
    return click.option(
        name, type=click.IntRange(min=1), default=default, show_default=True, help=help
    )


def _reassembly() -> list[Decorator]:
    return [
        _bound(
            "--max-line-bytes",
            REASSEMBLY.max_line_bytes,
            "Bytes per line (its newline not counted); a longer line is unparsed, and no more of "
            "it than this is held while it is read (summary: unparsed, 'line longer than'). The "
            f"kernel's records are at most {KERNEL_MAX_RECORD:,} bytes; node= and enriched "
            "fields add a little.",
        ),
        _bound(
            "--max-event-records",
            REASSEMBLY.max_records,
            "Records kept per event; more are dropped (summary: events capped, records dropped).",
        ),
        _bound(
            "--max-event-bytes",
            REASSEMBLY.max_event_bytes,
            "Characters kept per event; more are dropped (summary: as --max-event-records).",
        ),
        _bound(
            "--max-inflight",
            REASSEMBLY.max_inflight,
            "Events in flight, all hosts of a pipeline (`scan` runs one per host: each host); the "
            "oldest is evicted (summary: inflight full).",
        ),
        _bound(
            "--max-node-inflight",
            REASSEMBLY.max_node_inflight,
            "Events in flight per host; its first is evicted (summary: node inflight full).",
        ),
        _bound(
            "--max-nodes",
            REASSEMBLY.max_nodes,
            "Hosts (node=) tracked; the longest silent are forgotten (summary: nodes full).",
        ),
        click.option(
            "--node-idle",
            type=Duration(),
            default=f"{REASSEMBLY.node_idle_ms // 60_000}m",
            show_default=True,
            help="A host silent this long in audit time is forgotten (summary: nodes forgotten).",
        ),
    ]


def _detection() -> list[Decorator]:
    return [
        click.option(
            "--max-processes",
            type=click.IntRange(min=1),
            default=None,
            show_default=f"mappings/proctree.yaml's max_processes ({MAX_PROCESSES})",
            help="Processes in the process tree, all hosts of a pipeline (`scan` runs one per "
            "host: each host); least recently seen leaves are evicted (summary: process tree "
            "evicted).",
        ),
        click.option(
            "--process-idle",
            type=Duration(),
            default=None,
            show_default="mappings/proctree.yaml's idle_seconds (6h)",
            help="A process no event showed for this long in audit time leaves the tree, "
            "unless it has children or a label (summary: process tree idle).",
        ),
        click.option(
            "--process-grace",
            type=Duration(),
            default=None,
            show_default="mappings/proctree.yaml's grace_seconds (60s)",
            help="How long an exited process stays for late events (summary: process tree "
            "expired).",
        ),
        _bound(
            "--max-correlation-groups",
            CORRELATIONS.max_groups,
            "Groups per correlation; the oldest are evicted (summary: evicted groups).",
        ),
        _bound(
            "--max-group-hits",
            CORRELATIONS.max_group_hits,
            "Hits kept per correlation group (summary: evicted hits).",
        ),
        _bound(
            "--max-correlation-hits",
            CORRELATIONS.max_hits,
            "Hits kept per correlation, over its groups (summary: evicted hits).",
        ),
    ]


def _apply(command: F, options: list[Decorator]) -> F:
    out: Callable[..., Any] = command
    for option in reversed(options):
        out = option(out)
    return cast(F, out)


def bounds_options(command: F) -> F:
    """Every bound, on a command that detects (`scan`, `stream`); `with_bounds` takes them
    out again."""
    return _apply(command, [*_reassembly(), *_detection()])


def reassembly_bounds_options(command: F) -> F:
    """Reassembly's bounds, on a command without process tree or correlations (`events`)."""
    return _apply(command, _reassembly())


def with_bounds(settings: PipelineSettings, kwargs: dict[str, Any]) -> PipelineSettings:
    """`settings` with the bounds options (those the command has), taken out of its keyword
    arguments."""
    values = {name: kwargs.pop(name) for name in BOUNDS_KEYS if name in kwargs}
    for name in ("node_idle", "process_idle"):
        if values.get(name) is not None and values[name] <= 0:
            raise click.BadParameter("must be positive", param_hint=f"--{name.replace('_', '-')}")
    limits = dataclasses.replace(
        REASSEMBLY,
        max_inflight=values["max_inflight"],
        max_node_inflight=values["max_node_inflight"],
        max_records=values["max_event_records"],
        max_event_bytes=values["max_event_bytes"],
        max_nodes=values["max_nodes"],
        node_idle_ms=values["node_idle"],
        max_line_bytes=values["max_line_bytes"],
    )
    correlations = dataclasses.replace(
        CORRELATIONS,
        max_groups=values.get("max_correlation_groups", CORRELATIONS.max_groups),
        max_group_hits=values.get("max_group_hits", CORRELATIONS.max_group_hits),
        max_hits=values.get("max_correlation_hits", CORRELATIONS.max_hits),
    )
    return dataclasses.replace(
        settings,
        limits=limits,
        max_processes=values.get("max_processes"),
        process_idle_ms=values.get("process_idle"),
        process_grace_ms=values.get("process_grace"),
        correlation_limits=correlations,
    )


BOUNDS_KEYS = (
    "max_event_records",
    "max_event_bytes",
    "max_inflight",
    "max_node_inflight",
    "max_nodes",
    "node_idle",
    "max_line_bytes",
    "max_processes",
    "process_idle",
    "process_grace",
    "max_correlation_groups",
    "max_group_hits",
    "max_correlation_hits",
)
