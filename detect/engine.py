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

The engine owns a process tree (`tree`, on by default; None turns it off): each event is
observed by the tree before it is evaluated, so its views carry the tree fields
(`ParentImage`…). To reload rules keeping the tree: `Engine(new_rules, tree=old.tree)`.
Two top-level rule attributes use the tree (docs/process-tree.md): `chain:` (ancestors the
event's process must have, detect/proctree/chain.py; each step's selection is compiled here
like a rule of the same logsource) and `process_label:` (a label the matched process, and so
everything below it, gets). A rule whose chain is malformed is not run: `rejected` says why.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sigma.exceptions import SigmaError
from sigma.rule import SigmaRule

from detect.auditd import interpret
from detect.auditd.categories import category_views, load_categories
from detect.auditd.event import AuditEvent
from detect.auditd.views import RecordView, View, aux_field_sources, syscall_context, syscall_view
from detect.proctree.chain import CHAIN_KEY, Chain, ChainError, Step, parse_chain
from detect.proctree.tree import ProcessTree
from detect.resources import ROOT
from detect.rules.compile import CompileError, compile_rule
from detect.rules.condition import Node, Predicate
from detect.rules.index import Bucket, RuleIndex, requirements, restrict
from detect.rules.load import load_rules
from detect.rules.model import Rule, RuleError, RuleSet
from detect.rules.pipeline import prepare

DEFAULT_RULES = ROOT / "detections"
RECORD_INDEX_FIELDS = ("SYSCALL", "exe", "comm", "a0", "name", "key")
CATEGORY_INDEX_FIELDS = ("process.executable", "auditd.syscall", "process.name", "file.path")
TYPE_REQUIREMENT = ("type", "value")
RECORD_VIEW = "auditd"
LABEL_KEY = "process_label"


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
    tree: ProcessTree | None = field(default_factory=ProcessTree)
    rejected: list[RuleError] = field(default_factory=list)

    def __post_init__(self) -> None:
        record_rules: list[Rule] = []
        by_category: dict[str, list[Rule]] = {}
        self.chains: dict[int, Chain] = {}
        self.labels: dict[int, str] = {}
        for rule in self.rules:
            kind = view_of(rule)
            if kind is None:
                self.not_applicable.append(rule)
            elif not self._tree_attributes(rule, kind):
                continue
            elif kind == RECORD_VIEW:
                record_rules.append(rule)
            else:
                by_category.setdefault(kind, []).append(rule)
        self.type_indexes, self.any_type = split_by_type(record_rules)
        record_indexes = [*self.type_indexes.values(), *filter(None, [self.any_type])]
        self._sources = {id(index): aux_field_sources(index.fields) for index in record_indexes}
        self.category_indexes = {
            name: RuleIndex(rules, CATEGORY_INDEX_FIELDS) for name, rules in by_category.items()
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
        any_type = self.any_type
        context = syscall_context(event)
        syscall = syscall_view(event)
        process = event.process
        argv: list[str] | None = None
        matched: set[int] = set()
        shared: dict[int, list[Bucket]] = {}  # per index: the context's hits, once per event
        for record in event.records:
            index = self.type_indexes.get(record.type)
            if index is None and any_type is None:
                continue
            if record.type == "EXECVE" and argv is None:
                argv = interpret.execve_argv(event)
            if syscall is not None and record is syscall.record:
                view = syscall
            else:
                view = RecordView(record, context, argv, process)
            for found in (index, any_type):
                if found is None:
                    continue
                if view.auxiliary:
                    candidates = self._auxiliary(found, view, context, shared)
                else:
                    candidates = found.candidates(view)
                for rule in candidates:
                    if id(rule) not in matched and rule.match(view):
                        matched.add(id(rule))
                        matches.append(Match(rule, event, RECORD_VIEW))

    def _auxiliary(
        self,
        index: RuleIndex,
        view: RecordView,
        context: View | None,
        shared: dict[int, list[Bucket]],
    ) -> Sequence[Rule]:
        """`index.candidates(view)` for an auxiliary record, the context's part done once per
        event and the record's own fields read straight from the record."""
        in_context, own, other = self._sources[id(index)]
        hits = shared.get(id(index))
        if hits is None:
            hits = shared[id(index)] = []
            for name in in_context:
                index.hits(name, context.get(name) if context else None, hits)
        if not (own or other):
            return index.select(hits)
        hits = hits.copy()
        fields = view.record.fields
        for name in own:
            index.hits(name, fields.get(name), hits)
        for name in other:
            index.hits(name, view.get(name), hits)
        return index.select(hits)

    def _categories(self, event: AuditEvent, matches: list[Match]) -> None:
        for name, view in category_views(event).items():
            index = self.category_indexes.get(name)
            if index is None:
                continue
            for rule in index.candidates(view):
                if rule.match(view):
                    matches.append(Match(rule, event, name))


def tree_attributes(rule: Rule, kind: str) -> tuple[Chain | None, str | None]:
    """The rule's `chain:` compiled and its `process_label:` read (None when absent); a
    ChainError, with the YAML path, when either is malformed."""
    attributes = rule.sigma.custom_attributes
    chain = compile_chain(attributes[CHAIN_KEY], kind) if CHAIN_KEY in attributes else None
    label = attributes.get(LABEL_KEY)
    if label is not None and (not isinstance(label, str) or not label):
        raise ChainError("expected a label name", (LABEL_KEY,))
    return chain, label


def compile_chain(data: object, kind: str) -> Chain:
    """A rule's `chain:` compiled: each step's selection as a rule of the same logsource."""
    steps = parse_chain(data)
    return Chain(
        tuple(
            Step(_step_test(spec.selection, kind, index), spec.max_distance)
            for index, spec in enumerate(steps)
        )
    )


def _step_test(selection: object, kind: str, index: int) -> Predicate:
    source = {"product": "linux", "category": kind}
    if kind == RECORD_VIEW:
        raise ChainError("chains need a category view (e.g. process_creation)")
    rule = {
        "title": f"chain step {index}",
        "logsource": source,
        "detection": {"selection": selection, "condition": "selection"},
    }
    try:
        return compile_rule(prepare(SigmaRule.from_dict(rule))).match
    except (CompileError, SigmaError) as error:
        raise ChainError(f"selection: {error}", (CHAIN_KEY, index)) from None
