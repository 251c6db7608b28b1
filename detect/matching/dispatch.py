"""Which rules see which view of an event, and the rule indexes that find them (DESIGN §3, §9).

A rule's logsource decides its view: `product: linux, service: auditd` rules are tested on each
record's view and alert once per event when any record matches; `product: linux, category: X`
rules are tested on the event's X view when the event offers one. Other logsources (sshd, sudo,
syslog, other products) are not audit data: such rules are loaded and listed as not
applicable, never run.

Record rules are split by the record types they require (`type: EXECVE`); each type, and the
rules that require none, has its own rule index, so a record of a type no rule names costs a
dictionary lookup.

A rule's clause in each index it is filed in is found in its plan (`record_clauses`,
`category_clause`), or read from the hints the cache of compiled rules stored with it
(`index_hints`, `hinted_clauses`: the same data, so a rule from the cache is indexed without
building its plan; this module's source versions them, pipeline.factory.index_hints).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from detect.sigma.condition import AllOf, AnyOf, FieldTest, Node
from detect.sigma.index import (
    KEY_PREFERENCE,
    Clause,
    RuleIndex,
    best_clause,
    field_rank,
    requirements,
    restrict,
)
from detect.sigma.model import Rule
from detect.views.category import load_categories

RECORD_INDEX_FIELDS: Final = ("SYSCALL", "exe", "comm", "a0", "name", "key")
CATEGORY_INDEX_FIELDS: Final = ("process.executable", "auditd.syscall", "process.name", "file.path")
TYPE_FIELD: Final = "type"
SYSCALL_FIELD: Final = "SYSCALL"
# The syscalls most audit events are (DESIGN §9: mostly open() calls, PATH records of each): a
# rule that also tests another field is better indexed by that field (`without_common_syscalls`)
COMMON_SYSCALLS: Final = frozenset(("open", "openat", "openat2", "creat"))
TYPE_REQUIREMENT: Final = (TYPE_FIELD, "value")
RECORD_VIEW: Final = "auditd"


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


ANY_TYPE: Final = ""  # the record index of the rules that require no record type
RECORD_RANK: Final = field_rank(RECORD_INDEX_FIELDS)
CATEGORY_RANK: Final = field_rank(CATEGORY_INDEX_FIELDS)
Clauses = dict[str, Clause | None]  # a rule's clause in each index it is filed in, by name


def split_by_type(
    rules: list[Rule], clauses: dict[int, Clauses] | None = None
) -> tuple[dict[str, RuleIndex], RuleIndex | None]:
    """An index per record type for the rules that require types, one for the others.
    `clauses`: each rule's (by `id`) as `record_clauses` gives them, where already known."""
    known = clauses if clauses is not None else {}
    by_type: dict[str, list[Rule]] = {}
    chosen: dict[str, dict[int, Clause | None]] = {}
    for rule in rules:
        mine = known.get(id(rule))
        for name, clause in (record_clauses(rule) if mine is None else mine).items():
            by_type.setdefault(name, []).append(rule)
            chosen.setdefault(name, {})[id(rule)] = clause
    any_type = by_type.pop(ANY_TYPE, [])
    indexes = {
        name: RuleIndex(found, RECORD_INDEX_FIELDS, _clause_in(chosen[name]))
        for name, found in by_type.items()
    }
    if not any_type:
        return indexes, None
    return indexes, RuleIndex(any_type, RECORD_INDEX_FIELDS, _clause_in(chosen[ANY_TYPE]))


def _clause_in(chosen: dict[int, Clause | None]) -> Callable[[Rule], Clause | None]:
    def clause_of(rule: Rule) -> Clause | None:
        return chosen[id(rule)]

    return clause_of


def record_clauses(rule: Rule) -> Clauses:
    """The record indexes a record rule is filed in, and its clause in each: one per record
    type it requires (`_restricted_to`), or ANY_TYPE."""
    types = requirements(rule.plan).get(TYPE_REQUIREMENT)
    if not types:
        return {ANY_TYPE: best_clause(without_common_syscalls(rule.plan), RECORD_RANK)}
    found: Clauses = {}
    for name in types:
        record_type = name.upper()
        found[record_type] = best_clause(_restricted_to(record_type)(rule), RECORD_RANK)
    return found


def category_index(kind: str, rules: list[Rule], clauses: dict[int, Clauses]) -> RuleIndex:
    """The index of a category's rules: each filed by its clause there, as `clauses` (by the
    rule's `id`) holds it, else found in its plan (`category_clause`)."""
    chosen: dict[int, Clause | None] = {}
    for rule in rules:
        mine = clauses.get(id(rule))
        chosen[id(rule)] = category_clause(rule) if mine is None else mine[kind]
    return RuleIndex(rules, CATEGORY_INDEX_FIELDS, _clause_in(chosen))


def category_clause(rule: Rule) -> Clause | None:
    """A category rule's clause in its category's index."""
    return best_clause(rule.plan, CATEGORY_RANK)


def index_hints(rule: Rule) -> object:
    """What `Dispatch` needs of the rule's plan (its view, and its clause in each index it is
    filed in), as JSON data: stored with the rule in the cache of compiled rules, so that a
    rule read back is indexed without building its plan (`hinted_clauses`). None for a rule
    no view feeds."""
    kind = view_of(rule)
    if kind is None:
        return None
    clauses = record_clauses(rule) if kind == RECORD_VIEW else {kind: category_clause(rule)}
    data = [[name, None if c is None else _clause_data(c)] for name, c in clauses.items()]
    return {"view": kind, "clauses": data}


def _clause_data(clause: Clause) -> list[list[object]]:
    return [[field, name, sorted(keys)] for (field, name), keys in clause.items()]


def hinted_clauses(rule: Rule, kind: str) -> Clauses | None:
    """The clauses stored with the rule (`index_hints`) when they are for `kind` and as
    `index_hints` writes them; else None (they are found in the plan)."""
    hints = rule.hints
    if type(hints) is not dict or hints.get("view") != kind:
        return None
    data = hints.get("clauses")
    if type(data) is not list or not data:
        return None
    found: Clauses = {}
    for item in data:
        if type(item) is not list or len(item) != 2 or type(item[0]) is not str:
            return None
        name, atoms = item
        if atoms is None:
            found[name] = None
            continue
        clause = _clause_of(atoms)
        if clause is None:
            return None
        found[name] = clause
    if kind != RECORD_VIEW and list(found) != [kind]:
        return None
    return found


def _clause_of(atoms: object) -> Clause | None:
    """A clause as `_clause_data` writes it, or None when it is not one."""
    if type(atoms) is not list or not atoms:
        return None
    clause: Clause = {}
    for atom in atoms:
        if type(atom) is not list or len(atom) != 3:
            return None
        field, name, keys = atom
        if type(field) is not str or name not in KEY_PREFERENCE or type(keys) is not list:
            return None
        for key in keys:
            if type(key) is not str:
                return None
        clause[(field, name)] = frozenset(keys)
    return clause


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
