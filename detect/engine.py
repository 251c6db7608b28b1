"""Where the audit side and the Sigma side meet: which rules see which view of an event.

A rule's logsource decides its view (DESIGN §3): `product: linux, service: auditd` rules are
tested on each record's view and alert once per event when any record matches; `product:
linux, category: X` rules are tested on the event's X view when the event offers one. Other
logsources (sshd, sudo, syslog, other products) are not audit data: such rules are loaded and
listed as not applicable, never run.

Record rules are split by the record types they require (`type: EXECVE`); each type, and the
rules that require none, has its own rule index, so a record of a type no rule names costs a
dictionary lookup. Which rules can care about a record is decided before any view is built
(DESIGN §9): per record type, a `RecordPlan` says where each field an index reads comes from
(the SYSCALL context, once per event; the record's own fields, only those its type can carry;
`type`, fixed), and a record's lazy `RecordView` is built only when it has candidate rules.
Category views likewise: a `CategoryProbe` answers the few fields a category's index reads,
and the view is built only for events with candidate rules.

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
from typing import Final

from sigma.exceptions import SigmaError
from sigma.rule import SigmaRule

from detect.auditd import interpret
from detect.auditd.categories import CategoryProbe, event_categories, load_categories
from detect.auditd.event import AuditEvent
from detect.auditd.record import Record
from detect.auditd.views import RecordView, SyscallContext, record_sources, syscall_view
from detect.proctree.chain import CHAIN_KEY, Chain, ChainError, Step, parse_chain
from detect.proctree.tree import ProcessTree
from detect.resources import ROOT
from detect.rules.compile import CompileError, compile_rule
from detect.rules.condition import AllOf, AnyOf, FieldTest, Node, Predicate
from detect.rules.index import Bucket, RuleIndex, best_clause, requirements, restrict
from detect.rules.load import load_rules
from detect.rules.model import Rule, RuleError, RuleSet
from detect.rules.pipeline import prepare

DEFAULT_RULES = ROOT / "detections"
RECORD_INDEX_FIELDS: Final = ("SYSCALL", "exe", "comm", "a0", "name", "key")
CATEGORY_INDEX_FIELDS: Final = ("process.executable", "auditd.syscall", "process.name", "file.path")
TYPE_FIELD: Final = "type"
SYSCALL_FIELD: Final = "SYSCALL"
# The syscalls most audit events are (DESIGN §9: mostly open() calls, PATH records of each): a
# rule that also tests another field is better indexed by that field (`without_common_syscalls`)
COMMON_SYSCALLS: Final = frozenset(("open", "openat", "openat2", "creat"))
TYPE_REQUIREMENT: Final = (TYPE_FIELD, "value")
RECORD_VIEW: Final = "auditd"
MAX_PLANNED_TYPES: Final = 4096  # record types whose plans are kept
LABEL_KEY: Final = "process_label"


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
    index = RuleIndex(any_type, RECORD_INDEX_FIELDS, _clause_plan) if any_type else None
    return indexes, index


def _restricted_to(record_type: str) -> Callable[[Rule], Node]:
    """A rule's plan for records of one type: `1 of selection_*` over several record types
    keeps, per type, only its branches for that type, and so gets indexed by their fields;
    its tests of `type` say nothing more there (every record of the index has that type), so
    they are left out and the rule is filed under another field's keys."""

    def plan_of(rule: Rule) -> Node:
        restricted = restrict(rule.plan, TYPE_FIELD, record_type.lower()) or rule.plan
        typeless = without_type(restricted)
        return restricted if typeless is None else without_common_syscalls(typeless)

    return plan_of


def without_type(node: Node) -> Node | None:
    """`node` with its tests of `type` left out of ANDs and ORs (None: nothing is left, the
    node may hold for any record). Sound for finding clauses as `without_common_syscalls` is:
    leaving out a part of an AND, or all of an OR, only widens what the node accepts."""
    if isinstance(node, FieldTest):
        return None if node.field == TYPE_FIELD else node
    if isinstance(node, AllOf):
        kept = [child for child in map(without_type, node.children) if child is not None]
        return None if not kept else kept[0] if len(kept) == 1 else AllOf(tuple(kept))
    if isinstance(node, AnyOf):
        children = [without_type(child) for child in node.children]
        if any(child is None for child in children):
            return None
        return AnyOf(tuple(child for child in children if child is not None))
    return node


def _clause_plan(rule: Rule) -> Node:
    return without_common_syscalls(rule.plan)


def without_common_syscalls(node: Node) -> Node:
    """`node` for finding a record rule's index clause: in each AND, a test that the syscall
    may be one of COMMON_SYSCALLS is left out when another part, on another field than `type`, can
    index the rule, so that the rule is filed under that part's keys (`name|startswith:
    /home/`) rather than under syscalls most events have. Sound: leaving out a part of an AND
    (never under a NOT) only widens what the node accepts, so a clause that must hold for the
    result to hold must hold for the rule to match. Only for finding clauses."""
    if isinstance(node, AnyOf):
        return AnyOf(tuple(without_common_syscalls(child) for child in node.children))
    if not isinstance(node, AllOf):
        return node
    children = tuple(without_common_syscalls(child) for child in node.children)
    kept = tuple(child for child in children if not _common_syscall_test(child))
    if len(kept) < len(children) and any(_indexable(child) for child in kept):
        return kept[0] if len(kept) == 1 else AllOf(kept)
    return AllOf(children)


def _common_syscall_test(node: Node) -> bool:
    if not isinstance(node, FieldTest) or node.field != SYSCALL_FIELD:
        return False
    names = node.spec.keys.get("value")
    return names is not None and not names.isdisjoint(COMMON_SYSCALLS)


def _indexable(node: Node) -> bool:
    """Whether `node` gives a clause on some field other than `type`."""
    clause = best_clause(node, _type_last)
    return clause is not None and any(field != TYPE_FIELD for field, _ in clause)


def _type_last(atom: tuple[str, str]) -> tuple[int, int]:
    return int(atom[0] == TYPE_FIELD), 0


@dataclass(frozen=True, slots=True)
class Match:
    rule: Rule
    event: AuditEvent
    view: str  # `auditd` or the category


class RecordPlan:
    """Where one record index finds the fields it reads on records of one type, decided once
    per type and per kind of event, with or without a SYSCALL record (DESIGN §9;
    `record_sources`): the context fields, read once per event from the SYSCALL record;
    `type`, the same for every record of the type (`fixed`: its hits); the record's own
    fields, only those its type can carry; other fields, asked of its view. A plan with
    neither own nor other fields (`constant`) has the same candidates on every record of the
    type in an event, and so do the constant plans of an index without `type` hits on all the
    auxiliary records of an event (`shared`: the key of these candidates in an event). Records
    of other types are looked up through their view (`direct` is False: `candidates`)."""

    __slots__ = ("constant", "context", "direct", "fixed", "index", "other", "own", "shared")

    def __init__(self, index: RuleIndex, record_type: str, context: bool) -> None:
        self.index = index
        sources = record_sources(record_type, index.fields, context)
        self.direct = sources is not None
        self.context, self.own, other = sources or ((), (), ())
        fixed: list[Bucket] = []
        if TYPE_FIELD in other:
            index.hits(TYPE_FIELD, record_type, fixed)
        self.fixed = tuple(fixed)
        self.other = tuple(name for name in other if name != TYPE_FIELD)
        self.constant = self.direct and not (self.own or self.other)
        # the plans of auxiliary records (those with context fields) share the context's hits
        self.shared = id(index) if self.context and not fixed else id(self)


class RecordPass:
    """One event's records through the record indexes; what its records share (the SYSCALL
    record's view and context, the context's hits per index, argv) is computed once, when
    first needed, and a record's view only when something must read it."""

    __slots__ = ("_constant", "_context", "_hits", "_matched", "_view", "event", "syscall")

    def __init__(self, event: AuditEvent, syscall: RecordView | None) -> None:
        self.event = event
        self.syscall = syscall
        self._context: SyscallContext | None = None
        self._hits: dict[int, list[Bucket]] = {}  # per index: the context's hits
        self._constant: dict[int, Sequence[Rule]] = {}  # by `RecordPlan.shared`: candidates
        self._matched: set[int] = set()
        self._view: RecordView | None = None

    def candidates(self, plan: RecordPlan, record: Record) -> Sequence[Rule]:
        """`plan.index.candidates(view)` for the record's view, without building it unless
        the plan must ask it."""
        index = plan.index
        if plan.constant:
            found = self._constant.get(plan.shared)
            if found is None:
                found = self._constant[plan.shared] = index.select(self._shared_hits(plan))
            return found
        if not plan.direct:
            return index.candidates(self.view(record))
        hits = self._shared_hits(plan) if plan.context else [*plan.fixed]
        fields = record.fields
        for name in plan.own:
            index.hits(name, fields.get(name), hits)
        if plan.other:
            view = self.view(record)
            for name in plan.other:
                index.hits(name, view.get(name), hits)
        return index.select(hits)

    def _shared_hits(self, plan: RecordPlan) -> list[Bucket]:
        """A new list of the buckets every record of the plan's type reaches in its index:
        its type's, and the SYSCALL context's (the same in every plan of the index that has
        context fields: those of the index's fields, found once per event)."""
        if not plan.context:
            return [*plan.fixed]
        index = plan.index
        hits = self._hits.get(id(index))
        if hits is None:
            hits = self._hits[id(index)] = []
            syscall = self.syscall
            if syscall is not None:
                for name in plan.context:
                    index.hits(name, syscall.context_get(name), hits)
        return [*hits, *plan.fixed]

    def first_match(self, rule: Rule, record: Record) -> bool:
        """True when `rule` matches the record and matched no earlier record of the event."""
        if id(rule) in self._matched or not rule.match(self.view(record)):
            return False
        self._matched.add(id(rule))
        return True

    def view(self, record: Record) -> RecordView:
        """The record's view, built once (the SYSCALL record's is the event's)."""
        view = self._view
        if view is not None and view.record is record:
            return view
        syscall = self.syscall
        if syscall is not None and record is syscall.record:
            view = syscall
        else:
            if self._context is None and syscall is not None:
                self._context = SyscallContext(syscall)
            argv = interpret.execve_argv(self.event) if record.type == "EXECVE" else None
            view = RecordView(record, self._context, argv, self.event.process)
        self._view = view
        return view


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
        # per record type, made on first use: in events with a SYSCALL record, and without
        self._plans: dict[str, tuple[RecordPlan, ...]] = {}
        self._bare_plans: dict[str, tuple[RecordPlan, ...]] = {}
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
                for rule in records.candidates(plan, record):
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
        for name, kinds in event_categories(event).items():
            index = self.category_indexes.get(name)
            if index is None:
                continue
            view = CategoryProbe(event, name, kinds)
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
