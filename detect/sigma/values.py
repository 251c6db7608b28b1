"""Value tests: what one leaf of a condition asks of one field value.

A `ValueTest` takes one scalar value of a view (a `str`, or an `int`, which compares as its
decimal text) and answers. Everything a test needs is computed when the rule is compiled:
lowercased literals, prefix/suffix tuples, CIDR networks; RE2 programs on the test's first
call (`ValueSpec.programs`: most tests of a large rule set never run). Strings compare
case-insensitively unless the rule says `cased`; numbers compare as numbers when the rule
value is a number and the field holds a numeric string.

Tests of one family (`kind`) on the same field can be merged into one test when they are
OR-ed (`merge_specs`): `Image|endswith: [a, b, c]` becomes one `str.endswith((a, b, c))`.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from math import isfinite
from typing import Final

from detect.sigma.regex import escape, full_matcher, searcher

ValueTest = Callable[[object], bool]
Address = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network

MAX_ADDRESS_TEXT: Final = 64  # longer text is never an IP address; keeps the parse cache small
ADDRESS_CACHE: Final = 65536

# Relative evaluation costs: cheap tests run first inside AND / OR.
PREFIX_LENGTH: Final = 5  # `/etc/`, `/tmp/`, `/usr/`: long enough to split paths, short for rules
COST_EQ: Final = 1
COST_AFFIX: Final = 2
COST_NUMBER: Final = 2
COST_CONTAINS: Final = 3
COST_CIDR: Final = 4
COST_WILDCARD: Final = 5
COST_REGEX: Final = 6
# Long OR-lists are searched by RE2, this many alternatives to one program: a list of any
# length costs one pass per chunk over the value instead of one per item, and no single
# program outgrows RE2's memory limit (a rule may list 100,000 items).
SCAN_MOST: Final = 32  # up to this many substrings, `in` one by one is cheaper
ITEMS_PER_REGEX: Final = 1024


@dataclass(frozen=True, slots=True)
class ValueSpec:
    """A compiled value test with what the compiler and the index need to know about it.

    `kind` names a mergeable family (a key of `BUILDERS`) and `items` its operands. `keys`
    says, for some index key functions (`KEY_FUNCTIONS`), the set of keys a value must have
    for the test to pass: an equality test requires `value` keys, `Image|endswith: /bash`
    requires the `basename` key `bash`. The rule index buckets on them.

    `programs` are the RE2 sources the test compiles on its first call (most tests of a large
    rule set never run), after those of the specs it was merged from: a rule compiled from
    Sigma has them compiled at once (`compile.compile_programs`), so that one RE2 refuses is
    that rule's error.
    """

    test: ValueTest
    cost: int
    kind: str = ""
    items: tuple[str, ...] = ()
    keys: Mapping[str, frozenset[str]] = field(default_factory=dict)
    programs: tuple[str, ...] = ()


def text_of(value: object) -> str:
    """The text a value compares as: strings as they are, anything else as `str()`."""
    return value if type(value) is str else str(value)


def value_key(value: object) -> str:
    """Index key `value`: the lowercased text, coarser than every equality test."""
    return text_of(value).lower()


def basename_key(value: object) -> str:
    """Index key `basename`: the lowercased text after the last `/`."""
    return text_of(value).lower().rpartition("/")[2]


def prefix_key(value: object) -> str:
    """Index key `prefix`: the first PREFIX_LENGTH characters, lowercased."""
    return text_of(value)[:PREFIX_LENGTH].lower()


def build_spec(
    kind: str,
    items: tuple[str, ...],
    keys: Mapping[str, frozenset[str]] | None = None,
    merged: tuple[str, ...] = (),
) -> ValueSpec:
    """The spec of family `kind` over `items` (already lowercased for caseless kinds);
    `keys`, when the caller has them, are those `_keys(kind, items)` would give; `merged`,
    the programs of the specs it merges."""
    builder, cost = BUILDERS[kind]
    sources = PROGRAMS.get(kind)
    programs = merged if sources is None else (*merged, *sources(items))
    keys = _keys(kind, items) if keys is None else keys
    return ValueSpec(builder(items), cost, kind, items, keys, programs)


def _keys(kind: str, items: tuple[str, ...]) -> dict[str, frozenset[str]]:
    keys = _pattern_keys(kind, items)
    if kind in EQUALITY_KINDS:
        lowered = [item.lower() for item in items]
        keys["value"] = frozenset(lowered)
        keys["basename"] = frozenset([item.rpartition("/")[2] for item in lowered])
        keys["prefix"] = frozenset([item[:PREFIX_LENGTH] for item in lowered])
    elif kind in SUFFIX_KINDS:
        lowered = [item.lower() for item in items]
        if all(item.rfind("/") == 0 for item in lowered):
            keys["basename"] = frozenset([item[1:] for item in lowered])  # endswith "/name"
    elif kind in PREFIX_KINDS:
        lowered = [item.lower() for item in items]
        if all(len(item) >= PREFIX_LENGTH for item in lowered):
            keys["prefix"] = frozenset([item[:PREFIX_LENGTH] for item in lowered])
    return keys


def _pattern_keys(kind: str, items: tuple[str, ...]) -> dict[str, frozenset[str]]:
    """The `pattern` keys of a string test: RE2 sources that match (at least) every value the
    test passes, searched in the value's text. A wildcard's is its own regex; a caseless
    literal's needs ASCII, where RE2's case folding covers `str.lower()`."""
    shape = PATTERN_SHAPES.get(kind)
    if shape is None:
        return {}
    before, after, literal, caseless = shape
    if not literal:
        return {PATTERN_KEY: frozenset([before + body + after for body in items])}
    if caseless and not all(item.isascii() for item in items):
        return {}
    return {PATTERN_KEY: frozenset([before + escape(item) + after for item in items])}


def merge_specs(specs: list[ValueSpec]) -> ValueSpec:
    """One spec that passes when any of `specs` passes (same field, OR-ed)."""
    if len(specs) == 1:
        return specs[0]
    by_kind: dict[str, list[ValueSpec]] = {}
    others: list[ValueSpec] = []
    for spec in specs:
        if spec.kind:
            by_kind.setdefault(spec.kind, []).append(spec)
        else:
            others.append(spec)
    merged = [_merge_kind(kind, same) for kind, same in by_kind.items()]
    parts = sorted(merged + others, key=lambda spec: spec.cost)
    if len(parts) == 1:
        return parts[0]
    test = _any_test([part.test for part in parts])
    programs = tuple(source for part in parts for source in part.programs)
    return ValueSpec(
        test, sum(part.cost for part in parts), keys=_union_keys(parts), programs=programs
    )


def _merge_kind(kind: str, specs: list[ValueSpec]) -> ValueSpec:
    """Specs of one family as one spec over their items. Its keys are the union of theirs:
    `_keys` of a list of items is the union of the keys of each item where every item has
    that key function (`_union_keys`), so they are not computed again (a rule may list
    thousands of items)."""
    if len(specs) == 1:
        return specs[0]
    items = tuple(dict.fromkeys(item for spec in specs for item in spec.items))
    merged = tuple(source for spec in specs for source in spec.programs)
    return build_spec(kind, items, _union_keys(specs), merged)


def _union_keys(parts: list[ValueSpec]) -> dict[str, frozenset[str]]:
    """Under an OR, a key is required only when every part requires it: the union of sets."""
    names = set(parts[0].keys).intersection(*(part.keys for part in parts[1:]))
    return {name: frozenset().union(*(part.keys[name] for part in parts)) for name in names}


def _any_test(tests: list[ValueTest]) -> ValueTest:
    if len(tests) == 2:
        first, second = tests

        def either(value: object) -> bool:
            return first(value) or second(value)

        return either
    frozen = tuple(tests)

    def any_of(value: object) -> bool:
        for test in frozen:  # noqa: SIM110 - hot path, no generator per call
            if test(value):
                return True
        return False

    return any_of


# --- strings ------------------------------------------------------------------------------


def _eq(items: tuple[str, ...]) -> ValueTest:
    if len(items) == 1:
        literal = items[0]
        return lambda value: (value if type(value) is str else str(value)).lower() == literal
    literals = frozenset(items)
    return lambda value: (value if type(value) is str else str(value)).lower() in literals


def _eq_cased(items: tuple[str, ...]) -> ValueTest:
    literals = frozenset(items)
    return lambda value: (value if type(value) is str else str(value)) in literals


def _prefix(items: tuple[str, ...]) -> ValueTest:
    return lambda value: (value if type(value) is str else str(value)).lower().startswith(items)


def _prefix_cased(items: tuple[str, ...]) -> ValueTest:
    return lambda value: (value if type(value) is str else str(value)).startswith(items)


def _suffix(items: tuple[str, ...]) -> ValueTest:
    return lambda value: (value if type(value) is str else str(value)).lower().endswith(items)


def _suffix_cased(items: tuple[str, ...]) -> ValueTest:
    return lambda value: (value if type(value) is str else str(value)).endswith(items)


def _contains(items: tuple[str, ...]) -> ValueTest:
    return _substring(items, fold=True)


def _contains_cased(items: tuple[str, ...]) -> ValueTest:
    return _substring(items, fold=False)


def _substring(items: tuple[str, ...], fold: bool) -> ValueTest:
    if len(items) > SCAN_MOST:
        return _any_literal(items, fold)
    if len(items) == 1:
        needle = items[0]
        if fold:
            return lambda value: needle in (value if type(value) is str else str(value)).lower()
        return lambda value: needle in (value if type(value) is str else str(value))

    def any_substring(value: object) -> bool:
        text = value if type(value) is str else str(value)
        if fold:
            text = text.lower()
        for needle in items:  # noqa: SIM110 - hot path, no generator per call
            if needle in text:
                return True
        return False

    return any_substring


def _any_literal(items: tuple[str, ...], fold: bool) -> ValueTest:
    """`any(item in text)` for a long list: RE2 programs of escaped literals, each run once,
    compiled on the first call. Folded tests search the lowercased text for the (lowercased)
    items, as `_substring` does."""
    searches: list[Callable[[str], bool]] = []

    def any_found(value: object) -> bool:
        if not searches:
            searches.extend(searcher(source) for source in _literal_sources(items))
        text = value if type(value) is str else str(value)
        if fold:
            text = text.lower()
        for search in searches:  # noqa: SIM110 - hot path, no generator per call
            if search(text):
                return True
        return False

    return any_found


def _literal_sources(items: tuple[str, ...]) -> tuple[str, ...]:
    """The programs of a substring test (`_any_literal`'s), if it has any: a long list."""
    if len(items) <= SCAN_MOST:
        return ()
    return tuple("|".join(map(escape, chunk)) for chunk in _chunks(items))


def _chunks(items: tuple[str, ...]) -> list[tuple[str, ...]]:
    return [items[at : at + ITEMS_PER_REGEX] for at in range(0, len(items), ITEMS_PER_REGEX)]


def _anything(items: tuple[str, ...]) -> ValueTest:
    return lambda value: True


def _wildcard(items: tuple[str, ...]) -> ValueTest:
    return _wildcard_regex(items, _wildcard_sources)


def _wildcard_cased(items: tuple[str, ...]) -> ValueTest:
    return _wildcard_regex(items, _wildcard_cased_sources)


def _wildcard_sources(bodies: tuple[str, ...]) -> tuple[str, ...]:
    return _alternations(bodies, "(?si)")


def _wildcard_cased_sources(bodies: tuple[str, ...]) -> tuple[str, ...]:
    return _alternations(bodies, "(?s)")


def _alternations(bodies: tuple[str, ...], flags: str) -> tuple[str, ...]:
    return tuple(flags + "|".join(f"(?:{body})" for body in chunk) for chunk in _chunks(bodies))


def _wildcard_regex(
    bodies: tuple[str, ...], sources: Callable[[tuple[str, ...]], tuple[str, ...]]
) -> ValueTest:
    """Whole-value matches of wildcard strings, their RE2 programs compiled on the first call."""
    tests: list[Callable[[str], bool]] = []

    def any_matches(value: object) -> bool:
        if not tests:
            tests.extend(full_matcher(source) for source in sources(bodies))
        text = value if type(value) is str else str(value)
        for matches in tests:  # noqa: SIM110 - hot path, no generator per call
            if matches(text):
                return True
        return False

    return any_matches


class Wild(Enum):
    """A wildcard inside a rule string: `*` (any run of characters) or `?` (one character)."""

    MANY = "*"
    ONE = "?"


Pattern = list[str | Wild]


def string_spec(parts: Pattern, cased: bool) -> ValueSpec:
    """The cheapest test for a wildcard string: equality, prefix, suffix, substring or RE2."""
    kind, items = string_test(parts, cased)
    return build_spec(kind, items)


def string_test(parts: Pattern, cased: bool) -> tuple[str, tuple[str, ...]]:
    """The kind and items of `string_spec(parts, cased)` (what a compiled rule's recipe holds:
    `stored_spec` builds the spec from them)."""
    parts = _normalize(parts)
    texts = [part for part in parts if isinstance(part, str)] or [""]
    shape = tuple(part if isinstance(part, Wild) else "" for part in parts)
    kind = SHAPES.get(shape, "wildcard")
    if kind == "wildcard":
        items: tuple[str, ...] = (wildcard_body(parts),)
    else:
        items = tuple(texts if cased else [text.lower() for text in texts])
    return f"{kind}_cased" if cased and kind in CASED_KINDS else kind, items


def stored_spec(kind: object, items: object) -> ValueSpec:
    """`build_spec(kind, items)` of a kind and items `string_test` gave, as read back from
    JSON; raises ValueError on anything else."""
    if type(kind) is not str or kind not in STRING_KINDS or type(items) is not list or not items:
        raise ValueError("not a string test")
    for item in items:
        if type(item) is not str:
            raise ValueError("not a string test")
    return build_spec(kind, tuple(items))


def _normalize(parts: Pattern) -> Pattern:
    """Join adjacent text, drop empty text, collapse runs of `*`."""
    out: Pattern = []
    for part in parts:
        if isinstance(part, str):
            if not part:
                continue
            if out and isinstance(out[-1], str):
                out[-1] += part
                continue
        elif part is Wild.MANY and out and out[-1] is Wild.MANY:
            continue
        out.append(part)
    return out


def wildcard_body(parts: Pattern) -> str:
    """RE2 source for a wildcard string, to be matched against the whole value."""
    return "".join(
        WILDCARD_REGEX[part] if isinstance(part, Wild) else escape(part) for part in parts
    )


WILDCARD_REGEX: Final = {Wild.MANY: ".*", Wild.ONE: "."}
SHAPES: Final[dict[tuple[str | Wild, ...], str]] = {
    (): "eq",
    ("",): "eq",
    ("", Wild.MANY): "prefix",
    (Wild.MANY, ""): "suffix",
    (Wild.MANY, "", Wild.MANY): "contains",
    (Wild.MANY,): "any",
}
CASED_KINDS: Final = frozenset({"eq", "prefix", "suffix", "contains", "wildcard"})
STRING_KINDS: Final = frozenset(
    [*SHAPES.values(), "wildcard", *(f"{kind}_cased" for kind in CASED_KINDS)]
)


# --- numbers ------------------------------------------------------------------------------


def to_number(value: object) -> int | float | None:
    """An int as it is, a numeric string as its number, anything else None."""
    if type(value) is int:
        return value
    text = value if type(value) is str else str(value)
    if "_" in text:  # int() accepts digit separators; a log field does not mean them
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return None
    return number if isfinite(number) else None


def number_spec(number: int | float) -> ValueSpec:
    def equals(value: object) -> bool:
        found = to_number(value)
        return found is not None and found == number

    return ValueSpec(equals, COST_NUMBER, keys={"number": frozenset((canonical_number(number),))})


def canonical_number(number: int | float) -> str:
    """One text per numeric value: equal numbers (-13, -13.0) give equal texts, unequal ones
    different texts (an integral float as its int, other floats by repr, which round-trips)."""
    if type(number) is float and number.is_integer():
        return str(int(number))
    return repr(number) if type(number) is float else str(number)


def number_key(value: object) -> str:
    """Index key `number`: the canonical text of the value's number (`to_number`), or "" for
    a value that is no number (no spec has that key). `to_number(value) == n` exactly when
    `number_key(value) == canonical_number(n)`, so the key is as fine as the test."""
    found = to_number(value)
    return "" if found is None else canonical_number(found)


COMPARISONS: Final[dict[str, Callable[[float, float], bool]]] = {
    "LT": operator.lt,
    "LTE": operator.le,
    "GT": operator.gt,
    "GTE": operator.ge,
    "NEQ": operator.ne,
}


def compare_spec(op: str, number: int | float) -> ValueSpec:
    compare = COMPARISONS[op]

    def test(value: object) -> bool:
        found = to_number(value)
        return found is not None and compare(found, number)

    return ValueSpec(test, COST_NUMBER)


# --- CIDR ---------------------------------------------------------------------------------


@lru_cache(maxsize=1024)
def parse_network(cidr: str) -> Network:
    return ip_network(cidr)


@lru_cache(maxsize=ADDRESS_CACHE)
def _parse_address(text: str) -> Address | None:
    try:
        return ip_address(text)
    except ValueError:
        return None


def _cidr(items: tuple[str, ...]) -> ValueTest:
    networks = [parse_network(item) for item in items]
    v4 = tuple(n for n in networks if isinstance(n, IPv4Network))
    v6 = tuple(n for n in networks if isinstance(n, IPv6Network))

    def within(value: object) -> bool:
        text = value if type(value) is str else str(value)
        if len(text) > MAX_ADDRESS_TEXT:
            return False
        address = _parse_address(text)
        if address is None:
            return False
        if isinstance(address, IPv6Address):
            if any(address in net for net in v6):
                return True
            address = address.ipv4_mapped  # ::ffff:a.b.c.d also counts as a.b.c.d
            if address is None:
                return False
        return any(address in net for net in v4)

    return within


def cidr_spec(cidr: str) -> ValueSpec:
    """The spec for `|cidr`; raises ValueError for an invalid network."""
    return build_spec("cidr", (str(parse_network(cidr)),))


# --- registries ---------------------------------------------------------------------------

BUILDERS: Final[dict[str, tuple[Callable[[tuple[str, ...]], ValueTest], int]]] = {
    "eq": (_eq, COST_EQ),
    "eq_cased": (_eq_cased, COST_EQ),
    "prefix": (_prefix, COST_AFFIX),
    "prefix_cased": (_prefix_cased, COST_AFFIX),
    "suffix": (_suffix, COST_AFFIX),
    "suffix_cased": (_suffix_cased, COST_AFFIX),
    "contains": (_contains, COST_CONTAINS),
    "contains_cased": (_contains_cased, COST_CONTAINS),
    "any": (_anything, COST_EQ),
    "wildcard": (_wildcard, COST_WILDCARD),
    "wildcard_cased": (_wildcard_cased, COST_WILDCARD),
    "cidr": (_cidr, COST_CIDR),
}

# The kinds whose tests compile RE2 programs: the sources of each, by its items.
PROGRAMS: Final[dict[str, Callable[[tuple[str, ...]], tuple[str, ...]]]] = {
    "contains": _literal_sources,
    "contains_cased": _literal_sources,
    "wildcard": _wildcard_sources,
    "wildcard_cased": _wildcard_cased_sources,
}

PATTERN_KEY: Final = "pattern"  # searched with an RE2 set, not looked up (see rules/index.py)
# A string test's `pattern` key of an item, by kind: the RE2 source before and after it,
# whether the item is a literal (escaped) rather than a wildcard's regex, and caseless.
PATTERN_SHAPES: Final[dict[str, tuple[str, str, bool, bool]]] = {
    "eq": ("(?si)^", "$", True, True),
    "eq_cased": ("(?s)^", "$", True, False),
    "prefix": ("(?si)^", "", True, True),
    "prefix_cased": ("(?s)^", "", True, False),
    "suffix": ("(?si)", "$", True, True),
    "suffix_cased": ("(?s)", "$", True, False),
    "contains": ("(?si)", "", True, True),
    "contains_cased": ("(?s)", "", True, False),
    "wildcard": ("(?si)^(?:", ")$", False, True),
    "wildcard_cased": ("(?s)^(?:", ")$", False, False),
}
EQUALITY_KINDS: Final = frozenset({"eq", "eq_cased"})
SUFFIX_KINDS: Final = frozenset({"suffix", "suffix_cased"})
PREFIX_KINDS: Final = frozenset({"prefix", "prefix_cased"})

# Index key functions by name; the rule index computes them on view values.
KEY_FUNCTIONS: Final[dict[str, Callable[[object], str]]] = {
    "value": value_key,
    "basename": basename_key,
    "prefix": prefix_key,
    "number": number_key,
}
