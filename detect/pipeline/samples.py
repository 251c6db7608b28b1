"""Detection samples: real audit lines beside a rule, annotated with what must and must not match.

A rule file `<slug>.yml` has its samples in `<slug>.log`: raw audit lines, whole events, each
event annotated on the line right before its first record with `# match: <rule-id>` (the rule
must alert on it) or `# ok: <rule-id>` (it must not); an event may carry several annotations.
Other lines starting with `#` are comments; blank lines are ignored.

`check_rule_file` runs the file's rules over its samples and reports missed alerts (a `match`
event without alert), unexpected alerts (an alert on any event not annotated `match` for that
rule), and problems that make the sample itself wrong: a missing sample file, an annotation not
followed by an event's first record or naming a rule not in the file, an event without
annotation, a rule without both a `match` and an `ok` event. `detect test` and pytest
(tests/detections) call the same function.

Correlation rules are tested the same way: `# match: <correlation-id>` goes on the event that
completes the window (the last contributing event: the one at which the alert is raised, or
the last one in the window when it is decided at its close), `# ok: <correlation-id>` on events
that complete no window. Base rules that only feed a correlation (`generate: false`) give no
alert of their own, so they need no annotations. A correlation may reference shipped
detections by id or name: references the file does not define are resolved against the
shipped detections, which then feed the correlation only.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from detect.auditd.event import AuditEvent
from detect.auditd.record import EventKey, parse_line
from detect.core.errors import DetectError
from detect.matching.checks import strict
from detect.matching.engine import Engine
from detect.pipeline.factory import build_correlations, build_engine, build_reassembler
from detect.sigma.correlation.hit import Result
from detect.sigma.correlation.resolve import resolve, rule_key
from detect.sigma.load import DEFAULT_RULES, find_rule_files, load_detections
from detect.sigma.model import Rule, RuleError, RuleSet

ANNOTATION_RE = re.compile(r"#\s*(match|ok):\s*(\S+)\s*$")
MATCH, OK = "match", "ok"


@dataclass(frozen=True)
class Annotation:
    kind: str  # match | ok
    rule_id: str
    line: int


@dataclass
class Sample:
    """The lines of a sample file and the annotations of each event (by its key)."""

    path: Path
    lines: list[tuple[str, str, int]] = field(default_factory=list)
    annotations: dict[EventKey, list[Annotation]] = field(default_factory=dict)
    first_line: dict[EventKey, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


@dataclass
class SampleResult:
    rule_file: Path
    sample: Path
    rules: int = 0
    matched: int = 0  # `match` annotations that alerted
    cleared: int = 0  # `ok` annotations that did not
    missed: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    levels: tuple[str, ...] = ()  # the Sigma levels of the file's rules

    @property
    def passed(self) -> bool:
        return not (self.missed or self.unexpected or self.problems)

    def report(self) -> Iterator[str]:
        state = "PASS" if self.passed else "FAIL"
        yield f"{state} {self.rule_file} ({self.matched} match, {self.cleared} ok)"
        for label, items in (("problem", self.problems), ("missed", self.missed)):
            yield from (f"  {label}: {item}" for item in items)
        yield from (f"  unexpected: {item}" for item in self.unexpected)


def sample_path(rule_file: Path) -> Path:
    return rule_file.with_suffix(".log")


def read_sample(path: Path) -> Sample:
    sample = Sample(path)
    pending: list[Annotation] = []
    text = path.read_bytes().decode("utf-8", "surrogateescape")
    for number, line in enumerate(text.split("\n"), start=1):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            found = ANNOTATION_RE.fullmatch(stripped)
            if found:
                pending.append(Annotation(found.group(1), found.group(2), number))
            continue
        sample.lines.append((line + "\n", str(path), number))
        _attach(sample, line, number, pending)
        pending = []
    if pending:
        sample.problems.append(f"{path}:{pending[0].line}: annotation not followed by an event")
    return sample


def match_events(rule: Rule) -> Iterator[AuditEvent]:
    """The events of the rule's sample file annotated `# match: <its id>` (none without one)."""
    path = sample_path(Path(rule.source.source))
    if not path.exists():
        return
    sample = read_sample(path)
    wanted = {
        key
        for key, notes in sample.annotations.items()
        if any(n.kind == MATCH and n.rule_id == rule.id for n in notes)
    }
    found: list[AuditEvent] = []
    machine = build_reassembler(found.append)
    machine.feed(sample.lines)
    machine.flush()
    yield from (e for e in found if e.key in wanted)


def _attach(sample: Sample, line: str, number: int, pending: list[Annotation]) -> None:
    try:
        record = parse_line(line, str(sample.path), number)
    except DetectError as error:
        sample.problems.append(f"{sample.path}:{number}: not an audit record: {error}")
        return
    key: EventKey = (record.node, record.stamp, record.serial)  # AuditEvent.key of its event
    if key not in sample.first_line:
        sample.first_line[key] = number
        sample.annotations[key] = list(pending)
    elif pending:
        first = sample.first_line[key]
        sample.problems.append(
            f"{sample.path}:{pending[0].line}: annotation before a later record of the event "
            f"that starts at line {first}"
        )


def check_rule_file(rule_file: Path) -> SampleResult:
    sample_file = sample_path(rule_file)
    result = SampleResult(rule_file, sample_file)
    loaded = load_detections([rule_file], default=False)
    # the checks loading applies (detect.matching.checks), with what its correlations reference
    running = strict(with_referenced(loaded))
    own = {id(rule) for rule in loaded.rules}
    rules = [rule for rule in running.rules if id(rule) in own]
    result.rules = len(rules)
    result.levels = tuple(rule.level or "medium" for rule in rules)
    result.problems.extend(str(error) for error in running.errors)
    if not sample_file.exists():
        result.problems.append(f"{sample_file}: no sample file beside the rule")
        return result
    sample = read_sample(sample_file)
    result.problems.extend(sample.problems)
    stage = build_correlations(running, lambda _: None)
    result.problems.extend(str(error) for error in stage.resolved.errors)
    silent = stage.resolved.silent
    ids = {rule.id for rule in rules if rule_key(rule.id, rule.name) not in silent}
    ids |= {c.key for c in stage.resolved.correlations if c.key not in silent}
    alerts = {a for a in _alerts(build_engine(running), running, sample) if a[0] in ids}
    _compare(result, sample, alerts, ids)
    return result


def with_referenced(rules: RuleSet) -> RuleSet:
    """`rules`, plus the shipped detections when its correlations reference rules it lacks."""
    if not rules.correlations or not resolve(rules.rules, rules.correlations).errors:
        return rules
    shipped = load_detections([], default=True)
    own = {rule.id for rule in rules.rules}
    extra = [rule for rule in shipped.rules if rule.id not in own]
    return replace(rules, rules=[*rules.rules, *extra])


def _alerts(engine: Engine, rules: RuleSet, sample: Sample) -> set[tuple[str, EventKey]]:
    """(rule id, event key) of every alert on the sample's events: rules on the event that
    matched, correlations on the event that completed the window."""
    found: set[tuple[str, EventKey]] = set()

    def on_result(result: Result) -> None:
        last = list(result.base_hits())[-1].payload
        found.add((result.correlation.key, last.event.key))  # type: ignore[attr-defined]

    stage = build_correlations(rules, on_result)

    def on_event(event: AuditEvent) -> None:
        for match in stage.alerting(engine.evaluate(event), event.node, event.time_ms):
            found.add((match.rule.id, event.key))

    machine = build_reassembler(on_event, correlations=stage)
    machine.feed(sample.lines)
    machine.flush()
    stage.flush()
    return found


def _compare(
    result: SampleResult, sample: Sample, alerts: set[tuple[str, EventKey]], ids: set[str]
) -> None:
    kinds: dict[str, set[str]] = {rule_id: set() for rule_id in ids}
    expected: set[tuple[str, EventKey]] = set()
    for key, notes in sample.annotations.items():
        if not notes:
            result.problems.append(
                f"{sample.path}:{sample.first_line[key]}: event without annotation"
            )
        for note in notes:
            if note.rule_id not in ids:
                result.problems.append(f"{sample.path}:{note.line}: no rule {note.rule_id} here")
                continue
            kinds[note.rule_id].add(note.kind)
            if note.kind == MATCH:
                expected.add((note.rule_id, key))
    for rule_id, key in sorted(expected, key=str):
        if (rule_id, key) in alerts:
            result.matched += 1
        else:
            result.missed.append(f"{rule_id} at {sample.path}:{sample.first_line[key]}")
    for rule_id, key in sorted(alerts - expected, key=str):
        result.unexpected.append(f"{rule_id} at {sample.path}:{sample.first_line.get(key, '?')}")
    result.cleared = sum(
        1
        for key, notes in sample.annotations.items()
        for note in notes
        if note.kind == OK and (note.rule_id, key) not in alerts
    )
    for rule_id, seen in sorted(kinds.items()):
        result.problems.extend(
            f"{sample.path}: rule {rule_id} has no `# {kind}:` event"
            for kind in (MATCH, OK)
            if kind not in seen
        )


def rule_files(paths: Sequence[str | Path] = ()) -> tuple[list[Path], list[RuleError]]:
    """Rule files under `paths` (none: the shipped detections), and an error for each path
    that does not exist."""
    errors: list[RuleError] = []
    return find_rule_files(paths or (DEFAULT_RULES,), errors), errors
