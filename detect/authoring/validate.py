"""`detect validate`: lint rules. One problem per line, `file:line: severity: message`.

Checks, besides what loading reports (YAML, Sigma and compile errors, all errors):
- pySigma's own validators (VALIDATORS; never its ATT&CK one, which downloads data);
- fields the rule's logsource cannot produce: for a category, a Sigma field the mapping
  (mappings/sigma) does not give it is an error, as it could never match; for the record view,
  a field that is neither an audit field (mappings/fields.tsv), an interpreted name nor one of
  ours is a warning (audit grows new fields);
- a logsource that audit logs do not produce (the rule would never run): warning;
- a rule's `chain:` and `process_label:` (docs/process-tree.md), compiled as the engine does:
  a malformed one is an error on the line of the step (the engine would not run the rule);
- correlation rules, resolved against the given rules and the shipped detections (as `detect
  scan` runs them): a reference to no loaded rule, a cycle or an unsupported type is an
  error on the line of what it names;
- ATT&CK tags (detect/attack/lint.py): unknown, revoked or misplaced techniques are errors;
- a shipped detection (under detections/) without its sample file is an error;
- a value audit rules need that auditctl cannot take (a blank, newline or control character:
  `detect audit-rules generate` refuses the rule): warning.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from sigma.rule import SigmaDetectionItem, SigmaRule
from sigma.validators.core import validators as sigma_validators
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from detect.attack.lint import rule_tag_problems
from detect.auditgen.derive import derive
from detect.core.errors import Location
from detect.matching.chains import CHAIN_KEY, ChainError, tree_attributes
from detect.matching.dispatch import RECORD_VIEW, view_of
from detect.matching.fields import record_view_field
from detect.pipeline.samples import sample_path
from detect.sigma.correlation.resolve import resolve
from detect.sigma.documents import Document, child, line_of, node_line, read_documents
from detect.sigma.load import DEFAULT_RULES, load_detections
from detect.sigma.model import Rule, RuleError, RuleSet, location_of
from detect.sigma.pipeline import field_mapping

ERROR, WARNING = "error", "warning"
MAPPING_FILE = "mappings/sigma/linux.yml"
VALIDATORS = (
    "all_of_them_condition",
    "control_character",
    "dangling_detection",
    "double_wildcard",
    "duplicate_references",
    "duplicate_tag",
    "escaped_wildcard",
    "identifier_existence",
    "identifier_uniqueness",
    "invalid_modifier_combinations",
    "number_as_string",
    "tag_format",
    "them_condition_with_single_detection",
    "wildcards_instead_of_modifiers",
)
QUOTED = re.compile(r"'([^']+)'")  # what a correlation error names, as repr() quotes it
YamlPath = Sequence[str | int]


@dataclass(frozen=True, order=True)
class Problem:
    location: Location
    severity: str
    message: str
    rule: str = ""

    def __str__(self) -> str:
        named = f" [{self.rule}]" if self.rule else ""
        return f"{self.location}: {self.severity}: {self.message}{named}"


def validate(paths: Sequence[str | Path] = ()) -> list[Problem]:
    """Every problem of the rules under `paths` (none: the shipped detections)."""
    _lines.cache_clear()  # files may have changed since the last call
    _documents.cache_clear()
    rules = load_detections(paths or (DEFAULT_RULES,), default=False)
    problems = [Problem(e.location, ERROR, e.reason, e.rule) for e in rules.errors]
    problems += _sigma_problems(rules.rules)
    problems += _correlation_problems(rules)
    for rule in rules.rules:
        problems.extend(rule_problems(rule))
    return sorted(set(problems))


def _sigma_problems(rules: list[Rule]) -> list[Problem]:
    by_sigma = {id(rule.sigma): rule for rule in rules}
    out: list[Problem] = []
    for name in VALIDATORS:
        validator = sigma_validators[name]()
        found = [issue for rule in rules for issue in validator.validate(rule.sigma)]
        found += list(validator.finalize())
        for issue in found:
            for sigma in issue.rules:
                rule = by_sigma.get(id(sigma))
                where = rule.source if rule is not None else Location()
                title = rule.title if rule is not None else ""
                severity = ERROR if issue.severity.name in ("HIGH", "CRITICAL") else WARNING
                out.append(Problem(where, severity, f"{name}: {issue.description}", title))
    return out


def rule_problems(rule: Rule) -> Iterator[Problem]:
    kind = view_of(rule)
    if kind is None:
        yield Problem(rule.source, WARNING, "logsource not produced from audit logs", rule.title)
    elif kind == RECORD_VIEW:
        yield from _record_fields(rule)
    else:
        yield from _category_fields(rule, kind)
    if kind is not None:
        yield from _tree_problems(rule, kind)
        for reason in derive(rule).refused:
            yield Problem(rule.source, WARNING, f"audit rules: {reason}", rule.title)
    for tag in rule_tag_problems(rule.tags):
        yield Problem(rule.source, tag.severity, f"{tag.tag}: {tag.message}", rule.title)
    if _is_shipped(rule) and not sample_path(Path(rule.source.source)).exists():
        yield Problem(rule.source, ERROR, "shipped detection without a sample file", rule.title)


def _record_fields(rule: Rule) -> Iterator[Problem]:
    for item in detection_items(rule.sigma):
        field = item.field
        if field and not record_view_field(field):
            message = f"field {field!r} is not an audit field nor an interpreted name"
            yield Problem(_field_location(rule, field), WARNING, message, rule.title)


def _category_fields(rule: Rule, category: str) -> Iterator[Problem]:
    mapping = field_mapping(rule.logsource.product, category)
    allowed = set(mapping.values())
    for item in detection_items(rule.sigma):
        field = item.field
        if field and field not in allowed:  # mapped names are internal; the rest never match
            message = f"field {field!r} is not produced by category {category} ({MAPPING_FILE})"
            yield Problem(_field_location(rule, field), ERROR, message, rule.title)


def _tree_problems(rule: Rule, kind: str) -> Iterator[Problem]:
    """The rule's `chain:` compiled and its `process_label:` read, as the engine does."""
    try:
        chain, _ = tree_attributes(rule, kind)
    except ChainError as error:
        yield Problem(_path_location(rule.source, error.path), ERROR, str(error), rule.title)
        return
    if chain is not None:
        yield from _chain_fields(rule, kind, rule.sigma.custom_attributes[CHAIN_KEY])


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
                where = _path_location(rule.source, path)
                yield Problem(where, ERROR, f"chain.{index}: {message}", rule.title)


def _correlation_problems(rules: RuleSet) -> list[Problem]:
    """Correlation rules resolved against the given rules and the shipped ones (which `detect
    scan` loads by default); only the given correlations' errors are reported."""
    if not rules.correlations:
        return []
    shipped = load_detections()
    given = {_key(location_of(item.source)) for item in rules.correlations}
    others = [c for c in shipped.correlations if _key(location_of(c.source)) not in given]
    resolved = resolve([*rules.rules, *shipped.rules], [*rules.correlations, *others])
    return [
        Problem(_named_location(error), ERROR, error.reason, error.rule)
        for error in resolved.errors
        if _key(error.location) in given
    ]


def _key(location: Location) -> tuple[str, int]:
    return str(Path(location.source).resolve()), location.line


def _named_location(error: RuleError) -> Location:
    """The line of the first scalar of the correlation that the error quotes ('name')."""
    document = _document(error.location)
    names = QUOTED.findall(error.reason)
    if document is None or not names:
        return error.location
    found = child(document.node, "correlation")
    node = found[1] if found else document.node
    line = _scalar_line(node, names[0]) or _scalar_line(document.node, names[0])
    return Location(error.location.source, line) if line else error.location


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


def _path_location(where: Location, path: YamlPath) -> Location:
    """The line of the deepest part of `path` (keys and list positions) in the document."""
    document = _document(where)
    if document is None:
        return where
    return Location(where.source, line_of(document.node, path))


def _document(where: Location) -> Document | None:
    """The YAML document of a rule file that starts at `where`'s line."""
    return _documents(where.source).get(where.line)


@cache
def _documents(path: str) -> dict[int, Document]:
    try:
        documents, _ = read_documents(Path(path).read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError):
        return {}
    return {document.line: document for document in documents}


def detection_items(rule: SigmaRule) -> Iterator[SigmaDetectionItem]:
    for detection in rule.detection.detections.values():
        yield from _items(detection.detection_items)


def _items(items: Iterable[object]) -> Iterator[SigmaDetectionItem]:
    for item in items:
        if isinstance(item, SigmaDetectionItem):
            yield item
        else:
            yield from _items(getattr(item, "detection_items", ()))


def _field_location(rule: Rule, name: str) -> Location:
    """The first line at or after the rule's start that names the field."""
    lines = _lines(rule.source.source)
    pattern = re.compile(rf"^\s*-?\s*['\"]?{re.escape(name)}['\"]?\s*[:|]")
    for number in range(max(rule.source.line, 1), len(lines) + 1):
        if pattern.match(lines[number - 1]):
            return Location(rule.source.source, number)
    return rule.source


@cache
def _lines(path: str) -> tuple[str, ...]:
    """A rule file's lines, read once per `validate` however many problems point into it."""
    try:
        return tuple(Path(path).read_text(encoding="utf-8").splitlines())
    except OSError:
        return ()


def _is_shipped(rule: Rule) -> bool:
    return Path(rule.source.source).resolve().is_relative_to(DEFAULT_RULES.resolve())
