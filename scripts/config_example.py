#!/usr/bin/env python3
"""Write packaging/detect.yaml: the example configuration file, every key of `scan`, `stream`,
`events` and `test` commented out with its built-in default and its help.

    .venv/bin/python scripts/config_example.py            # rewrites packaging/detect.yaml
    .venv/bin/python scripts/config_example.py --check    # exit 1 if it is stale

The keys come from the commands' options themselves (detect/cli/config.py reads the same
ones), so an option added to a command shows up here on the next run; tests/cli/test_config.py
fails while the file lacks one.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import Any

import click
import yaml

from detect.cli.commands import main
from detect.cli.config import COMMON, option_names

TARGET = Path(__file__).resolve().parents[1] / "packaging" / "detect.yaml"
COMMANDS = ("scan", "stream", "events", "test")
SHARED_BY = ("scan", "stream", "events")  # an option two of them have goes under `common`
ACTIVE = {(COMMON, "min-level")}  # set in the example (to the default): the file does something
EXAMPLES = {
    "rules": "[/etc/detect/rules]",
    "tuning": "/etc/detect/tuning.yml (the file must exist)",
    "jobs": "8 (default: the machine's cores)",
    "host": "web-1",
    "output": "/var/log/detect/alerts.json",
    "checkpoint": "/var/lib/detect/checkpoint.json (restart neither loses nor repeats events)",
    "follow": "/var/log/audit/audit.log",
    "webhook": "https://siem.example/alerts",
    "spool": "/var/lib/detect/spool",
    "user": "detect",
}
HEADER = """\
# detect configuration (detect/cli/config.py; scripts/config_example.py writes this example).
# Use: `detect --config /etc/detect/detect.yaml stream ...`, or DETECT_CONFIG=/etc/detect/...
#
# A section per command (`scan`, `stream`, `events`, `test`; also `tune`, `report`, `attack:
# {coverage: ...}`, `audit-rules: {generate: ...}`), and `common` for options several commands
# share: every command that has the option takes it, and a command's own section wins over
# `common`. A key is the command's long option without its dashes (`--min-level` ->
# `min-level` or `min_level`; `--rules` -> `rules`, a list as the option repeats; a switch is
# true or false). Every key of these four commands is here, commented out, with its default.
#
# A flag given on the command line wins over this file, this file over the built-in default.
# A switch set here is turned off on the command line by its other form (--default-rules).
# Paths mean what they mean on the command line: use absolute ones.
#
# The file is checked before anything runs: an unknown section or key, or a value the option
# refuses, is an error naming this file's line (an unknown key lists the valid ones); exit 2.
"""


def render() -> str:
    options = {name: option_names(_command(name)) for name in COMMANDS}
    shared = [
        key for key in options["scan"] if sum(key in options[name] for name in SHARED_BY) >= 2
    ]
    parts = [HEADER, _section(COMMON, shared, options["scan"], "  # scan, stream and events")]
    for name in COMMANDS:
        keys = [key for key in options[name] if key not in shared]
        parts.append(_section(name, keys, options[name]) if keys else f"{name}: {{}}\n")
    return "\n".join(parts)


def _command(name: str) -> click.Command:
    return main.commands[name]


def _section(title: str, keys: list[str], options: dict[str, click.Option], note: str = "") -> str:
    lines = [f"{title}:{note}"]
    for name in keys:
        option = options[name]
        key = name.replace("_", "-")
        text = _setting(key, _default(option))
        about = " ".join((option.help or "").split())
        if key in EXAMPLES:
            about = f"{about} Example: {EXAMPLES[key]}." if about else f"Example: {EXAMPLES[key]}."
        lines.extend(f"  # {line}" for line in textwrap.wrap(about, 92))
        lines.append(f"  {'' if (title, key) in ACTIVE else '# '}{text}")
    return "\n".join(lines) + "\n"


def _default(option: click.Option) -> Any:
    value = option.default
    if option.name == "jobs" or value is None or "Sentinel" in repr(value):
        return False if option.is_flag else [] if option.multiple else None
    return list(value) if isinstance(value, tuple) else value


def _setting(key: str, value: Any) -> str:
    if value is None:
        return f"{key}:"
    return yaml.safe_dump({key: value}, default_flow_style=True, width=1000).strip()[1:-1]


def main_() -> int:
    text = render()
    if "--check" in sys.argv[1:]:
        current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
        if current != text:
            print(f"{TARGET} is stale: run scripts/config_example.py", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main_())
