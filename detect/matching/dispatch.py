"""Which rules see which view of an event, and the rule indexes that find them (DESIGN §3, §9).

A rule's logsource decides its view: `product: linux, service: auditd` rules are tested on each
record's view and alert once per event when any record matches; `product: linux, category: X`
rules are tested on the event's X view when the event offers one. Other logsources (sshd, sudo,
syslog, other products) are not audit data: such rules are loaded and listed as not
applicable, never run.

Record rules are split by the record types they require (`type: EXECVE`); each type, and the
rules that require none, has its own rule index, so a record of a type no rule names costs a
dictionary lookup.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from detect.sigma.condition import AllOf, AnyOf, FieldTest, Node
from detect.sigma.index import RuleIndex, best_clause, requirements, restrict
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
