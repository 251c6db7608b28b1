"""The rule index: a view is only tested against the rules that can match it.

For each rule, the index reads its compiled condition tree and finds a *clause* the view must
satisfy for the rule to match: some value of some field has one of a set of keys, e.g. `type`
equal to `execve`, `SYSCALL` in a set, `Image` with the basename `bash`, `name` matching one
of a few patterns, or, for `1 of cmd*` over `a1`…`a7`, any of those seven fields starting
with `--cpu`. The rule is filed under every key of its clause and only tested on views that
hit one of them; rules without a clause are tested on every view.

Keys come from the value tests (`ValueSpec.keys` in `values.py`), per key function: `value`
(the lowercased value: equality), `number` (the canonical number: `exit: -13`), `basename`
(`Image|endswith: /bash`), `prefix` (the first PREFIX_LENGTH characters: `startswith:
/etc/sudoers`) and `pattern` (RE2 sources: every
string test, searched all at once with one RE2 set per field). Dictionary keys are
preferred; fields in `index_fields` are preferred, in order, over other fields.

Soundness: a rule is skipped only when no value of the view (every element of a list value)
has a key of its clause. Clauses are found so that this is never wrong: a test gives its
keys; an AND holds only if each child holds, so any one child's clause will do (the best is
taken; list values mean two children may be satisfied by different elements, so sets are
never intersected); an OR holds only if some branch holds, so it needs a clause from every
branch and requires their union; a NOT, a keyword test or a test of the view requires
nothing. The key functions computed on view values are the ones the keys were made with
(`KEY_FUNCTIONS`), and a pattern matches every value its test passes. A field searched only
for patterns that are all anchored at a literal ASCII character (`startswith: --cpu`) skips
the search for a value whose text starts with another ASCII character, or is empty
(`first_characters`): no such pattern can match it; a non-ASCII first character is searched
(caseless matching folds some onto ASCII letters).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final, cast

import re2

from detect.sigma.condition import AllOf, AnyOf, FieldTest, Node, View
from detect.sigma.model import Rule
from detect.sigma.regex import re2_options
from detect.sigma.values import KEY_FUNCTIONS, PATTERN_KEY

Requirement = tuple[str, str]  # (field, index key function name): an atom
Requirements = dict[Requirement, frozenset[str]]
Clause = dict[Requirement, frozenset[str]]  # holds when any of its atoms holds
Rank = Callable[[Requirement], tuple[int, int]]
ClauseRank = tuple[tuple[int, int], int, int]
KEY_PREFERENCE: Final = ("value", "number", "basename", PATTERN_KEY, "prefix")  # cheap, exact
PATTERN_MEMORY: Final = 16 << 20  # per RE2 set: its DFA cache resets when full (sets never bail)
VALUE_CACHE: Final = 4096  # values remembered per field table (cleared when full)
ALWAYS: Final = [0]  # the one pattern of a lone matcher was found
CASELESS_ANCHOR: Final = "(?si)^"  # how `values._pattern_keys` begins an anchored pattern
CASED_ANCHOR: Final = "(?s)^"


def requirements(node: Node) -> Requirements:
    """Single-field requirements: for each (field, key function) that every way of matching
    `node` goes through, the set some value's key must be in."""
    if isinstance(node, FieldTest):
        return {(node.field, name): keys for name, keys in node.spec.keys.items()}
    if isinstance(node, AllOf):
        return _all_requirements([requirements(child) for child in node.children])
    if isinstance(node, AnyOf):
        return _any_requirements([requirements(child) for child in node.children])
    return {}


def best_clause(node: Node, rank: Rank) -> Clause | None:
    """The best clause (by `clause_rank`) that must hold for `node` to hold, if any: of
    several as good, the first."""
    if isinstance(node, FieldTest):
        return _best_atom(node, rank)
    if isinstance(node, AllOf):
        best: Clause | None = None
        best_rank: ClauseRank | None = None
        for child in node.children:
            clause = best_clause(child, rank)
            if clause:
                ranked = clause_rank(clause, rank)
                if best_rank is None or ranked < best_rank:
                    best, best_rank = clause, ranked
        return best
    if isinstance(node, AnyOf):
        union: Clause = {}
        for child in node.children:
            clause = best_clause(child, rank)
            if clause is None:
                return None
            for atom, keys in clause.items():
                union[atom] = union.get(atom, frozenset()) | keys
        return union
    return None


def _best_atom(node: FieldTest, rank: Rank) -> Clause | None:
    """The best clause of one test: one of its atoms (`clause_rank` of a lone atom)."""
    best: Requirement | None = None
    best_rank: ClauseRank | None = None
    for name, keys in node.spec.keys.items():
        if keys:
            atom = (node.field, name)
            ranked = (rank(atom), 1, len(keys))
            if best_rank is None or ranked < best_rank:
                best, best_rank = atom, ranked
    return None if best is None else {best: node.spec.keys[best[1]]}


def clause_rank(clause: Clause, rank: Rank) -> ClauseRank:
    """Worst atom first, then fewer atoms, then fewer keys: lower is better."""
    return max(map(rank, clause)), len(clause), sum(map(len, clause.values()))


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
NO_BUCKETS: Final[tuple[Bucket, ...]] = ()
KeyTable = tuple[Callable[[object], str], dict[str, Bucket]]
SetMatch = Callable[[bytes], "list[int] | None"]  # an RE2 set's Match on UTF-8 text
PatternTable = tuple[SetMatch, tuple[Bucket, ...]]  # the bucket of each pattern of the set


class FieldTable:
    """The buckets one field's values reach: its key tables, then its pattern set. Values
    recur (executables, libraries, syscall names), so each value's buckets are cached."""

    __slots__ = ("_cache", "field", "firsts", "lookups", "patterns")

    def __init__(
        self,
        field: str,
        lookups: tuple[KeyTable, ...],
        patterns: tuple[PatternTable, ...],
        firsts: frozenset[str] | None = None,
    ) -> None:
        """`firsts`: when every pattern is anchored at a literal ASCII character, those
        characters (`first_characters`): a value that starts with another ASCII character,
        or is empty, reaches no pattern."""
        self.field = field
        self.lookups = lookups
        self.patterns = patterns
        self.firsts = firsts if patterns else None
        self._cache: dict[object, tuple[Bucket, ...]] = {}

    def collect(self, value: object, hits: list[Bucket]) -> None:
        """Add the buckets of `value` (each element of a list) to `hits`."""
        if type(value) is list:
            for item in value:
                if item is not None:
                    hits.extend(self.lookup(item))
        else:
            hits.extend(self.lookup(value))

    def lookup(self, value: object) -> tuple[Bucket, ...]:
        """The buckets of one value (not a list: see `collect`), often none: `()`. A field
        of patterns alone answers values that cannot start a match without its cache (they
        are often many, distinct: pointers in `a1`)."""
        if self.firsts is not None and not self.lookups and not self._may_match(value):
            return NO_BUCKETS
        found = self._cache.get(value)
        if found is None:
            found = self._remember(value)
        return found

    def _remember(self, value: object) -> tuple[Bucket, ...]:
        cache = self._cache
        if len(cache) >= VALUE_CACHE:
            cache.clear()
        found = cache[value] = self._buckets(value)
        return found

    def _may_match(self, value: object) -> bool:
        """False when the value's text cannot start a match of any pattern (`firsts`)."""
        firsts = self.firsts
        if firsts is None:
            return True
        text = value if type(value) is str else str(value)
        if not text:
            return False
        first = text[0]
        return not first.isascii() or first in firsts

    def _buckets(self, item: object) -> tuple[Bucket, ...]:
        found: list[Bucket] = []
        for key_of, table in self.lookups:
            bucket = table.get(key_of(item))
            if bucket is not None:
                found.append(bucket)
        if not self._may_match(item):
            return tuple(found)
        for match, buckets in self.patterns:
            found.extend(buckets[i] for i in _search(match, item))
        return tuple(found)


def field_rank(index_fields: Sequence[str]) -> Rank:
    """The rank of an atom in an index of `index_fields`: its field's place there (others
    after), then its key function's in KEY_PREFERENCE (remembered: a few atoms recur over
    thousands of rules)."""
    fields = tuple(index_fields)
    ranks: dict[Requirement, tuple[int, int]] = {}

    def rank(atom: Requirement) -> tuple[int, int]:
        found = ranks.get(atom)
        if found is None:
            field, name = atom
            position = fields.index(field) if field in fields else len(fields)
            found = ranks[atom] = (position, KEY_PREFERENCE.index(name))
        return found

    return rank


class RuleIndex:
    """Rules filed under the keys of one clause each; `candidates(view)` keeps rule order."""

    def __init__(
        self,
        rules: Iterable[Rule],
        index_fields: Sequence[str],
        clause_of: Callable[[Rule], Clause | None] | None = None,
    ) -> None:
        """`clause_of` gives each rule's clause (default: the best of `rule.plan` by `rank`;
        e.g. of the plan restricted to one record type, or as stored with the rule: the
        engine's dispatch finds them with `field_rank(index_fields)`, as `rank` does)."""
        self.rules: tuple[Rule, ...] = tuple(rules)
        self.index_fields = tuple(index_fields)
        self.rank = field_rank(self.index_fields)
        self.clause_of: dict[int, Clause | None] = {}
        always: list[int] = []
        ordinals: dict[Requirement, dict[str, list[int]]] = {}
        for ordinal, rule in enumerate(self.rules):
            clause = best_clause(rule.plan, self.rank) if clause_of is None else clause_of(rule)
            self.clause_of[ordinal] = clause
            if clause is None:
                always.append(ordinal)
                continue
            for atom, keys in clause.items():
                table = ordinals.setdefault(atom, {})
                for key in keys:
                    table.setdefault(key, []).append(ordinal)
        self._always_ordinals = tuple(always)
        self.always: tuple[Rule, ...] = tuple(self.rules[i] for i in always)
        self._made: dict[tuple[int, ...], Bucket] = {}  # one bucket per set of ordinals
        self._fields = self._field_tables(ordinals)
        self._made = {}  # needed only while the tables are built
        self._by_field = {table.field: table for table in self._fields}

    def _bucket(self, found: list[int]) -> Bucket:
        """A bucket's own ordinals, and its rules merged with the unindexed ones, in order;
        made once for the keys that reach the same rules (a rule's keys all do: of the 13,847
        buckets of 5,000 rules, 5,050 differ)."""
        own = tuple(found)
        bucket = self._made.get(own)
        if bucket is None:
            merged = sorted(set(found).union(self._always_ordinals))
            bucket = self._made[own] = own, tuple(self.rules[i] for i in merged)
        return bucket

    def _field_tables(
        self, ordinals: dict[Requirement, dict[str, list[int]]]
    ) -> tuple[FieldTable, ...]:
        """Per field (looked up once per view): its key tables, then its pattern set."""
        fields: dict[str, tuple[list[KeyTable], list[PatternTable]]] = {}
        firsts: dict[str, frozenset[str] | None] = {}
        for (field, name), table in ordinals.items():
            lookups, patterns = fields.setdefault(field, ([], []))
            if name == PATTERN_KEY:
                patterns.extend(self._pattern_sets(table))
                firsts[field] = first_characters(table)
            else:
                buckets = {key: self._bucket(found) for key, found in table.items()}
                lookups.append((KEY_FUNCTIONS[name], buckets))
        return tuple(
            FieldTable(name, tuple(keys), tuple(sets), firsts.get(name))
            for name, (keys, sets) in fields.items()
        )

    def _pattern_sets(self, table: dict[str, list[int]]) -> list[PatternTable]:
        """One RE2 set for a field's patterns, or, when RE2 refuses a set that large (memory,
        program size), as many sets as it takes, halving; a pattern no set takes is searched
        on its own, or (when RE2 refuses it alone) reaches its rules for every value."""
        return pattern_tables([(p, self._bucket(found)) for p, found in table.items()])

    @property
    def tables(self) -> tuple[FieldTable, ...]:
        """The field tables, in the order `candidates` looks the fields up."""
        return self._fields

    @property
    def fields(self) -> tuple[str, ...]:
        """The fields the index looks up, in the order `candidates` does."""
        return tuple(table.field for table in self._fields)

    def candidates(self, view: View) -> tuple[Rule, ...]:
        """The rules that can match `view`, in load order; never misses a rule that matches."""
        hits: list[Bucket] = []
        for table in self._fields:
            value = view.get(table.field)
            if value is not None:
                table.collect(value, hits)
        return self.select(hits)

    def table(self, field: str) -> FieldTable | None:
        """The table of a field the index reads (None: one it does not)."""
        return self._by_field.get(field)

    def hits(self, field: str, value: object, hits: list[Bucket]) -> None:
        """Add to `hits` the buckets one field's value reaches, for callers that know where
        a view's values come from (`candidates` over several sources: `select(hits)`)."""
        table = self._by_field.get(field)
        if table is not None and value is not None:
            table.collect(value, hits)

    def select(self, hits: list[Bucket]) -> tuple[Rule, ...]:
        """The candidate rules, in load order, of the buckets a view reached."""
        if not hits:
            return self.always
        first = hits[0]
        if all(bucket is first for bucket in hits):
            return first[1]
        return self._union(hits)

    def _union(self, hits: list[Bucket]) -> tuple[Rule, ...]:
        chosen = set(self._always_ordinals).union(*(bucket[0] for bucket in hits))
        return tuple(self.rules[i] for i in sorted(chosen))


def first_characters(patterns: Iterable[str]) -> frozenset[str] | None:
    """The ASCII characters a text must start with to match one of `patterns`, when each is
    anchored at a literal ASCII character (`(?si)^\\-\\-cpu`: `-`; `(?si)^bash`: `b`, `B`), as
    `values._pattern_keys` writes the patterns of `startswith` and equality tests; None when
    one is not (a wildcard, `endswith`, `contains`). A text starting with a non-ASCII
    character may match still: caseless matching folds some onto ASCII letters (`ſ`, `K`)."""
    found: set[str] = set()
    for pattern in patterns:
        first = _anchored_first(pattern)
        if first is None:
            return None
        found.add(first)
        if pattern.startswith(CASELESS_ANCHOR):
            found.update((first.lower(), first.upper()))
    return frozenset(found)


def _anchored_first(pattern: str) -> str | None:
    for anchor in (CASELESS_ANCHOR, CASED_ANCHOR):
        if pattern.startswith(anchor):
            rest = pattern[len(anchor) :]
            if rest[:1] == "\\" and len(rest) > 1 and rest[1].isascii() and not rest[1].isalnum():
                return rest[1]  # an escaped punctuation character: itself
            if rest[:1].isascii() and rest[:1].isalnum():
                return rest[0]
            return None
    return None


def pattern_tables(entries: list[tuple[str, Bucket]]) -> list[PatternTable]:
    """`entries` (pattern, bucket) as few RE2 sets as RE2 compiles (see `_pattern_sets`)."""
    patterns = re2.Set.SearchSet(re2_options(max_mem=PATTERN_MEMORY))
    try:
        for pattern, _ in entries:
            patterns.Add(pattern)
        patterns.Compile()
    except re2.error:
        if len(entries) == 1:
            return [(_lone_matcher(entries[0][0]), (entries[0][1],))]
        half = len(entries) // 2
        return pattern_tables(entries[:half]) + pattern_tables(entries[half:])
    return [(set_matcher(patterns), tuple(bucket for _, bucket in entries))]


def _lone_matcher(pattern: str) -> SetMatch:
    """One pattern RE2 takes alone but not in a set; or, if it refuses it too, a match on
    every value (the index may only ever over-select)."""
    try:
        search = re2.compile(pattern, re2_options(max_mem=PATTERN_MEMORY)).search
    except re2.error:
        return lambda text: ALWAYS

    def match(text: bytes) -> list[int] | None:
        return ALWAYS if search(text) is not None else None

    return match


def set_matcher(patterns: Any) -> SetMatch:
    """The compiled set's own `Match` (C++, on bytes) where google-re2's wrapper keeps it in
    `_set`: the wrapper's Python method costs more than the search on short values. The
    wrapper's `Match`, which takes bytes too, otherwise."""
    inner = getattr(patterns, "_set", None)
    match = getattr(inner, "Match", None)
    return cast(SetMatch, match if callable(match) else patterns.Match)


def _search(match: SetMatch, value: object) -> list[int]:
    """The ids of the patterns found in a value's text (RE2 reads undecodable bytes too)."""
    text = value if type(value) is str else str(value)
    return match(text.encode("utf-8", "surrogateescape")) or []
