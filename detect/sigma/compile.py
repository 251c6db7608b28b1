"""Compile a pySigma rule once: its parsed condition tree becomes typed nodes and a closure.

pySigma parses the condition and resolves `1 of`, `all of`, `them`, patterns and detection
references into a tree of AND / OR / NOT over field-value and value-only expressions
(`SigmaCondition.parse()`). That tree is walked here exactly once per rule; evaluation never
touches pySigma again. Values arrive already transformed by pySigma's modifiers (`contains`,
`startswith`, `endswith`, `all`, `base64`, `base64offset`, `windash`, `neq`, ...); this module
turns each into a value test (`values.py`) or a view test (`condition.py`).

A rule that cannot be compiled raises `CompileError` with the reason and the YAML key path of
the offending item (`("detection", "selection", "CommandLine")`), so the loader can point at a
line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.exceptions import SigmaError
from sigma.modifiers import reverse_modifier_mapping
from sigma.rule import SigmaDetection, SigmaDetectionItem, SigmaRule
from sigma.types import (
    Placeholder,
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaExpansion,
    SigmaFieldReference,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SigmaType,
    SpecialChars,
)

from detect.core.errors import DetectError
from detect.sigma.condition import (
    AllOf,
    AnyOf,
    FieldTest,
    KeywordTest,
    Negation,
    Node,
    all_of,
    any_of,
    depth,
    exists_test,
    fieldref_test,
    negation,
    null_test,
    predicate,
)
from detect.sigma.model import Rule
from detect.sigma.regex import RegexError, compile_re2, searcher
from detect.sigma.values import (
    COST_REGEX,
    PATTERN_KEY,
    Pattern,
    ValueSpec,
    Wild,
    build_spec,
    cidr_spec,
    compare_spec,
    number_spec,
    stored_spec,
    string_test,
)

AGGREGATION_MESSAGE = (
    "aggregation expressions in conditions are not supported; use a Sigma correlation rule"
)
CONDITION_PATH = ("detection", "condition")
# Conditions nest a few levels; a deeper tree is hostile, and evaluating it would recurse.
MAX_DEPTH = 64

Placeholders = Mapping[str, Sequence[str]]
YamlPath = tuple[str, ...]
# A compiled condition as plain data: `[kind, ...]` lists (see BUILDERS), JSON as it is.
Recipe = list[Any]


@dataclass(frozen=True, eq=True)
class CompileError(DetectError):
    """A rule that cannot be compiled: why, and the YAML key path of the offending item."""

    reason: str
    path: YamlPath = ()

    def __str__(self) -> str:
        return self.reason


class _ValueProblem(Exception):
    """A value that cannot be compiled; located in the rule before it leaves this module."""

    def __init__(self, reason: str, value: SigmaType) -> None:
        super().__init__(reason)
        self.reason = reason
        self.value = value


def compile_rule(rule: SigmaRule, placeholders: Placeholders | None = None) -> Rule:
    """Compile `rule` once into a `Rule` with its matcher; raises CompileError."""
    return compile_with_recipe(rule, placeholders)[0]


def compile_with_recipe(
    rule: SigmaRule, placeholders: Placeholders | None = None
) -> tuple[Rule, Recipe]:
    """`compile_rule`, with the recipe the plan was built from (what the cache of compiled
    rules stores: `rule_from_recipe` builds the same plan from it without pySigma)."""
    recipe = compile_recipe(rule, placeholders)
    plan = build_plan(recipe)
    compile_programs(plan)
    if depth(plan) > MAX_DEPTH:
        raise CompileError(f"the condition nests more than {MAX_DEPTH} levels", CONDITION_PATH)
    return Rule.from_sigma(rule, plan, predicate(plan), rule_fields(rule)), recipe


def compile_programs(plan: Node) -> None:
    """Compile the RE2 programs the plan's value tests compile on their first call
    (`ValueSpec.programs`), each after those it was merged from: one RE2 refuses raises
    RegexError now, the rule's error (as when they were compiled as the plan was built). A
    plan built from the cache of compiled rules needs none: its programs compiled when its
    entry was stored, under the same RE2 (compiled.py keys entries by its version)."""
    stack = [plan]
    while stack:
        node = stack.pop()
        if isinstance(node, (FieldTest, KeywordTest)):
            for source in node.spec.programs:
                compile_re2(source)
        elif isinstance(node, (AllOf, AnyOf)):
            stack.extend(reversed(node.children))
        elif isinstance(node, Negation):
            stack.append(node.child)


def compile_condition(rule: SigmaRule, placeholders: Placeholders | None = None) -> Node:
    """The compiled condition of `rule` (its conditions OR-ed), or CompileError."""
    plan = build_plan(compile_recipe(rule, placeholders))
    compile_programs(plan)
    return plan


def compile_recipe(rule: SigmaRule, placeholders: Placeholders | None = None) -> Recipe:
    """The recipe of `rule`'s condition (its conditions OR-ed): plain data (lists, strings,
    numbers) naming each node and value test to build, in order; or CompileError. Every value
    test that could fail to build (a regular expression, a CIDR) was tried: building the
    recipe (`build_plan`) cannot fail."""
    for text in rule.detection.condition:
        if "|" in str(text):
            raise CompileError(AGGREGATION_MESSAGE, CONDITION_PATH)
    compiler = _Compiler(placeholders or {})
    try:
        return _any([compiler.node(tree) for tree in _parsed_trees(rule)])
    except _ValueProblem as problem:
        raise CompileError(problem.reason, locate_value(rule, problem.value)) from None


def _parsed_trees(rule: SigmaRule) -> Iterator[Any]:
    for condition in rule.detection.parsed_condition:
        try:
            tree = condition.parse()
        except SigmaError as error:
            raise CompileError(sigma_reason(error), CONDITION_PATH) from None
        if tree is None:
            raise CompileError("the condition selects nothing", CONDITION_PATH)
        yield tree


def sigma_reason(error: SigmaError) -> str:
    """pySigma's message without the ' in <path>' it appends."""
    return str(error.args[0]) if error.args else type(error).__name__


def rule_fields(rule: SigmaRule) -> tuple[str, ...]:
    """The field of each detection item of `rule` that names one, in order (what the checks
    read: detect.matching.checks)."""
    return tuple(item.field for item in detection_items(rule) if item.field)


def detection_items(rule: SigmaRule) -> Iterator[SigmaDetectionItem]:
    for detection in rule.detection.detections.values():
        yield from _items(detection.detection_items)


def _items(items: Iterable[object]) -> Iterator[SigmaDetectionItem]:
    for item in items:
        if isinstance(item, SigmaDetectionItem):
            yield item
        else:
            yield from _items(getattr(item, "detection_items", ()))


class _Compiler:
    """Walks one pySigma condition tree into a recipe."""

    def __init__(self, placeholders: Placeholders) -> None:
        self.placeholders = placeholders

    def node(self, tree: Any) -> Recipe:
        handler = CONDITIONS.get(type(tree))
        if handler is None:
            raise CompileError(f"unsupported condition element {type(tree).__name__}")
        return handler(self, tree)

    def all(self, tree: Any) -> Recipe:
        return ["all", [self.node(arg) for arg in tree.args]]

    def any(self, tree: Any) -> Recipe:
        return _any([self.node(arg) for arg in tree.args])

    def negate(self, tree: Any) -> Recipe:
        return ["not", self.node(tree.args[0])]

    def field_value(self, tree: Any) -> Recipe:
        return self.value(tree.field, tree.value)

    def keyword(self, tree: Any) -> Recipe:
        return self.value(None, tree.value)

    def value(self, field: str | None, value: SigmaType) -> Recipe:
        handler = VALUES.get(type(value))
        if handler is None:
            raise _ValueProblem(_unsupported(value), value)
        return handler(self, field, value)

    def string(self, field: str | None, value: Any) -> Recipe:
        cased = isinstance(value, SigmaCasedString)
        variants = self.expand(value, value, False) if value.contains_placeholder() else [value]
        patterns = [_pattern(variant) for variant in variants]
        if field is None:  # keywords are full-text: they match anywhere in a value
            patterns = [_anywhere(pattern) for pattern in patterns]
        return _any([_string(field, pattern, cased) for pattern in patterns])

    def regex(self, field: str | None, value: Any) -> Recipe:
        regexp: SigmaString = value.regexp
        variants = self.expand(regexp, value, True) if regexp.contains_placeholder() else [regexp]
        flags = "".join(sorted(REGEX_FLAGS[flag] for flag in value.flags))
        leaves: list[Recipe] = []
        for variant in variants:
            body = variant.to_plain(regex=True)
            pattern = f"(?{flags}){body}" if flags else body
            try:
                searcher(pattern)  # compiled (and cached) now: a bad one is this rule's error
            except RegexError as error:
                raise _ValueProblem(str(error), value) from None
            leaves.append(["re", field, pattern])
        return _any(leaves)

    def expand(self, text: SigmaString, value: SigmaType, regex: bool) -> list[SigmaString]:
        """Resolve `%name%` placeholders (the `expand` modifier) from the configured values.

        In strings a configured value may carry wildcards; in regular expressions it is a
        fragment of the expression.
        """

        def replacements(placeholder: Placeholder) -> Iterator[str | SigmaString]:
            values = self.placeholders.get(placeholder.name)
            if values is None:
                raise _ValueProblem(f"unresolved placeholder %{placeholder.name}%", value)
            for item in values:
                yield item if regex else SigmaString(item)

        try:
            return text.replace_placeholders(replacements)
        except SigmaError as error:
            raise _ValueProblem(sigma_reason(error), value) from None

    def number(self, field: str | None, value: Any) -> Recipe:
        if field is None:
            return _string(None, _anywhere([str(value.number)]), False)
        return ["num", field, value.number]

    def boolean(self, field: str | None, value: Any) -> Recipe:
        text = "true" if value.boolean else "false"
        if field is None:
            return _string(None, _anywhere([text]), False)
        return ["eq", field, text]

    def cidr(self, field: str | None, value: Any) -> Recipe:
        try:
            cidr_spec(value.cidr)  # a bad one is this rule's error, found now
        except ValueError as error:
            raise _ValueProblem(f"invalid CIDR {value.cidr!r}: {error}", value) from None
        return ["cidr", field, value.cidr]

    def compare(self, field: str | None, value: Any) -> Recipe:
        return ["cmp", field, value.op.name, value.number.number]

    def null(self, field: str | None, value: Any) -> Recipe:
        return ["null", _bound(field, value, "null")]

    def exists(self, field: str | None, value: Any) -> Recipe:
        return ["exists", _bound(field, value, "exists"), bool(value.exists)]

    def fieldref(self, field: str | None, value: Any) -> Recipe:
        bound = _bound(field, value, "fieldref")
        return ["ref", bound, value.field, bool(value.starts_with), bool(value.ends_with)]

    def expansion(self, field: str | None, value: Any) -> Recipe:
        return _any([self.value(field, item) for item in value.values])


def _any(children: list[Recipe]) -> Recipe:
    """The OR of `children`; one child is its own OR (`any_of([node])` builds `node` again:
    skipped, it was a third of building a plan). String tests of one field and kind are one
    test of all their items (`_merged_strings`)."""
    if len(children) > 1:
        merged = _merged_strings(children)
        if merged is not None:
            return merged
    return children[0] if len(children) == 1 else ["any", children]


def _merged_strings(children: list[Recipe]) -> Recipe | None:
    """The string tests `children` of one field and kind as one test of all their items, in
    order, once each: the test `condition.any_of` makes of them (`values.merge_specs`: its
    keys are those of all the items), without building each to merge them (a rule's list of
    values is most tests of a large rule set). None for other children, and for wildcards:
    a rule compiled from Sigma has each wildcard's program compiled before the merged one
    (`compile_programs`)."""
    first = children[0]
    if first[0] != "str" or first[2] in WILDCARD_KINDS:
        return None
    field, kind = first[1], first[2]
    if any(child[0] != "str" or child[1] != field or child[2] != kind for child in children):
        return None
    items = dict.fromkeys(item for child in children for item in child[3])
    return ["str", field, kind, list(items)]


def _bound(field: str | None, value: SigmaType, what: str) -> str:
    if field is None:
        raise _ValueProblem(f"a {what} test needs a field", value)
    return field


def _pattern(value: SigmaString) -> Pattern:
    parts: Pattern = []
    for part in value.s:
        if isinstance(part, str):
            parts.append(part)
        elif isinstance(part, SpecialChars):
            parts.append(WILDCARDS[part])
        else:
            raise _ValueProblem(f"unresolved placeholder %{part.name}%", value)
    return parts


def _anywhere(pattern: Pattern) -> Pattern:
    return [Wild.MANY, *pattern, Wild.MANY]


def _string(field: str | None, pattern: Pattern, cased: bool) -> Recipe:
    """A string test as a recipe holds it: the kind and items of the cheapest test for the
    pattern (`values.string_test`), so that building it has no pattern to read again."""
    kind, items = string_test(pattern, cased)
    return ["str", field, kind, list(items)]


def _unsupported(value: SigmaType) -> str:
    if isinstance(value, SigmaNumber):  # the timestamp-part modifiers produce a subclass
        return "timestamp part modifiers (minute, hour, day, week, month, year) are not supported"
    return f"values of type {type(value).__name__} are not supported"


# --- building a recipe --------------------------------------------------------------------


def build_plan(recipe: Recipe) -> Node:
    """The compiled condition a recipe names (from `compile_recipe`, or read back from the
    cache of compiled rules); raises ValueError and co. on anything else."""
    return BUILDERS[recipe[0]](recipe)


def _build_all(recipe: Recipe) -> Node:
    return all_of(build_plan(child) for child in recipe[1])


def _build_any(recipe: Recipe) -> Node:
    return any_of(build_plan(child) for child in recipe[1])


def _build_not(recipe: Recipe) -> Node:
    return negation(build_plan(recipe[1]))


def _build_string(recipe: Recipe) -> Node:
    _, field, kind, items = recipe
    return _leaf(field, stored_spec(kind, items))


def _build_regex(recipe: Recipe) -> Node:
    """A `|re` test, its RE2 program compiled on the first test (most rules of a large set
    are never tested): the pattern compiled when the recipe was made (`_Compiler.regex`, under
    the same RE2: compiled.py keys entries by its version), so it cannot fail later."""
    _, field, pattern = recipe
    if type(pattern) is not str:
        raise ValueError("not a pattern")
    search: Callable[[str], bool] | None = None

    def test(v: object) -> bool:
        nonlocal search
        if search is None:
            search = searcher(pattern)
        return search(v if type(v) is str else str(v))

    keys = {PATTERN_KEY: frozenset((pattern,))}
    return _leaf(field, ValueSpec(test, COST_REGEX, keys=keys, programs=(pattern,)))


def _build_number(recipe: Recipe) -> Node:
    _, field, number = recipe
    if type(number) not in (int, float):
        raise ValueError("not a number")
    return _leaf(field, number_spec(number))


def _build_equal(recipe: Recipe) -> Node:
    return _leaf(recipe[1], build_spec("eq", (str(recipe[2]),)))


def _build_cidr(recipe: Recipe) -> Node:
    return _leaf(recipe[1], cidr_spec(recipe[2]))


def _build_compare(recipe: Recipe) -> Node:
    _, field, operator, number = recipe
    return _leaf(field, compare_spec(str(operator), number))


def _build_null(recipe: Recipe) -> Node:
    return null_test(str(recipe[1]))


def _build_exists(recipe: Recipe) -> Node:
    return exists_test(str(recipe[1]), bool(recipe[2]))


def _build_fieldref(recipe: Recipe) -> Node:
    _, field, other, starts, ends = recipe
    return fieldref_test(str(field), str(other), bool(starts), bool(ends))


def _leaf(field: str | None, spec: ValueSpec) -> Node:
    if field is None:
        return KeywordTest(spec)
    if type(field) is not str:
        raise ValueError("not a field name")
    return FieldTest(field, spec)


# --- locating a value in the rule ---------------------------------------------------------


def locate_value(rule: SigmaRule, value: SigmaType) -> YamlPath:
    """The YAML key path of the detection item holding `value`, as far as it can be found."""
    for name, detection in rule.detection.detections.items():
        item = _find_item(detection, value)
        if item is not None:
            key = _item_key(item)
            return ("detection", name, key) if key else ("detection", name)
    return ("detection",)


def _item_key(item: SigmaDetectionItem) -> str:
    """The item's key as written (`field|mod|mod`), modifier aliases aside."""
    names = [reverse_modifier_mapping.get(m.__name__, m.__name__) for m in item.modifiers]
    return "|".join([item.field or "", *names]) if names else item.field or ""


def _find_item(detection: SigmaDetection, value: SigmaType) -> SigmaDetectionItem | None:
    for item in detection.detection_items:
        if isinstance(item, SigmaDetection):
            found = _find_item(item, value)
            if found is not None:
                return found
        elif any(_holds(candidate, value) for candidate in item.value):
            return item
    return None


def _holds(candidate: SigmaType, value: SigmaType) -> bool:
    if candidate is value:
        return True
    return isinstance(candidate, SigmaExpansion) and any(_holds(v, value) for v in candidate.values)


# --- registries ---------------------------------------------------------------------------

CONDITIONS: dict[type, Callable[[_Compiler, Any], Recipe]] = {
    ConditionAND: _Compiler.all,
    ConditionOR: _Compiler.any,
    ConditionNOT: _Compiler.negate,
    ConditionFieldEqualsValueExpression: _Compiler.field_value,
    ConditionValueExpression: _Compiler.keyword,
}

VALUES: dict[type, Callable[[_Compiler, str | None, Any], Recipe]] = {
    SigmaString: _Compiler.string,
    SigmaCasedString: _Compiler.string,
    SigmaRegularExpression: _Compiler.regex,
    SigmaNumber: _Compiler.number,
    SigmaBool: _Compiler.boolean,
    SigmaCIDRExpression: _Compiler.cidr,
    SigmaCompareExpression: _Compiler.compare,
    SigmaNull: _Compiler.null,
    SigmaExists: _Compiler.exists,
    SigmaFieldReference: _Compiler.fieldref,
    SigmaExpansion: _Compiler.expansion,
}

WILDCARDS = {SpecialChars.WILDCARD_MULTI: Wild.MANY, SpecialChars.WILDCARD_SINGLE: Wild.ONE}
WILDCARD_KINDS = frozenset(("wildcard", "wildcard_cased"))

BUILDERS: dict[str, Callable[[Recipe], Node]] = {
    "all": _build_all,
    "any": _build_any,
    "not": _build_not,
    "str": _build_string,
    "re": _build_regex,
    "num": _build_number,
    "eq": _build_equal,
    "cidr": _build_cidr,
    "cmp": _build_compare,
    "null": _build_null,
    "exists": _build_exists,
    "ref": _build_fieldref,
}

REGEX_FLAGS = {
    SigmaRegularExpressionFlag.IGNORECASE: "i",
    SigmaRegularExpressionFlag.MULTILINE: "m",
    SigmaRegularExpressionFlag.DOTALL: "s",
}
