"""A detection's condition as what audit rules can see of it: an OR of terms, each an AND of
literal field tests (`Atom`s).

pySigma's parsed condition (after the field mapping of `mappings/sigma`) is walked into
disjunctive normal form. Only literal tests are kept, with their original case and numbers:
`SYSCALL: openat` (equality), `name|startswith: /home/` (a prefix: the text before a string's
first wildcard), `Image|endswith: /bash` (a suffix: the text after a leading wildcard, when no
other wildcard follows), `a0|re: '^11$'` (an anchored regular expression of plain characters
is an equality), numbers as their text. Anything else (regular expressions, keywords, field
references, `exists`) is `ANY` text: it constrains the event, but nothing an audit rule can
filter on, so it is kept only so that a term is never empty.

Soundness: every event a rule matches satisfies every atom of some term. Dropping a test only
widens a term, so negations are reduced to what certainly holds: `not (a or b)` gives the
negated atoms `not a` and `not b`; `not (a and b)` gives nothing. A condition whose normal form
would pass `MAX_TERMS` terms raises `TooComplex` (the caller falls back to the broad rule).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import product
from typing import Any

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.rule import SigmaRule
from sigma.types import (
    SigmaBool,
    SigmaExpansion,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaString,
    SpecialChars,
)

from detect.core.errors import DetectError

MAX_TERMS = 512
EQ, PREFIX, SUFFIX, ENTRY, OTHER = "eq", "prefix", "suffix", "entry", "other"
ENTRY_TAILS = ("[^/]+$", "[^/]*$")  # the rest of the name, without a slash, to the end
REGEX_SPECIAL = frozenset(".^$*+?{}[]()|\\")
ANCHORED_LITERAL = re.compile(r"\^([A-Za-z0-9_/:,=@%-]*)\$")  # `^11$`: no regex metacharacter


class TooComplex(DetectError):
    """A condition whose normal form is too large to derive rules from."""


@dataclass(frozen=True, slots=True, order=True)
class Atom:
    """One literal test: `field` (None for a keyword) `op` `value`, or its negation."""

    field: str | None
    op: str  # eq | prefix | suffix | entry (value: directories, one a line) | other
    value: str
    negated: bool = False


Term = frozenset[Atom]


def condition_terms(rule: SigmaRule) -> list[Term]:
    """The terms of `rule`'s conditions (OR-ed), in a stable order."""
    found: list[Term] = []
    for condition in rule.detection.parsed_condition:
        found.extend(_dnf(condition.parse()))
        _check_size(len(found))
    return sorted(set(found), key=_term_key)


def _term_key(term: Term) -> list[tuple[str, str, str, bool]]:
    """A sort key for terms whose atoms may have no field (keywords)."""
    return sorted((a.field or "", a.op, a.value, a.negated) for a in term)


def _dnf(tree: Any) -> list[Term]:
    if isinstance(tree, ConditionAND):
        parts = [_dnf(arg) for arg in tree.args]
        _check_size(_product_size(parts))
        return [frozenset().union(*combo) for combo in product(*parts)]
    if isinstance(tree, ConditionOR):
        return [term for arg in tree.args for term in _dnf(arg)]
    if isinstance(tree, ConditionNOT):
        return [frozenset(_negated(tree.args[0]))]
    return [frozenset(_atoms(tree))]


def _negated(tree: Any) -> Iterator[Atom]:
    """Atoms certainly false when `tree` is false."""
    if isinstance(tree, ConditionOR):
        for arg in tree.args:
            yield from _negated(arg)
    elif not isinstance(tree, (ConditionAND, ConditionNOT)):
        for atom in _atoms(tree):
            yield Atom(atom.field, atom.op, atom.value, not atom.negated)


def _atoms(tree: Any) -> Iterator[Atom]:
    if isinstance(tree, ConditionFieldEqualsValueExpression):
        field: str | None = tree.field
    elif isinstance(tree, ConditionValueExpression):
        field = None
    else:
        raise TooComplex(f"unsupported condition element {type(tree).__name__}")
    value = tree.value
    if isinstance(value, SigmaExpansion):
        # an OR of values: only what all of them share would be certain; keep it opaque
        yield Atom(field, OTHER, "")
        return
    yield atom_of(field, value)


def atom_of(field: str | None, value: Any) -> Atom:
    if field is None:
        return Atom(None, OTHER, str(value))
    if isinstance(value, SigmaString):
        return _string_atom(field, value)
    if isinstance(value, SigmaNumber):
        return Atom(field, EQ, str(value.number))
    if isinstance(value, SigmaBool):
        return Atom(field, EQ, "true" if value.boolean else "false")
    if isinstance(value, SigmaRegularExpression):
        literal = ANCHORED_LITERAL.fullmatch(str(value.regexp))
        if literal is not None and not value.flags:
            return Atom(field, EQ, literal[1])
        folders = None if value.flags else entry_dirs(str(value.regexp))
        if folders:
            return Atom(field, ENTRY, "\n".join(folders))
    return Atom(field, OTHER, type(value).__name__)


def _string_atom(field: str, value: SigmaString) -> Atom:
    parts = value.s
    rest = parts[1:]
    leading = bool(parts) and parts[0] is SpecialChars.WILDCARD_MULTI
    if leading and rest and all(isinstance(part, str) for part in rest):
        return Atom(field, SUFFIX, "".join(str(part) for part in rest))
    literal: list[str] = []
    for part in value.s:
        if not isinstance(part, str):
            if part is SpecialChars.WILDCARD_MULTI or part is SpecialChars.WILDCARD_SINGLE:
                return Atom(field, PREFIX if literal else OTHER, "".join(literal))
            return Atom(field, OTHER, "")
        literal.append(part)
    return Atom(field, EQ, "".join(literal))


def entry_dirs(regexp: str) -> tuple[str, ...] | None:
    """The directories a regular expression confines a path to the direct entries of:
    `^/(tmp|var/tmp)/\\.[^/]+$` -> ("/tmp", "/var/tmp"). Only a plain form is read: `^`, literal
    characters (escaped ones too) and groups of literal alternatives, then `[^/]+$`; else None."""
    if not regexp.startswith("^"):
        return None
    prefixes, pos = [""], 1
    while pos < len(regexp):
        if regexp[pos:] in ENTRY_TAILS:
            return _entry_folders(prefixes)
        found = _regex_literals(regexp, pos)
        if found is None:
            return None
        alternatives, pos = found
        prefixes = [p + a for p in prefixes for a in alternatives]
    return None


def _regex_literals(regexp: str, pos: int) -> tuple[list[str], int] | None:
    """The literal alternatives at `pos` (one character, an escape, or a group) and the end."""
    char = regexp[pos]
    if char == "\\" and pos + 1 < len(regexp) and not regexp[pos + 1].isalnum():
        return [regexp[pos + 1]], pos + 2
    if char == "(":
        end = regexp.find(")", pos)
        body = regexp[pos + 1 : end].removeprefix("?:")
        if end < 0 or any(c in REGEX_SPECIAL - {"|"} for c in body):
            return None
        return body.split("|"), end + 1
    return None if char in REGEX_SPECIAL else ([char], pos + 1)


def _entry_folders(prefixes: list[str]) -> tuple[str, ...] | None:
    folders = [p.rpartition("/")[0] for p in prefixes if p.startswith("/")]
    if len(folders) != len(prefixes) or not all(folders):
        return None
    return tuple(sorted(set(folders)))


def _product_size(parts: list[list[Term]]) -> int:
    size = 1
    for part in parts:
        size *= len(part)
    return size


def _check_size(size: int) -> None:
    if size > MAX_TERMS:
        raise TooComplex(f"the condition has more than {MAX_TERMS} terms in normal form")
