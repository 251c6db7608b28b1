"""The compiled condition: a small tree of typed nodes, and the closure built from it once.

The compiler (`compile.py`) turns pySigma's condition tree into these nodes; `predicate()`
turns the nodes into nested closures `view -> bool`. The tree stays on the rule because the
rule index reads it to find what a rule requires.

The constructors simplify as they build: nested AND/OR are flattened, tests of one field
under an OR are merged into one test (one lookup, one pass over a list value), a double
negation cancels, and children are ordered cheapest first. None of this changes the result:
the tests have no side effects.

View semantics: a field whose value is missing or None has no value; a list value matches
when any element matches; keyword tests look at every value of the view, list elements
included, and keyword strings match anywhere in a value (full-text search, as SigmaHQ's
keyword rules are written). `field: null` matches a field without value (missing, None or
an empty list) and `|exists` is its negation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from detect.sigma.values import ValueSpec, ValueTest, merge_specs, text_of

View = Mapping[str, object]
Predicate = Callable[[View], bool]

KEYWORD_COST_FACTOR: Final = 8  # a keyword test looks at every value of the view
COST_VIEW: Final = 1
COST_FIELDREF: Final = 4


@dataclass(frozen=True, slots=True)
class FieldTest:
    """A test of the values of one field."""

    field: str
    spec: ValueSpec


@dataclass(frozen=True, slots=True)
class KeywordTest:
    """A value-only (keyword) test: passes when any value of the view passes."""

    spec: ValueSpec


@dataclass(frozen=True, slots=True)
class ViewTest:
    """A test that needs the view itself: null, exists, field references."""

    check: Predicate
    cost: int


@dataclass(frozen=True, slots=True)
class AllOf:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Negation:
    child: Node


Node = FieldTest | KeywordTest | ViewTest | AllOf | AnyOf | Negation


# --- construction -------------------------------------------------------------------------


def all_of(children: Iterable[Node]) -> Node:
    flat = _flatten(children, AllOf)
    if len(flat) == 1:
        return flat[0]
    return AllOf(tuple(sorted(flat, key=cost)))


def any_of(children: Iterable[Node]) -> Node:
    flat = _merge_tests(_flatten(children, AnyOf))
    if len(flat) == 1:
        return flat[0]
    return AnyOf(tuple(sorted(flat, key=cost)))


def negation(child: Node) -> Node:
    return child.child if isinstance(child, Negation) else Negation(child)


def _flatten(children: Iterable[Node], kind: type[AllOf] | type[AnyOf]) -> list[Node]:
    flat: list[Node] = []
    for child in children:
        if isinstance(child, kind):
            flat.extend(child.children)
        else:
            flat.append(child)
    if not flat:
        raise ValueError("a condition group needs at least one operand")
    return flat


def _merge_tests(children: list[Node]) -> list[Node]:
    """Under an OR, tests of the same field (and keyword tests) become one test."""
    by_field: dict[str | None, list[ValueSpec]] = {}
    rest: list[Node] = []
    for child in children:
        if isinstance(child, FieldTest):
            by_field.setdefault(child.field, []).append(child.spec)
        elif isinstance(child, KeywordTest):
            by_field.setdefault(None, []).append(child.spec)
        else:
            rest.append(child)
    merged: list[Node] = [
        KeywordTest(merge_specs(specs)) if field is None else FieldTest(field, merge_specs(specs))
        for field, specs in by_field.items()
    ]
    return merged + rest


def cost(node: Node) -> int:
    """A rough relative cost of evaluating `node`, to put cheap tests first."""
    if isinstance(node, FieldTest):
        return node.spec.cost
    if isinstance(node, KeywordTest):
        return node.spec.cost * KEYWORD_COST_FACTOR
    if isinstance(node, ViewTest):
        return node.cost
    if isinstance(node, Negation):
        return cost(node.child)
    return sum(cost(child) for child in node.children)


def depth(node: Node) -> int:
    """How deep a compiled condition nests (without recursion: the tree may be hostile; here,
    compiled, as it is measured for every rule loaded)."""
    deepest = 0
    stack = [(node, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if isinstance(item, (AllOf, AnyOf)):
            stack.extend((child, level + 1) for child in item.children)
        elif isinstance(item, Negation):
            stack.append((item.child, level + 1))
    return deepest


# --- leaves that need the view ------------------------------------------------------------


def has_no_value(value: object) -> bool:
    return value is None or (type(value) is list and not value)


def null_test(field: str) -> ViewTest:
    return ViewTest(lambda view: has_no_value(view.get(field)), COST_VIEW)


def exists_test(field: str, exists: bool) -> ViewTest:
    if exists:
        return ViewTest(lambda view: not has_no_value(view.get(field)), COST_VIEW)
    return null_test(field)


def fieldref_test(field: str, other: str, starts: bool, ends: bool) -> ViewTest:
    """`field|fieldref: other`: the values compare equal (or by prefix/suffix/substring)."""
    relation = RELATIONS[(starts, ends)]

    def check(view: View) -> bool:
        right = _texts(view.get(other))
        if not right:
            return False
        return any(relation(left, ref) for left in _texts(view.get(field)) for ref in right)

    return ViewTest(check, COST_FIELDREF)


def _texts(value: object) -> list[str]:
    if value is None:
        return []
    items = value if type(value) is list else [value]
    return [text_of(item).lower() for item in items if item is not None]


RELATIONS: Final[dict[tuple[bool, bool], Callable[[str, str], bool]]] = {
    (False, False): str.__eq__,
    (True, False): str.startswith,
    (False, True): str.endswith,
    (True, True): str.__contains__,
}


# --- closures -----------------------------------------------------------------------------


def predicate(node: Node) -> Predicate:
    """The closure `view -> bool` for `node`; built once per rule."""
    return BUILDERS[type(node)](node)


def passes(test: ValueTest, value: object) -> bool:
    """`test` on a value of a view: on each element of a list (None elements never pass)."""
    if type(value) is list:
        for item in value:  # noqa: SIM110 - hot path, no generator per call
            if item is not None and test(item):
                return True
        return False
    return test(value)


def _field(node: Node) -> Predicate:
    assert isinstance(node, FieldTest)
    field, test = node.field, node.spec.test

    def check(view: View) -> bool:
        value = view.get(field)
        return value is not None and passes(test, value)

    return check


def _keyword(node: Node) -> Predicate:
    assert isinstance(node, KeywordTest)
    test = node.spec.test

    def check(view: View) -> bool:
        for value in view.values():  # noqa: SIM110 - hot path, no generator per call
            if value is not None and passes(test, value):
                return True
        return False

    return check


def _view(node: Node) -> Predicate:
    assert isinstance(node, ViewTest)
    return node.check


def _all(node: Node) -> Predicate:
    assert isinstance(node, AllOf)
    parts = tuple(predicate(child) for child in node.children)
    if len(parts) == 2:
        first, second = parts
        return lambda view: first(view) and second(view)

    def check(view: View) -> bool:
        for part in parts:  # noqa: SIM110 - hot path, no generator per call
            if not part(view):
                return False
        return True

    return check


def _any(node: Node) -> Predicate:
    assert isinstance(node, AnyOf)
    parts = tuple(predicate(child) for child in node.children)
    if len(parts) == 2:
        first, second = parts
        return lambda view: first(view) or second(view)

    def check(view: View) -> bool:
        for part in parts:  # noqa: SIM110 - hot path, no generator per call
            if part(view):
                return True
        return False

    return check


def _not(node: Node) -> Predicate:
    assert isinstance(node, Negation)
    inner = predicate(node.child)
    return lambda view: not inner(view)


BUILDERS: Final[dict[type, Callable[[Node], Predicate]]] = {
    FieldTest: _field,
    KeywordTest: _keyword,
    ViewTest: _view,
    AllOf: _all,
    AnyOf: _any,
    Negation: _not,
}
