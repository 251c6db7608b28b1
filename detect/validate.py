"""`detect validate`: lint rules. One problem per line, `file:line: severity: message`.

Checks, besides what loading reports (YAML, Sigma and compile errors, all errors):
- pySigma's own validators (VALIDATORS; never its ATT&CK one, which downloads data);
- fields the rule's logsource cannot produce: for a category, a Sigma field the mapping
  (mappings/sigma) does not give it is an error, as it could never match; for the record view,
  a field that is neither an audit field (mappings/fields.tsv), an interpreted name nor one of
  ours is a warning (audit grows new fields);
- a logsource that audit logs do not produce (the rule would never run): warning;
- ATT&CK tags (detect/attack/lint.py): unknown, revoked or misplaced techniques are errors;
- a shipped detection (under detections/) without its sample file is an error.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from sigma.rule import SigmaDetectionItem, SigmaRule
from sigma.validators.core import validators as sigma_validators

from detect.attack.lint import rule_tag_problems
from detect.auditd import tables
from detect.auditd.views import CONTEXT, ID_FIELDS
from detect.engine import DEFAULT_RULES, RECORD_VIEW, load_detections, view_of
from detect.errors import Location
from detect.rules.model import Rule
from detect.rules.pipeline import field_mapping
from detect.samples import sample_path

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
RECORD_EXTRAS = frozenset(
    ("type", "CommandLine", "EXIT", "PROCTITLE", *CONTEXT, *(f.upper() for f in ID_FIELDS))
)


@dataclass(frozen=True, order=True)
class Problem:
    location: Location
    severity: str
    message: str
    rule: str = ""

    def __str__(self) -> str:
        named = f" [{self.rule}]" if self.rule else ""
        return f"{self.location}: {self.severity}: {self.message}{named}"


def validate(paths: Iterable[str | Path]) -> list[Problem]:
    _lines.cache_clear()  # files may have changed since the last call
    rules = load_detections(paths, default=False)
    problems = [Problem(e.location, ERROR, e.reason, e.rule) for e in rules.errors]
    problems += _sigma_problems(rules.rules)
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
    for tag in rule_tag_problems(rule.tags):
        yield Problem(rule.source, tag.severity, f"{tag.tag}: {tag.message}", rule.title)
    if _is_shipped(rule) and not sample_path(Path(rule.source.source)).exists():
        yield Problem(rule.source, ERROR, "shipped detection without a sample file", rule.title)


def _record_fields(rule: Rule) -> Iterator[Problem]:
    for item in detection_items(rule.sigma):
        field = item.field
        if field and field not in RECORD_EXTRAS and not tables.is_known_field(field):
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
