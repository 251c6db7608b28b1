"""`detect audit-rules generate` and `detect audit-rules check`: wiring only.

"Audit rules" are auditctl's rules, "Sigma rules" the detections. The main command adds the
group (`main.add_command(audit_rules)`) and `deprecated_rules`, the old name `detect rules`:
hidden, it runs the same commands after one line on stderr.
"""

from __future__ import annotations

import platform
import sys
from pathlib import Path

import click

from detect.auditgen import host
from detect.auditgen.check import check_audit_rules, report_lines
from detect.auditgen.derive import HOME_SCOPE, Derivation
from detect.auditgen.generate import COLLECTOR_INPUT, COLLECTOR_STATE, Options, generate
from detect.auditgen.output import render_file, render_fragments
from detect.auditgen.parse import read_rule_paths
from detect.auditgen.values import AuditRuleError
from detect.cli.options import load_enabled, no_default_option, rules_option
from detect.core.errors import DetectError
from detect.core.resources import ROOT
from detect.sigma.model import Rule

ARCHES = ("x86_64", "aarch64", "ppc64le", "s390x", "riscv64")  # mappings/auditgen.yaml arches
EXIT_BLIND, EXIT_ERROR = 1, 2
DEPRECATED = "detect: `detect rules` is deprecated, use `detect audit-rules`"


@click.group(name="audit-rules")
def audit_rules() -> None:
    """Audit rules for auditctl: generate those the Sigma rules need, check an audit rule set."""


def loaded(paths: tuple[Path, ...], no_default: bool) -> list[Rule]:
    return load_enabled(paths, no_default).rules


def scope_of(text: str) -> tuple[str, ...]:
    """`--unbounded-paths`: absolute directories, comma-separated (empty: none)."""
    dirs = tuple(part.rstrip("/") or "/" for part in text.split(",") if part)
    bad = [d for d in dirs if not d.startswith("/") or d == "/"]
    if bad:
        raise click.BadParameter(
            f"{', '.join(bad)}: absolute directories below / only (every path is never audited)",
            param_hint="--unbounded-paths",
        )
    return dirs


def machine_arch(arch: str | None) -> str:
    """`--arch`, or this machine's when it is one generation knows."""
    found = arch or platform.machine()
    if found not in ARCHES:
        raise click.UsageError(f"no syscall tables for arch {found}; use --arch {'|'.join(ARCHES)}")
    return found


def report_derivations(derivations: list[Derivation]) -> None:
    """On stderr: the detections left out (in part or whole) or refused, and why."""
    for found in derivations:
        name = found.rule.source.source
        if found.refused:
            for reason in found.refused:
                click.echo(f"refused {name}: {reason}", err=True)
        elif found.underivable:
            click.echo(f"cannot derive {name}: {'; '.join(found.unbounded)}", err=True)
        else:
            for reason in found.unbounded:
                click.echo(f"left out of {name}: {reason}", err=True)


@audit_rules.command()
@rules_option
@no_default_option
@click.option("--arch", type=click.Choice(ARCHES), default=None, help="Default: this machine.")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="FILE, or DIR/.")
@click.option(
    "--collector-input",
    multiple=True,
    default=(COLLECTOR_INPUT,),
    show_default=True,
    help="A file the collector reads: its reads are never audited.",
)
@click.option(
    "--collector-state",
    multiple=True,
    default=(COLLECTOR_STATE,),
    show_default=True,
    help="The collector's state file or folder: never audited.",
)
@click.option(
    "--keep-noise/--no-keep-noise",
    default=False,
    help="No exclusion of well-known noise (chrony...).",
)
@click.option(
    "--fragments/--no-fragments", default=False, help="Write rules.d/ fragments into --out DIR."
)
@click.option(
    "--tree-full/--no-tree-full", default=False, help="Also fork and exit events for the tree."
)
@click.option("--exclude-exe", multiple=True, help="Never audit this executable (collector).")
@click.option("--scope-auid", default=None, help="Only this login uid (tests).")
@click.option(
    "--immutable/--no-immutable", default=False, help="End with -e 2 (locked until reboot)."
)
@click.option(
    "--unbounded-paths",
    default="",
    help="Directories (comma-separated, e.g. " + ",".join(HOME_SCOPE) + ") where file detections "
    "without a path literal are audited; by default they are left out and reported.",
)
@click.option(
    "--programs-anywhere/--programs-installed",
    default=False,
    help="A detection that names a program by its file name only (Image|endswith /bash) audits "
    "it wherever it lies; by default, on this host, only its installed copies (-F exe=).",
)
@click.option(
    "--for-host/--portable",
    default=True,
    help="Default: fit to this host (missing directories watched for their creation, syscalls "
    "its auditctl does not know written as numbers). --portable: for any auditctl from 3.0.9, "
    "rules on paths a host may lack last, after -i.",
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
    collector_input: tuple[str, ...],
    collector_state: tuple[str, ...],
    keep_noise: bool,
    programs_anywhere: bool,
) -> None:
    """Generate the audit rules the enabled Sigma rules need."""
    machine = machine_arch(arch)
    # the installed programs say something only about this machine's own arch
    narrow = for_host and not programs_anywhere and machine == platform.machine()
    options = Options(
        arch=machine,
        tree_full=tree_full,
        exclude_exes=exclude_exe,
        scope_auid=scope_auid,
        immutable=immutable,
        is_dir=host.is_dir if for_host else None,
        knows=host.knows_syscall if for_host else None,
        exists=host.exists if for_host else None,
        programs=host.programs if narrow else None,
        scope=scope_of(unbounded_paths),
        collector_inputs=collector_input,
        collector_state=collector_state,
        noise=not keep_noise,
    )
    try:
        generated = generate(loaded(paths, no_default_rules), options, str(ROOT))
    except DetectError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(EXIT_ERROR)
    report_derivations(generated.derivations)
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


@audit_rules.command()
@click.argument(
    "audit_rules_paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path)
)
@rules_option
@no_default_option
@click.option("--arch", type=click.Choice(ARCHES), default=None, help="Default: this machine.")
@click.option(
    "--unbounded-paths",
    default="",
    help="Directories where file detections without a path literal look (as for generate).",
)
def check(
    audit_rules_paths: tuple[Path, ...],
    paths: tuple[Path, ...],
    no_default_rules: bool,
    arch: str | None,
    unbounded_paths: str,
) -> None:
    """Which enabled Sigma rules an audit rule set leaves blind, and which of its audit rules
    serve none. AUDIT_RULES_PATHS: rule files, or rules.d/ folders (their *.rules files in
    augenrules order), loaded one after the other.

    Exit 1 when some detection can never fire under the audit rule set."""
    errors: list[AuditRuleError] = []
    try:
        parsed = read_rule_paths(audit_rules_paths, errors)
    except DetectError as failure:
        click.echo(f"error: {failure}", err=True)
        sys.exit(EXIT_ERROR)
    for problem in errors:
        click.echo(f"audit rule line not read: {problem}", err=True)
    detections = loaded(paths, no_default_rules)
    machine = machine_arch(arch)
    result = check_audit_rules(parsed, detections, machine, scope_of(unbounded_paths), host.is_dir)
    for line in report_lines(result, str(ROOT)):
        click.echo(line)
    if result.blind:
        sys.exit(EXIT_BLIND)


class DeprecatedAlias(click.Group):
    """An old name of a group: hidden, and one line on stderr before it runs."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not ctx.resilient_parsing:  # not while the shell completes a command line
            click.echo(DEPRECATED, err=True)
        return super().parse_args(ctx, args)


deprecated_rules = DeprecatedAlias(
    "rules",
    commands=audit_rules.commands,
    hidden=True,
    help="Deprecated: the old name of `detect audit-rules`.",
)
