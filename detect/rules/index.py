"""The rule index: a view is only tested against the rules that can match it.

For each rule, `requirements()` reads its compiled condition tree and finds the literal values
some field must hold for the rule to match: `type: EXECVE` in every branch, `SYSCALL` in a
set, a key equality. Of the fields the engine calls cheap (`index_fields`, in order of
preference), the first one the rule requires is its bucket field, and the rule is filed under
each value it accepts there. A field is required by equality (`type: EXECVE`), for
path-like fields by its basename (`Image|endswith: /bash` needs the part after the last `/`
to be `bash`), or by its first PREFIX_LENGTH characters (`name|startswith: /etc/sudoers`;
an equality gives its prefix too, so that an OR of both still requires one). Rules that
require none of them are tested on every view.

Soundness: a rule is skipped only when the view's values for its bucket field (every element
of a list value) miss all of the rule's accepted values. Requirements are found so that this
is never wrong: an AND takes one child's set for a field (list values mean two children may be
satisfied by different elements, so sets are not intersected), an OR requires a field only
when every branch does (union of sets), a NOT requires nothing, and only equality,
`endswith: /name` and long enough `startswith` tests produce keys (`ValueSpec.keys` in
`values.py`), computed on the view's values by the same key functions (`KEY_FUNCTIONS`: the
lowercased value, its basename, or its prefix).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from detect.rules.condition import AllOf, AnyOf, FieldTest, Node, View
from detect.rules.model import Rule
from detect.rules.values import KEY_FUNCTIONS

Requirement = tuple[str, str]  # (field, index key function name)
Requirements = dict[Requirement, frozenset[str]]
KEY_PREFERENCE = ("value", "basename", "prefix")  # per field: equality first


def requirements(node: Node) -> Requirements:
    """For each (field, key function): the set some value's key must be in for `node` to hold."""
    if isinstance(node, FieldTest):
        return {(node.field, name): keys for name, keys in node.spec.keys.items()}
    if isinstance(node, AllOf):
        return _all_requirements([requirements(child) for child in node.children])
    if isinstance(node, AnyOf):
        return _any_requirements([requirements(child) for child in node.children])
    return {}


def restrict(node: Node, field: str, key: str) -> Node | None:
    """`node` for views whose single value of `field` has the index key `key` (e.g. records of
    one type): equality tests of `field` that exclude it become false (None), and OR branches
    that cannot hold are dropped. Only for finding requirements; matching uses the whole rule."""
    if isinstance(node, FieldTest):
        keys = node.spec.keys.get("value")
        return None if node.field == field and keys is not None and key not in keys else node
    if isinstance(node, AllOf):
        children = [restrict(child, field, key) for child in node.children]
        kept = [child for child in children if child is not None]
        return AllOf(tuple(kept)) if len(kept) == len(children) else None
    if isinstance(node, AnyOf):
        kept = [c for c in (restrict(child, field, key) for child in node.children) if c]
        return None if not kept else kept[0] if len(kept) == 1 else AnyOf(tuple(kept))
    return node


def _all_requirements(parts: list[Requirements]) -> Requirements:
    merged: Requirements = {}
    for part in parts:
        for requirement, keys in part.items():
            known = merged.get(requirement)
            if known is None or len(keys) < len(known):
                merged[requirement] = keys
    return merged


def _any_requirements(parts: list[Requirements]) -> Requirements:
    common = set(parts[0]).intersection(*parts[1:])
    return {req: frozenset().union(*(part[req] for part in parts)) for req in common}


Bucket = tuple[tuple[int, ...], tuple[Rule, ...]]


class RuleIndex:
    """Rules bucketed by one required field each; `candidates(view)` keeps rule order."""

    def __init__(
        self,
        rules: Iterable[Rule],
        index_fields: Sequence[str],
        plan_of: Callable[[Rule], Node] | None = None,
    ) -> None:
        """`plan_of` gives the condition tree to find each rule's requirements in (default:
        `rule.plan`; e.g. the plan restricted to one record type)."""
        self.rules: tuple[Rule, ...] = tuple(rules)
        self.index_fields = tuple(index_fields)
        self.bucket_of: dict[int, Requirement | None] = {}
        always: list[int] = []
        ordinals: dict[Requirement, dict[str, list[int]]] = {}
        for ordinal, rule in enumerate(self.rules):
            plan = rule.plan if plan_of is None else plan_of(rule)
            requirement, keys = self._choose(requirements(plan))
            self.bucket_of[ordinal] = requirement
            if requirement is None:
                always.append(ordinal)
                continue
            table = ordinals.setdefault(requirement, {})
            for key in keys:
                table.setdefault(key, []).append(ordinal)
        self._always_ordinals = tuple(always)
        self.always: tuple[Rule, ...] = tuple(self.rules[i] for i in always)
        self._tables = tuple(
            (field, KEY_FUNCTIONS[name], {key: self._bucket(found) for key, found in table.items()})
            for (field, name), table in ordinals.items()
        )

    def _choose(self, found: Requirements) -> tuple[Requirement | None, frozenset[str]]:
        for field in self.index_fields:
            for name in KEY_PREFERENCE:
                keys = found.get((field, name))
                if keys:
                    return (field, name), keys
        return None, frozenset()

    def _bucket(self, found: list[int]) -> Bucket:
        """A bucket's own ordinals, and its rules merged with the unindexed ones, in order."""
        merged = sorted(set(found).union(self._always_ordinals))
        return tuple(found), tuple(self.rules[i] for i in merged)

    def candidates(self, view: View) -> Sequence[Rule]:
        """The rules that can match `view`, in load order; never misses a rule that matches."""
        first: Bucket | None = None
        more: list[tuple[int, ...]] | None = None
        for field, key_of, table in self._tables:
            value = view.get(field)
            if value is None:
                continue
            items = value if type(value) is list else (value,)
            for item in items:
                if item is None:
                    continue
                bucket = table.get(key_of(item))
                if bucket is None or bucket is first:
                    continue
                if first is None:
                    first = bucket
                else:
                    more = more or []
                    more.append(bucket[0])
        if first is None:
            return self.always
        if more is None:
            return first[1]
        return self._union(first[0], more)

    def _union(self, first: tuple[int, ...], more: list[tuple[int, ...]]) -> tuple[Rule, ...]:
        chosen = set(self._always_ordinals).union(first, *more)
        return tuple(self.rules[i] for i in sorted(chosen))
