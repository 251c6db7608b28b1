"""What `detect scan` imports at start-up: not the linter (detect.authoring.validate and
pySigma's validators), which only `detect validate` uses (~0.2 s of every run), nor rich,
which only a scan that shows progress uses (~5.7 MB), nor pydantic, which only a `--config`
file and reading alert files (`detect report`) use (~10 MB)."""

from __future__ import annotations

import subprocess
import sys

LAZY = ("detect.authoring.validate", "sigma.validators.core", "rich.progress", "pydantic")


def test_the_commands_module_leaves_what_one_command_needs_to_that_command() -> None:
    code = f"import sys, detect.cli.commands; print([m for m in {LAZY!r} if m in sys.modules])"
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert found.returncode == 0, found.stderr
    assert found.stdout.strip() == "[]"
