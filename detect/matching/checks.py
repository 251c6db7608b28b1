"""The checks a rule must pass to run: the one checking function of `detect validate` and of
loading (`scan`, `stream`, `test` skip a rule with an error, with `file:line` and reason).

Here the Sigma side meets what audit views produce:
- fields the rule's logsource cannot produce: for a category, a Sigma field the mapping
  (mappings/sigma) does not give it is an error, as it could never match; for the record view,
  a field that is neither an audit field (mappings/fields.tsv), an interpreted name nor one of
  ours is a warning (audit grows new fields);
- a logsource that audit logs do not produce (the rule would never run): warning;
- a rule's `chain:` and `process_label:` (docs/process-tree.md), compiled as the engine does:
  a malformed one is an error on the line of the step;
- ATT&CK tags (detect/attack/lint.py): unknown, revoked or misplaced techniques are errors;
- correlations: a reference to no loaded rule, a cycle or an unsupported type, and a
  `group-by` field (or the field an alias names for a rule) that a base rule of the
  correlation cannot produce on its view are errors (its hits would never group).

`rule_problems` and `correlation_problems` report; `strict` applies them to a loaded RuleSet:
what has an error moves to the set's errors.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from sigma.correlations import SigmaCorrelationRule
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from detect.attack.lint import rule_tag_problems
from detect.attack.tags import ERROR, WARNING, TagProblem
from detect.core.errors import Location
from detect.matching.chains import CHAIN_KEY, ChainError, tree_attributes
from detect.matching.dispatch import RECORD_VIEW, view_of
from detect.matching.fields import HOST_FIELDS, LINUX, record_view_field
from detect.sigma.correlation.model import Correlation
from detect.sigma.correlation.resolve import resolve, rule_key
from detect.sigma.documents import Document, child, line_of, node_line, read_documents
from detect.sigma.model import Rule, RuleError, RuleSet, location_of
from detect.sigma.pipeline import field_mapping

MAPPING_FILE = "mappings/sigma/linux.yml"
YamlPath = Sequence[str | int]
QUOTED = re.compile(r"'([^']+)'")  # what a correlation error names, as repr() quotes it


@dataclass(frozen=True, order=True)
class Problem:
    location: Location
    severity: str
    message: str
    rule: str = ""

    def __str__(self) -> str:
        named = f" [{self.rule}]" if self.rule else ""
        return f"{self.location}: {self.severity}: {self.message}{named}"

    def error(self) -> RuleError:
        return RuleError(self.message, self.location, self.rule)


def strict(rules: RuleSet) -> RuleSet:
    """`rules` without the rules and correlations that have an error: each goes to `errors`
    (warnings do not skip). The correlations are checked against the rules that remain."""
    forget_files()
    kept: list[Rule] = []
    errors = list(rules.errors)
    for rule in rules.rules:
        found = [p for p in rule_problems(rule) if p.severity == ERROR]
        errors.extend(problem.error() for problem in found)
        if not found:
            kept.append(rule)
    bad = {id(item): problem for item, problem in correlation_problems(kept, rules.correlations)}
    errors.extend(problem.error() for problem in bad.values())
    correlations = [item for item in rules.correlations if id(item) not in bad]
    errors.sort(key=lambda error: (error.location.source, error.location.line))
    return replace(rules, rules=kept, correlations=correlations, errors=errors)


def forget_files() -> None:
    """Rule files may have changed since the last check: read them again for locations."""
    _lines.cache_clear()
    _documents.cache_clear()


# -- rules -----------------------------------------------------------------------------------


def rule_problems(rule: Rule) -> Iterator[Problem]:
    """The rule's problems on its view, its process-tree attributes and its ATT&CK tags."""
    kind = view_of(rule)
    if kind is None:
        yield Problem(rule.source, WARNING, "logsource not produced from audit logs", rule.title)
    elif kind == RECORD_VIEW:
        yield from _record_fields(rule)
    else:
        yield from _category_fields(rule, kind)
    if kind is not None:
        yield from _tree_problems(rule, kind)
    for tag in _tag_problems(rule.tags):
        yield Problem(rule.source, tag.severity, f"{tag.tag}: {tag.message}", rule.title)


@lru_cache(maxsize=4096)
def _tag_problems(tags: tuple[str, ...]) -> tuple[TagProblem, ...]:
    """The problems of a rule's tags against the shipped catalog, once per set of tags (rules
    share their tags: thousands of rules have a few hundred sets)."""
    return tuple(rule_tag_problems(tags))


def _record_fields(rule: Rule) -> Iterator[Problem]:
    for field in rule.fields:
        if not record_view_field(field):
            message = f"field {field!r} is not an audit field nor an interpreted name"
            yield Problem(_field_location(rule, field), WARNING, message, rule.title)


def _category_fields(rule: Rule, category: str) -> Iterator[Problem]:
    allowed = _produced(rule.logsource.product, category)
    for field in rule.fields:
        if field not in allowed:  # mapped names are internal; the rest never match
            message = f"field {field!r} is not produced by category {category} ({MAPPING_FILE})"
            yield Problem(_field_location(rule, field), ERROR, message, rule.title)


@cache
def _produced(product: str | None, category: str) -> frozenset[str]:
    """The view fields a category produces (thousands of rules share a few categories)."""
    return frozenset(field_mapping(product, category).values())


def _tree_problems(rule: Rule, kind: str) -> Iterator[Problem]:
    """The rule's `chain:` compiled and its `process_label:` read, as the engine does."""
    try:
        chain, _ = tree_attributes(rule, kind)
    except ChainError as error:
        yield Problem(path_location(rule.source, error.path), ERROR, str(error), rule.title)
        return
    if chain is not None:
        yield from _chain_fields(rule, kind, rule.attributes[CHAIN_KEY])


def _chain_fields(rule: Rule, category: str, steps: list[dict[str, Any]]) -> Iterator[Problem]:
    """Fields of chain steps that the category cannot produce: such a step never matches."""
    produced = field_mapping(rule.logsource.product, category)
    for index, step in enumerate(steps):
        selection = step["selection"]
        in_list = isinstance(selection, list)
        for position, tests in enumerate(selection if in_list else [selection]):
            for key in tests:
                name = key.split("|", 1)[0]
                if name in produced:
                    continue
                where_in: tuple[int, ...] = (position,) if in_list else ()
                path = (CHAIN_KEY, index, "selection", *where_in, key)
                message = f"field {name!r} is not produced by category {category} ({MAPPING_FILE})"
                where = path_location(rule.source, path)
                yield Problem(where, ERROR, f"chain.{index}: {message}", rule.title)


# -- correlations ----------------------------------------------------------------------------


def correlation_problems(
    rules: Sequence[Rule], correlations: Sequence[SigmaCorrelationRule]
) -> Iterator[tuple[SigmaCorrelationRule, Problem]]:
    """Each correlation resolved against `rules` that cannot run: a reference to no loaded rule,
    a cycle, an unsupported type (detect.sigma.correlation.resolve), or a `group-by` field that
    one of its base rules cannot produce; with the line of what the problem names."""
    if not correlations:
        return
    resolved = resolve(rules, correlations)
    by_place = {location_of(item.source): item for item in correlations}
    for error in resolved.errors:
        names = QUOTED.findall(error.reason)
        where = scalar_location(error.location, names[0]) if names else error.location
        item = by_place.get(error.location)
        if item is not None:
            yield item, Problem(where, ERROR, error.reason, error.rule)
    by_key = {rule_key(rule.id, rule.name): rule for rule in rules}
    for correlation in resolved.correlations:
        problem = _group_problem(correlation, by_key)
        if problem is not None:
            yield correlation.sigma, problem


def _group_problem(correlation: Correlation, by_key: dict[str, Rule]) -> Problem | None:
    for name in correlation.group_by:
        for key in correlation.inputs:
            rule = by_key.get(key)
            if rule is None:  # a correlation over a correlation: its hits carry the group
                continue
            field = correlation.aliases.get(name, {}).get(key, name)
            if not can_produce(rule, field):
                shown = field if field == name else f"{field} (alias {name})"
                message = (
                    f"group-by {shown!r} is not produced by rule {rule.title!r} "
                    f"({rule.source}): its hits would never group"
                )
                where = scalar_location(correlation.source, name)
                return Problem(where, ERROR, message, correlation.title)
    return None


def can_produce(rule: Rule, field: str) -> bool:
    """Whether the view `rule` is tested on can hold `field` (detect.matching.fields reads it)."""
    if field in HOST_FIELDS:
        return True
    kind = view_of(rule)
    if kind is None:
        return False
    if kind == RECORD_VIEW:
        return record_view_field(field)
    mapping = field_mapping(LINUX, kind)
    return field in mapping or field in mapping.values()


# -- locations -------------------------------------------------------------------------------


def path_location(where: Location, path: YamlPath) -> Location:
    """The line of the deepest part of `path` (keys and list positions) in the document."""
    document = rule_document(where)
    if document is None:
        return where
    return Location(where.source, line_of(document.node, path))


def rule_document(where: Location) -> Document | None:
    """The YAML document of a rule file that starts at `where`'s line."""
    return _documents(where.source).get(where.line)


@cache
def _documents(path: str) -> dict[int, Document]:
    try:
        documents, _ = read_documents(Path(path).read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError):
        return {}
    return {document.line: document for document in documents}


def _field_location(rule: Rule, name: str) -> Location:
    """The first line at or after the rule's start that names the field."""
    pattern = re.compile(rf"^\s*-?\s*['\"]?{re.escape(name)}['\"]?\s*[:|]")
    return _first_line(rule.source, pattern)


def scalar_location(where: Location, value: str, key: str = "correlation") -> Location:
    """The line of the first scalar `value` under `key` of the document at `where` (anywhere
    in the document when `key` holds none)."""
    document = rule_document(where)
    if document is None:
        return where
    found = child(document.node, key)
    node = found[1] if found else document.node
    line = _scalar_line(node, value) or _scalar_line(document.node, value)
    return Location(where.source, line) if line else where


def _scalar_line(node: Node, value: str) -> int | None:
    if isinstance(node, ScalarNode):
        return node_line(node) if node.value == value else None
    children: list[Node] = []
    if isinstance(node, MappingNode):
        children = [part for pair in node.value for part in pair]
    elif isinstance(node, SequenceNode):
        children = list(node.value)
    for part in children:
        line = _scalar_line(part, value)
        if line is not None:
            return line
    return None


def _first_line(where: Location, pattern: re.Pattern[str]) -> Location:
    lines = _lines(where.source)
    for number in range(max(where.line, 1), len(lines) + 1):
        if pattern.match(lines[number - 1]):
            return Location(where.source, number)
    return where


@cache
def _lines(path: str) -> tuple[str, ...]:
    """A rule file's lines, read once per check however many problems point into it."""
    try:
        return tuple(Path(path).read_text(encoding="utf-8").splitlines())
    except OSError:
        return ()
