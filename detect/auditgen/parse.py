"""Read auditctl rule text: split each line into tokens as auditctl does, then build the model.

A line is split like a shell word list (blanks separate, `'...'` and `"..."` quote, `\\` escapes),
so `-w '/folder with space' -p wa` and `-F "auid>=500"` read as auditctl reads them. `#` starts
a comment only at the start of a line (after blanks), as in auditctl. Errors are `AuditRuleError`s
with `path:line`; `parse_rules(..., errors=[])` collects them and goes on with the next line.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from pathlib import Path

from detect.auditgen.model import (
    CONTROLS,
    RULE_COMMANDS,
    WATCH_COMMANDS,
    AuditRuleFile,
    AuditRuleLine,
    Blank,
    Comment,
    Control,
    Item,
    SyscallRule,
    Watch,
)
from detect.auditgen.values import AuditRuleError, fail
from detect.core.errors import Location

RULES_SUFFIX = ".rules"
DIGITS_RE = re.compile(r"([0-9]+)")


def split_line(text: str) -> list[str]:
    """Shell-like tokens of one line: `-F "auid>=500"` -> ["-F", "auid>=500"]."""
    lexer = shlex.shlex(text, posix=True, punctuation_chars=False)
    lexer.whitespace_split = True
    lexer.commenters = ""
    try:
        return list(lexer)
    except ValueError as err:
        raise fail(f"cannot split the line: {err}", text) from err


def parse_tokens(tokens: list[str]) -> Item:
    """The model item for one line's tokens."""
    if not tokens:
        return Blank()
    command, rest = tokens[0], tokens[1:]
    if command in RULE_COMMANDS:
        return SyscallRule.from_tokens(command, rest)
    if command in WATCH_COMMANDS:
        return Watch.from_tokens(command, rest)
    if command in CONTROLS:
        return Control.from_tokens(command, rest)
    raise fail(f"unknown option {command}", command)


def parse_rule(text: str) -> Item:
    """One line of auditctl text (a comment, a blank, a control line or a rule)."""
    if text.strip().startswith("#"):
        return Comment(text)
    return parse_tokens(split_line(text))


def parse_rules(
    text: str, source: str = "-", errors: list[AuditRuleError] | None = None
) -> AuditRuleFile:
    """Every line of a rule file. Without `errors`, the first bad line raises; with it, bad
    lines are appended there (with `source:line`) and left out of the result."""
    lines = []
    for number, line in enumerate(text.splitlines(), 1):
        try:
            lines.append(AuditRuleLine(number, line, parse_rule(line)))
        except AuditRuleError as err:
            located = AuditRuleError(err.reason, Location(source, number), err.excerpt or line)
            if errors is None:
                raise located from err
            errors.append(located)
    return AuditRuleFile(source, tuple(lines))


def read_rules(path: Path, errors: list[AuditRuleError] | None = None) -> AuditRuleFile:
    """Parse a rule file from disk (the only I/O of this module)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise AuditRuleError(f"cannot read rules: {err}", Location(str(path))) from err
    return parse_rules(text, str(path), errors)


def augenrules_order(names: list[str]) -> list[str]:
    """The `*.rules` names of a rules.d/ folder in the order augenrules concatenates them
    (`ls -1v`: numbers inside names compare as numbers)."""
    chosen = [name for name in names if name.endswith(RULES_SUFFIX)]
    return sorted(chosen, key=lambda n: [int(p) if p.isdigit() else p for p in DIGITS_RE.split(n)])


def read_rule_paths(
    paths: Sequence[Path], errors: list[AuditRuleError] | None = None
) -> AuditRuleFile:
    """Rule files and rules.d/ folders, read as one rule set in the order given (a folder's
    files in augenrules order); each line keeps its file."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += [path / name for name in augenrules_order([p.name for p in path.iterdir()])]
        else:
            files.append(path)
    lines: list[AuditRuleLine] = []
    for file in files:
        read = read_rules(file, errors)
        lines += [AuditRuleLine(x.number, x.text, x.item, str(file)) for x in read.lines]
    source = str(paths[0]) if len(paths) == 1 else ", ".join(map(str, paths))
    return AuditRuleFile(source, tuple(lines))
