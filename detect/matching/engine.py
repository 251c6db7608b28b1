"""The engine: evaluates each event against the rules, through the dispatch of rules to views
(`dispatch`), the record plans (`plans`) and the category probes; the process tree observes each
event first, so its views carry the tree fields (`ParentImage`…).

Category views: a `CategoryProbe` answers the few fields a category's index reads, and the view
is built only for events with candidate rules. The engine owns a process tree (`tree`, on by
default; None turns it off). To reload rules keeping the tree: `Engine(new_rules,
tree=old.tree)`. Two top-level rule attributes use the tree (docs/process-tree.md, `chains`):
`chain:` (ancestors the event's process must have) and `process_label:` (a label the matched
process, and so everything below it, gets). A rule whose chain is malformed is not run:
`rejected` says why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from detect.auditd.event import AuditEvent
from detect.matching.chains import Chain, ChainError, tree_attributes
from detect.matching.dispatch import (
    RECORD_VIEW,
    Clauses,
    category_index,
    hinted_clauses,
    split_by_type,
    view_of,
)
from detect.matching.plans import RecordPass, RecordPlan
from detect.proctree.tree import ProcessTree
from detect.sigma.index import Bucket, RuleIndex
from detect.sigma.model import Rule, RuleError
from detect.views.category import CategoryProbe, categories_of
from detect.views.record import syscall_view

MAX_PLANNED_TYPES: Final = 4096  # record types whose plans are kept


@dataclass(frozen=True, slots=True)
class Match:
    rule: Rule
    event: AuditEvent
    view: str  # `auditd` or the category


class Dispatch:
    """What an engine derives from its rules alone, built once per rule set: each rule's
    view, its compiled `chain:` and `process_label:`, the rule indexes, and the record plans
    made on first use. Engines over the same rules share it (`dispatch_of`): a scan
    partitioned by host builds one engine per host, each with its own process tree, and the
    indexes of thousands of rules are not built again for each (their value caches only
    remember what a pure function gave)."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = tuple(rules)
        self.not_applicable: list[Rule] = []
        self.rejected: list[RuleError] = []
        self.chains: dict[int, Chain] = {}
        self.labels: dict[int, str] = {}
        record_rules: list[Rule] = []
        by_category: dict[str, list[Rule]] = {}
        hinted: dict[int, Clauses] = {}  # the clauses stored with rules from the cache
        for rule in self.rules:
            kind = view_of(rule)
            if kind is None:
                self.not_applicable.append(rule)
                continue
            if not self._tree_attributes(rule, kind):
                continue
            clauses = hinted_clauses(rule, kind)
            if clauses is not None:
                hinted[id(rule)] = clauses
            if kind == RECORD_VIEW:
                record_rules.append(rule)
            else:
                by_category.setdefault(kind, []).append(rule)
        self.type_indexes, self.any_type = split_by_type(record_rules, hinted)
        # per record type, made on first use: in events with a SYSCALL record, and without
        self.plans: dict[str, tuple[RecordPlan, ...]] = {}
        self.bare_plans: dict[str, tuple[RecordPlan, ...]] = {}
        self.category_indexes = {
            name: category_index(name, rules, hinted) for name, rules in by_category.items()
        }
        self.has_record_rules = bool(record_rules)
        self.tree_rules = bool(self.chains or self.labels)

    def _tree_attributes(self, rule: Rule, kind: str) -> bool:
        """Compile the rule's `chain:` and read its `process_label:`; False when invalid."""
        try:
            chain, label = tree_attributes(rule, kind)
        except ChainError as error:
            self.rejected.append(RuleError(str(error), rule.source, rule.title))
            return False
        if chain is not None:
            self.chains[id(rule)] = chain
        if label is not None:
            self.labels[id(rule)] = label
        return True

    def serves(self, rules: Sequence[Rule]) -> bool:
        """Whether this was built from exactly these rule objects, in this order."""
        mine = self.rules
        return len(mine) == len(rules) and all(a is b for a, b in zip(mine, rules, strict=True))


_LAST: list[Dispatch] = []  # the dispatch built last: engines over the same rules share it


def dispatch_of(rules: Sequence[Rule]) -> Dispatch:
    """The dispatch of `rules`: the last one built when it was built from the same rule
    objects (a scan's engines, one per host), else a new one."""
    if _LAST and _LAST[0].serves(rules):
        return _LAST[0]
    dispatch = Dispatch(rules)
    _LAST[:] = [dispatch]
    return dispatch


@dataclass
class Engine:
    """Evaluates events against rules; `evaluate(event)` returns the rules that match it."""

    rules: Sequence[Rule]
    not_applicable: list[Rule] = field(default_factory=list)
    tree: ProcessTree | None = field(default_factory=ProcessTree)
    rejected: list[RuleError] = field(default_factory=list)

    def __post_init__(self) -> None:
        dispatch = dispatch_of(self.rules)
        self.not_applicable.extend(dispatch.not_applicable)
        self.rejected.extend(dispatch.rejected)
        self.chains = dispatch.chains
        self.labels = dispatch.labels
        self.type_indexes, self.any_type = dispatch.type_indexes, dispatch.any_type
        self._plans = dispatch.plans
        self._bare_plans = dispatch.bare_plans
        self.category_indexes = dispatch.category_indexes
        self.has_record_rules = dispatch.has_record_rules
        self.tree_rules = dispatch.tree_rules

    @property
    def applicable(self) -> int:
        return len(self.rules) - len(self.not_applicable) - len(self.rejected)

    def evaluate(self, event: AuditEvent) -> list[Match]:
        if self.tree is not None:
            self.tree.observe(event)
        matches: list[Match] = []
        if self.has_record_rules:
            self._records(event, matches)
        if self.category_indexes:
            self._categories(event, matches)
        if self.tree_rules and matches:
            return self._tree_rules(event, matches)
        return matches

    def _tree_rules(self, event: AuditEvent, matches: list[Match]) -> list[Match]:
        """Matches whose chain holds; the labels of matched rules given to the process."""
        process = event.process
        kept: list[Match] = []
        for match in matches:
            chain = self.chains.get(id(match.rule))
            if chain is not None and chain.find(process) is None:
                continue
            kept.append(match)
            label = self.labels.get(id(match.rule))
            if label is not None and process is not None and self.tree is not None:
                self.tree.label(process, label)
        return kept

    def _records(self, event: AuditEvent, matches: list[Match]) -> None:
        """Each record through the plans of its type; a record's view is built only when the
        record has candidate rules (or a plan asks it for a field)."""
        syscall = syscall_view(event)
        records = RecordPass(event, syscall)
        plans_of = self._plans if syscall is not None else self._bare_plans
        for record in event.records:
            plans = plans_of.get(record.type)
            if plans is None:
                plans = self._plans_for(record.type, syscall is not None)
                if len(plans_of) < MAX_PLANNED_TYPES:  # garbage can invent endless types
                    plans_of[record.type] = plans
            for plan in plans:
                found = records.candidates(plan, record)
                if found:
                    for rule in found:
                        if records.first_match(rule, record):
                            matches.append(Match(rule, event, RECORD_VIEW))

    def _plans_for(self, record_type: str, context: bool) -> tuple[RecordPlan, ...]:
        """The plans of the indexes a record of `record_type` goes through (made once)."""
        indexes = (self.type_indexes.get(record_type), self.any_type)
        found = (RecordPlan(index, record_type, context) for index in indexes if index is not None)
        return tuple(found)

    def _categories(self, event: AuditEvent, matches: list[Match]) -> None:
        """Each category view the event offers and some rule reads is looked up field by
        field (`CategoryProbe`): by the index, then by the candidate rules; the whole view is
        built only when one of them reads a field the probe does not compute."""
        syscall = syscall_view(event)
        record = syscall.record if syscall is not None else None
        for name, kinds in categories_of(event, record).items():
            index = self.category_indexes.get(name)
            if index is None:
                continue
            view = CategoryProbe(event, name, kinds, record)
            for rule in _probe_candidates(index, view):
                if rule.match(view):
                    matches.append(Match(rule, event, name))


def _probe_candidates(index: RuleIndex, probe: CategoryProbe) -> tuple[Rule, ...]:
    """`index.candidates(probe)`, the probe asked field by field (a native call each, and no
    list made when no field reaches a bucket)."""
    hits: list[Bucket] | None = None
    for table in index.tables:
        value = probe.get(table.field)
        if value is not None:
            if hits is None:
                hits = []
            table.collect(value, hits)
    return index.always if hits is None else index.select(hits)
