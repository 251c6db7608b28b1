"""The command line: wiring only. `main` is the `detect` program's entry point."""

from __future__ import annotations


def main() -> None:
    """Make sure no stale compiled module runs (detect.core.native), then run the commands.
    The check comes first: importing the commands imports the hot modules."""
    from detect.core.native import use_current_code

    use_current_code()
    from detect.cli.commands import main as commands

    commands()
