"""`detect rules generate` and `detect rules check`: wiring only.

The lead adds the group to the main command with `main.add_command(rules)`.
"""

from __future__ import annotations

import platform
import sys
from pathlib import Path

import click

from detect.auditgen import host
from detect.auditgen.check import check_rules, report_lines
from detect.auditgen.derive import HOME_SCOPE
from detect.auditgen.generate import Options, generate
from detect.auditgen.output import render_file, render_fragments
from detect.auditgen.parse import read_rules
from detect.auditgen.values import RuleError
from detect.core.errors import DetectError
from detect.core.resources import ROOT
from detect.sigma.load import load_detections
from detect.sigma.model import Rule

ARCHES = ("x86_64", "aarch64", "ppc64le", "s390x", "riscv64")
EXIT_BLIND, EXIT_ERROR = 1, 2

rules_option = click.option(
    "--rules", "paths", multiple=True, type=click.Path(path_type=Path), help="More rule files."
)
no_default_option = click.option(
    "--no-default-rules", is_flag=True, help="Leave out the shipped detections."
)


@click.group()
def rules() -> None:
    """Audit rules: generate what the detections need, check a rule set against them."""


def loaded(paths: tuple[Path, ...], no_default: bool) -> list[Rule]:
    rule_set = load_detections(paths, default=not no_default)
    for error in rule_set.errors:
        click.echo(f"rule not loaded: {error}", err=True)
    return rule_set.rules


def scope_of(text: str) -> tuple[str, ...] | None:
    if text == "all":
        return None
    return tuple(part for part in text.split(",") if part) or HOME_SCOPE


@rules.command()
@rules_option
@no_default_option
@click.option("--arch", type=click.Choice(ARCHES), default=None, help="Default: this machine.")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="FILE, or DIR/.")
@click.option("--fragments", is_flag=True, help="Write rules.d/ fragments into --out DIR.")
@click.option("--tree-full", is_flag=True, help="Also fork and exit events for the tree.")
@click.option("--exclude-exe", multiple=True, help="Never audit this executable (collector).")
@click.option("--scope-auid", default=None, help="Only this login uid (tests).")
@click.option("--immutable", is_flag=True, help="End with -e 2 (locked until reboot).")
@click.option(
    "--unbounded-paths",
    default=",".join(HOME_SCOPE),
    show_default=True,
    help="Dirs assumed for file detections without a path literal; `all` for every path.",
)
@click.option(
    "--for-host/--portable",
    default=False,
    help="Fit to this host: missing directories watched for their creation, syscalls its "
    "auditctl does not know written as numbers.",
)
def generate_command(
    paths: tuple[Path, ...],
    no_default_rules: bool,
    arch: str | None,
    out: Path | None,
    fragments: bool,
    tree_full: bool,
    exclude_exe: tuple[str, ...],
    scope_auid: str | None,
    immutable: bool,
    unbounded_paths: str,
    for_host: bool,
) -> None:
    """Generate the audit rules the enabled detections need."""
    options = Options(
        arch=arch or platform.machine(),
        tree_full=tree_full,
        exclude_exes=exclude_exe,
        scope_auid=scope_auid,
        immutable=immutable,
        is_dir=host.is_dir if for_host else None,
        knows=host.knows_syscall if for_host else None,
        scope=scope_of(unbounded_paths),
    )
    try:
        generated = generate(loaded(paths, no_default_rules), options, str(ROOT))
    except DetectError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(EXIT_ERROR)
    if fragments:
        if out is None:
            raise click.UsageError("--fragments needs --out DIR")
        files = render_fragments(generated)
    else:
        files = render_file(generated, out.name if out is not None else "detect.rules")
    write_files(files, out, fragments)


generate_command.name = "generate"


def write_files(files: dict[str, str], out: Path | None, fragments: bool) -> None:
    if out is None:
        name = next(iter(files))
        click.echo(files[name], nl=False)
        return
    folder = out if fragments else out.parent
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
        click.echo(f"wrote {folder / name}", err=True)


@rules.command()
@click.argument("rules_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@rules_option
@no_default_option
@click.option("--arch", type=click.Choice(ARCHES), default=None, help="Default: this machine.")
@click.option(
    "--unbounded-paths",
    default=",".join(HOME_SCOPE),
    show_default=True,
    help="Dirs assumed for file detections without a path literal; `all` for every path.",
)
def check(
    rules_file: Path,
    paths: tuple[Path, ...],
    no_default_rules: bool,
    arch: str | None,
    unbounded_paths: str,
) -> None:
    """Which enabled detections a rule set leaves blind, and which of its rules serve none.

    Exit 1 when some detection can never fire under the rule set."""
    errors: list[RuleError] = []
    try:
        parsed = read_rules(rules_file, errors)
    except DetectError as failure:
        click.echo(f"error: {failure}", err=True)
        sys.exit(EXIT_ERROR)
    for problem in errors:
        click.echo(f"rule line not read: {problem}", err=True)
    detections = loaded(paths, no_default_rules)
    result = check_rules(parsed, detections, arch or platform.machine(), scope_of(unbounded_paths))
    for line in report_lines(result, str(ROOT)):
        click.echo(line)
    if result.blind:
        sys.exit(EXIT_BLIND)
