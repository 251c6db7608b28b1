"""`detect stream` and `detect audit-rules` are imported when asked for (detect.cli.lazy): a
scan does not pay for their modules, and they are still listed and run (their config sections:
tests/cli/test_config.py)."""

from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner

from detect.cli.commands import LAZY_COMMANDS, main


def test_the_command_line_does_not_import_the_lazy_commands() -> None:
    code = (
        "import sys; import detect.cli.commands; "
        "print(sorted(m for m in ('detect.cli.stream', 'detect.cli.audit_rules', "
        "'detect.auditgen.generate') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_lazy_commands_are_listed_and_run() -> None:
    runner = CliRunner()
    listed = runner.invoke(main, ["--help"])
    assert listed.exit_code == 0
    assert "stream " in listed.output and "audit-rules " in listed.output
    assert "\n  rules " not in listed.output  # the deprecated name stays hidden
    for name in LAZY_COMMANDS:
        shown = runner.invoke(main, [name, "--help"])
        assert shown.exit_code == 0, shown.output
        assert "Usage: " in shown.output
