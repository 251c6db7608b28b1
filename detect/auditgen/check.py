"""Check an audit rule set against the enabled detections: which can never fire, which audit
rules serve none.

Two sources of evidence, both reported:

- samples: each detection's `# match:` events (its `.log` beside the Sigma rule file, real
  captured lines: `detect.pipeline.samples.match_events`) are replayed through the simulator
  (`simulate.py`). A detection none of whose match events the rule set would emit is blind,
  and the simulator's reason for one of them says why; one that loses some of them is partly
  blind.
- derivation (`derive.py`), for detections without samples: a need none of whose syscalls any
  `always` exit rule audits (filters not compared) leaves the detection blind.

A rule serves a detection when it decided the emission of one of its sample events, or when it
can select events of one of its needs: a shared syscall and no filter that contradicts the
need's (another value of the same field, a path outside the need's). The process tree counts
as a detection here (`process-tree`). Rules serving nothing are listed.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from detect.auditgen.derive import Derivation, Need, derive_all, load_table
from detect.auditgen.model import (
    AuditRule,
    AuditRuleFile,
    AuditRuleLine,
    Field,
    Perms,
    SyscallRule,
    Watch,
)
from detect.auditgen.simulate import (
    ATTR_CLASS,
    EXEC_CLASS,
    READ_CLASS,
    WRITE_CLASS,
    Simulator,
    why_lost,
)
from detect.auditgen.values import AuditRuleError, arch_of
from detect.auditgen.write import write_item
from detect.kernel import tables
from detect.matching.dispatch import view_of
from detect.pipeline.samples import match_events
from detect.sigma.model import Rule

PATH_FIELDS = ("dir", "path")
IGNORED_FIELDS = frozenset(("arch", "key", "perm"))
OPENS = frozenset(("open", "openat", "openat2"))
PERM_CLASSES = {
    "r": READ_CLASS | OPENS,
    "w": WRITE_CLASS | OPENS,
    "x": EXEC_CLASS,
    "a": ATTR_CLASS,
}


@dataclass
class Finding:
    """One detection under the rule set."""

    rule: Rule
    samples: int = 0  # its match events
    emitted: int = 0  # of which the rule set emits
    reasons: list[str] = field(default_factory=list)  # why events or needs are lost

    @property
    def blind(self) -> bool:
        if self.samples:
            return self.emitted == 0
        return bool(self.reasons)

    @property
    def partly(self) -> bool:
        return bool(self.samples) and 0 < self.emitted < self.samples


@dataclass
class CheckResult:
    findings: list[Finding]
    unused: list[AuditRule]  # rules that serve no detection
    problems: list[AuditRuleError] = field(default_factory=list)  # lines the arch refuses

    @property
    def blind(self) -> list[Finding]:
        return [f for f in self.findings if f.blind]

    @property
    def partly(self) -> list[Finding]:
        return [f for f in self.findings if f.partly]


def loadable(rules_file: AuditRuleFile, machine: str) -> tuple[AuditRuleFile, list[AuditRuleError]]:
    """The lines auditctl could load on `machine`, and the others as errors with `file:line`
    (a syscall name its table lacks, an arch it does not have). `auditctl -R` stops at the
    first of them; `-c` and `-i` go on, as the check does."""
    kept: list[AuditRuleLine] = []
    problems: list[AuditRuleError] = []
    for line, (where, item) in zip(rules_file.lines, rules_file.located(), strict=True):
        try:
            if isinstance(item, Watch):
                item.meaning(machine, True)
            elif isinstance(item, SyscallRule):
                item.meaning(machine)
        except AuditRuleError as err:
            problems.append(AuditRuleError(err.reason, where, line.text))
            continue
        kept.append(line)
    return AuditRuleFile(rules_file.source, tuple(kept)), problems


def check_audit_rules(
    rules_file: AuditRuleFile,
    detections: list[Rule],
    machine: str,
    scope: tuple[str, ...] = (),
    is_dir: Callable[[str], bool] | None = None,
) -> CheckResult:
    """`scope`: where file detections without a path literal look (as `generate` assumes);
    `is_dir`: which watched paths are directories on the host the rules are for (the kernel
    puts a watch of a directory on the exit list, of a file among the inode rules: `simulate`),
    None: every watch as a directory."""
    rules_file, problems = loadable(rules_file, machine)
    applicable = [rule for rule in detections if view_of(rule) is not None]
    derivations = derive_all(applicable, load_table(), scope)
    deciding: set[int] = set()
    findings = [_finding(d, rules_file, (machine, is_dir), deciding) for d in derivations]
    tree = Need(load_table().tree_syscalls(False))
    needs = [need for d in derivations for need in d.needs] + [tree]
    unused = [
        rule
        for rule in rules_file.rules
        if id(rule) not in deciding
        and _selects(rule)
        and not any(_serves(rule, n, machine) for n in needs)
    ]
    return CheckResult(findings, unused, problems)


def _finding(
    derivation: Derivation,
    rules_file: AuditRuleFile,
    host: tuple[str, Callable[[str], bool] | None],
    deciding: set[int],
) -> Finding:
    finding = Finding(derivation.rule)
    events = list(match_events(derivation.rule))
    machine, is_dir = host
    if events:
        simulator = Simulator(rules_file, machine, is_dir=is_dir)
        for event in events:
            verdict = simulator.check(event)
            finding.samples += 1
            if verdict.emitted:
                finding.emitted += 1
                if verdict.rule is not None:
                    deciding.add(id(verdict.rule))
            else:
                finding.reasons.append(why_lost(event, verdict))
        finding.reasons = list(dict.fromkeys(finding.reasons))
        return finding
    for need in derivation.needs:
        if not any(_audits(rule, need, machine) for rule in rules_file.rules):
            finding.reasons.append(f"nothing audits {need.describe()}")
    return finding


# --- rules against needs ----------------------------------------------------------------------


def _selects(rule: AuditRule) -> bool:
    """An `always` rule of the exit list, or a watch (what makes syscall events)."""
    if isinstance(rule, Watch):
        return rule.command == "-w"
    return rule.list_name == "exit" and rule.action == "always" and rule.command != "-d"


def _syscalls_of(rule: AuditRule, machine: str) -> frozenset[str] | None:
    """The syscalls a rule can select: its `-S` list (numbers named for its arch), or for
    `perm=` (watches) the kernel's classes of those permissions (opens: read and write)."""
    if isinstance(rule, Watch):
        return _perm_classes(rule.effective_perms)
    perms = _perm_of(rule)
    if perms is not None:
        return _perm_classes(perms)
    arch = arch_of(rule.arch, machine) if rule.arch is not None else machine
    names = frozenset(_syscall_name(token, arch) for token in rule.syscalls)
    return None if not names or "all" in names else names


def _perm_classes(perms: str) -> frozenset[str]:
    return frozenset().union(*(PERM_CLASSES[letter] for letter in perms))


def _syscall_name(token: str, arch: str | None) -> str:
    if token.isdigit() and arch is not None:
        return tables.syscall_name(arch, int(token)) or token
    return token


def _perm_of(rule: SyscallRule) -> str | None:
    for part in rule.parts:
        if isinstance(part, Perms):
            return part.value
        if isinstance(part, Field) and part.field == "perm":
            return part.value
    return None


def _filters_of(rule: AuditRule, machine: str) -> list[tuple[str, str, int | str]]:
    if isinstance(rule, Watch):
        return [("dir", "=", rule.path.rstrip("/") or "/")]
    return [f.meaning(machine) for f in rule.fields if f.field not in IGNORED_FIELDS]


def _audits(rule: AuditRule, need: Need, machine: str) -> bool:
    """Whether an always exit rule audits some syscall of the need (filters not compared)."""
    if not _selects(rule):
        return False
    calls = _syscalls_of(rule, machine)
    return calls is None or need.syscalls is None or bool(calls & need.syscalls)


def _serves(rule: AuditRule, need: Need, machine: str) -> bool:
    if not _audits(rule, need, machine):
        return False
    wanted = [Field(f.field, f.op, f.value).meaning(machine) for f in need.filters]
    filters = _filters_of(rule, machine)
    on_path = any(name in PATH_FIELDS for name, _op, _value in filters)
    if need.syscalls is None and _syscalls_of(rule, machine) is not None and not on_path:
        return False  # a need of any syscall on a path: chosen syscalls serve it only there
    return not any(_contradicts(f, wanted) for f in filters)


def _contradicts(
    rule_filter: tuple[str, str, int | str], wanted: list[tuple[str, str, int | str]]
) -> bool:
    name, op, value = rule_filter
    if name in PATH_FIELDS:
        paths = [str(v) for f, _, v in wanted if f in PATH_FIELDS]
        if op != "=" or not paths:
            return False
        return not any(_related(path, str(value)) for path in paths)
    same = [v for f, o, v in wanted if f == name and o == "="]
    return op == "=" and bool(same) and all(v != value for v in same)


def _related(one: str, other: str) -> bool:
    one, other = posixpath.normpath(one), posixpath.normpath(other)
    return one == other or one.startswith(other + "/") or other.startswith(one + "/")


# --- report ---------------------------------------------------------------------------------


def report_lines(result: CheckResult, root: str = "") -> Iterator[str]:
    def name(rule: Rule) -> str:
        source = rule.source.source
        return source[len(root) + 1 :] if root and source.startswith(root + "/") else source

    for problem in result.problems:
        yield f"PROBLEM {problem}"
    for finding in result.blind:
        evidence = f"0 of {finding.samples} sample events" if finding.samples else "derivation"
        yield f"BLIND {name(finding.rule)}: {finding.rule.title} ({evidence})"
        yield from (f"  why: {reason}" for reason in finding.reasons[:3])
    for finding in result.partly:
        counts = f"{finding.emitted} of {finding.samples} sample events"
        yield f"PARTLY {name(finding.rule)}: {finding.rule.title} ({counts})"
        yield from (f"  why: {reason}" for reason in finding.reasons[:3])
    for rule in result.unused:
        yield f"UNUSED {write_item(rule)}"
    total = len(result.findings)
    seeing = total - len(result.blind)
    yield (
        f"{seeing} of {total} detections can fire, {len(result.partly)} partly blind, "
        f"{len(result.unused)} rules serve no detection, {len(result.problems)} lines not loadable"
    )
