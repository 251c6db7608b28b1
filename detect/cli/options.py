"""Options several commands share."""

from __future__ import annotations

from pathlib import Path

import click

# The Sigma rules a command reads besides (or instead of) the shipped detections, as paths.
rules_option = click.option(
    "--rules",
    "paths",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Sigma rule files or folders (repeatable).",
)
no_default_option = click.option(
    "--no-default-rules", is_flag=True, help="Leave out the shipped Sigma detections."
)
