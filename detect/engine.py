"""Where the audit side and the Sigma side meet: which rules see which view of an event.

A rule's logsource decides its view (DESIGN §3): `product: linux, service: auditd` rules are
tested on each record's view and alert once per event when any record matches; `product:
linux, category: X` rules are tested on the event's X view when the event offers one. Other
logsources (sshd, sudo, syslog, other products) are not audit data: such rules are loaded and
listed as not applicable, never run.

Record rules are split by the record types they require (`type: EXECVE`); each type, and the
rules that require none, has its own rule index, so a record of a type no rule names costs a
dictionary lookup. A record's view is a lazy `RecordView`: the index asks it for a few
fields, and only the candidate rules look further.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from detect.auditd import interpret
from detect.auditd.categories import category_views, load_categories
from detect.auditd.event import AuditEvent
from detect.auditd.views import RecordView, syscall_context
from detect.resources import ROOT
from detect.rules.condition import Node
from detect.rules.index import RuleIndex, requirements, restrict
from detect.rules.load import load_rules
from detect.rules.model import Rule, RuleSet
from detect.rules.pipeline import prepare

DEFAULT_RULES = ROOT / "detections"
RECORD_INDEX_FIELDS = ("SYSCALL", "exe", "comm", "a0", "name", "key")
CATEGORY_INDEX_FIELDS = ("process.executable", "auditd.syscall", "process.name", "file.path")
TYPE_REQUIREMENT = ("type", "value")
RECORD_VIEW = "auditd"


def load_detections(paths: Iterable[str | Path] = (), *, default: bool = True) -> RuleSet:
    """Rules from `paths`, after the shipped detections unless `default` is False; field
    names mapped onto the views (mappings/sigma)."""
    chosen = [*([DEFAULT_RULES] if default else []), *paths]
    return load_rules(chosen, prepare=prepare)


def view_of(rule: Rule) -> str | None:
    """`auditd` (record view), a category name, or None when audit logs cannot feed the rule."""
    source = rule.logsource
    if source.product not in (None, "linux"):
        return None
    if source.service == "auditd" and source.category is None:
        return RECORD_VIEW
    if source.service is None and source.category in load_categories().names:
        return source.category
    return None


def not_applicable_reason(rule: Rule) -> str:
    source = rule.logsource
    named = (
        ("product", source.product),
        ("category", source.category),
        ("service", source.service),
    )
    parts = [f"{key}: {value}" for key, value in named if value is not None]
    return f"logsource {{{', '.join(parts)}}} is not produced from audit logs"


def split_by_type(rules: list[Rule]) -> tuple[dict[str, RuleIndex], RuleIndex | None]:
    """An index per record type for the rules that require types, one for the others."""
    by_type: dict[str, list[Rule]] = {}
    any_type: list[Rule] = []
    for rule in rules:
        types = requirements(rule.plan).get(TYPE_REQUIREMENT)
        if not types:
            any_type.append(rule)
        for name in types or ():
            by_type.setdefault(name.upper(), []).append(rule)
    indexes = {
        name: RuleIndex(found, RECORD_INDEX_FIELDS, _restricted_to(name))
        for name, found in by_type.items()
    }
    return indexes, RuleIndex(any_type, RECORD_INDEX_FIELDS) if any_type else None


def _restricted_to(record_type: str) -> Callable[[Rule], Node]:
    """A rule's plan for records of one type: `1 of selection_*` over several record types
    keeps, per type, only its branches for that type, and so gets indexed by their fields."""

    def plan_of(rule: Rule) -> Node:
        return restrict(rule.plan, "type", record_type.lower()) or rule.plan

    return plan_of


@dataclass(frozen=True, slots=True)
class Match:
    rule: Rule
    event: AuditEvent
    view: str  # `auditd` or the category


@dataclass
class Engine:
    """Evaluates events against rules; `evaluate(event)` returns the rules that match it."""

    rules: Sequence[Rule]
    not_applicable: list[Rule] = field(default_factory=list)

    def __post_init__(self) -> None:
        record_rules: list[Rule] = []
        by_category: dict[str, list[Rule]] = {}
        for rule in self.rules:
            kind = view_of(rule)
            if kind is None:
                self.not_applicable.append(rule)
            elif kind == RECORD_VIEW:
                record_rules.append(rule)
            else:
                by_category.setdefault(kind, []).append(rule)
        self.type_indexes, self.any_type = split_by_type(record_rules)
        self.category_indexes = {
            name: RuleIndex(rules, CATEGORY_INDEX_FIELDS) for name, rules in by_category.items()
        }
        self.has_record_rules = bool(record_rules)

    @property
    def applicable(self) -> int:
        return len(self.rules) - len(self.not_applicable)

    def evaluate(self, event: AuditEvent) -> list[Match]:
        matches: list[Match] = []
        if self.has_record_rules:
            self._records(event, matches)
        if self.category_indexes:
            self._categories(event, matches)
        return matches

    def _records(self, event: AuditEvent, matches: list[Match]) -> None:
        any_type = self.any_type
        context = syscall_context(event)
        argv: list[str] | None = None
        matched: set[int] = set()
        for record in event.records:
            index = self.type_indexes.get(record.type)
            if index is None and any_type is None:
                continue
            if record.type == "EXECVE" and argv is None:
                argv = interpret.execve_argv(event)
            view = RecordView(record, context, argv)
            for found in (index, any_type):
                if found is None:
                    continue
                for rule in found.candidates(view):
                    if id(rule) not in matched and rule.match(view):
                        matched.add(id(rule))
                        matches.append(Match(rule, event, RECORD_VIEW))

    def _categories(self, event: AuditEvent, matches: list[Match]) -> None:
        for name, view in category_views(event).items():
            index = self.category_indexes.get(name)
            if index is None:
                continue
            for rule in index.candidates(view):
                if rule.match(view):
                    matches.append(Match(rule, event, name))
