"""`detect validate`: lint rules. One problem per line, `file:line: severity: message`.

Checks, besides what loading reports (YAML, Sigma and compile errors, all errors):
- the checks loading applies too (detect/matching/checks.py: fields the rule's view cannot
  produce, `chain:` and `process_label:`, ATT&CK tags, a correlation `group-by` that a base
  rule cannot produce): `scan`, `stream` and `test` skip a rule with one of these errors;
- pySigma's own validators (VALIDATORS; never its ATT&CK one, which downloads data);
- correlation rules, resolved against the given rules and the shipped detections (as `detect
  scan` runs them): a reference to no loaded rule, a cycle or an unsupported type is an
  error on the line of what it names;
- a shipped detection (under detections/) without its sample file is an error;
- a value audit rules need that auditctl cannot take (a blank, newline or control character:
  `detect audit-rules generate` refuses the rule): warning.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from sigma.validators.core import validators as sigma_validators

from detect.auditgen.derive import derive
from detect.core.errors import Location
from detect.matching import checks
from detect.matching.checks import ERROR, WARNING, Problem
from detect.matching.dispatch import view_of
from detect.pipeline.samples import sample_path
from detect.sigma.load import DEFAULT_RULES, load_detections
from detect.sigma.model import Rule, RuleSet, location_of

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
__all__ = ["ERROR", "WARNING", "Problem", "rule_problems", "validate"]


def validate(paths: Sequence[str | Path] = ()) -> list[Problem]:
    """Every problem of the rules under `paths` (none: the shipped detections)."""
    checks.forget_files()  # files may have changed since the last call
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
    """The checks loading applies (detect.matching.checks), then the authoring ones: what
    audit rules need, and a shipped detection's sample file."""
    yield from checks.rule_problems(rule)
    if view_of(rule) is not None:
        for reason in derive(rule).refused:
            yield Problem(rule.source, WARNING, f"audit rules: {reason}", rule.title)
    if _is_shipped(rule) and not sample_path(Path(rule.source.source)).exists():
        yield Problem(rule.source, ERROR, "shipped detection without a sample file", rule.title)


def _correlation_problems(rules: RuleSet) -> list[Problem]:
    """Correlation rules checked as loading does (detect.matching.checks), against the given
    rules and the shipped ones (which `detect scan` loads by default); only the given
    correlations' problems are reported."""
    if not rules.correlations:
        return []
    shipped = load_detections()
    given = {_key(location_of(item.source)) for item in rules.correlations}
    others = [c for c in shipped.correlations if _key(location_of(c.source)) not in given]
    found = checks.correlation_problems(
        [*rules.rules, *shipped.rules], [*rules.correlations, *others]
    )
    return [problem for item, problem in found if _key(location_of(item.source)) in given]


def _key(location: Location) -> tuple[str, int]:
    return str(Path(location.source).resolve()), location.line


def _is_shipped(rule: Rule) -> bool:
    return Path(rule.source.source).resolve().is_relative_to(DEFAULT_RULES.resolve())
