"""Resolve correlation rules against the loaded rules: references by id or name, aliases,
correlations over correlations (in dependency order), and `generate`.

A reference that names no loaded rule, a cycle, or a feature the engine does not run is
reported as a `RuleError` with the correlation's file, and that correlation (and any built on
it) is skipped; the others run. As in pySigma, a rule referenced by a correlation whose
`generate` is false (the default) gives no alert of its own: it only feeds the correlation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sigma.correlations import SigmaCorrelationCondition, SigmaCorrelationRule

from detect.sigma.correlation.condition import Condition
from detect.sigma.correlation.measure import MEASURES, VALUED, Spec
from detect.sigma.correlation.model import Correlation
from detect.sigma.model import Rule, RuleError, location_of

MS = 1000


@dataclass
class Resolved:
    """Correlations in dependency order (inputs before the correlations over them), the keys
    of rules and correlations that give no alert of their own, and the errors."""

    correlations: list[Correlation] = field(default_factory=list)
    silent: set[str] = field(default_factory=set)
    errors: list[RuleError] = field(default_factory=list)


def rule_key(rule_id: str | None, name: str | None) -> str:
    return rule_id or name or ""


def resolve(rules: Sequence[Rule], sigma: Sequence[SigmaCorrelationRule]) -> Resolved:
    resolver = _Resolver(rules, sigma)
    for item in sigma:
        resolver.visit(item, ())
    return resolver.result


class _Resolver:
    def __init__(self, rules: Sequence[Rule], sigma: Sequence[SigmaCorrelationRule]) -> None:
        self.names: dict[str, str] = {}  # id or name -> key
        for rule in rules:
            self._name(rule.id, rule.name)
        self.result = Resolved()
        self.done: dict[str, Correlation | None] = {}
        self.pending: dict[str, SigmaCorrelationRule] = {}
        for item in sigma:
            key = correlation_key(item)
            if key in self.pending or key in self.names.values():
                self._fail(item, f"another rule has the id or name {key!r}", report_only=True)
                continue
            self._name(_id(item), item.name)
            self.pending[key] = item

    def _name(self, rule_id: str, name: str | None) -> None:
        key = rule_key(rule_id, name)
        for label in (rule_id, name):
            if label:
                self.names.setdefault(label, key)

    def visit(self, item: SigmaCorrelationRule, path: tuple[str, ...]) -> Correlation | None:
        key = correlation_key(item)
        if self.pending.get(key) is not item:
            return None  # a duplicate, reported
        if key in self.done:
            return self.done[key]
        if key in path:
            self._fail(item, f"correlation cycle: {' -> '.join([*path, key])}")
            return None
        try:
            inputs = self._inputs(item, (*path, key))
            built = build(item, key, inputs, self._aliases(item))
        except _Unresolved as error:
            self._fail(item, str(error))
            return None
        self.done[key] = built
        self.result.correlations.append(built)
        if not item.generate:
            self.result.silent.update(inputs)
        return built

    def _inputs(self, item: SigmaCorrelationRule, path: tuple[str, ...]) -> tuple[str, ...]:
        keys = []
        for reference in item.rules or ():
            key = self.names.get(reference.reference)
            if key is None:
                raise _Unresolved(f"references {reference.reference!r}, which is not loaded")
            inner = self.pending.get(key)
            if inner is not None and self.visit(inner, path) is None:
                raise _Unresolved(f"references correlation {reference.reference!r}, skipped")
            keys.append(key)
        if not keys:
            raise _Unresolved("references no rule")
        return tuple(keys)

    def _aliases(self, item: SigmaCorrelationRule) -> dict[str, dict[str, str]]:
        out: dict[str, dict[str, str]] = {}
        for alias in item.aliases:
            for reference, name in alias.mapping.items():
                key = self.names.get(reference.reference)
                if key is None:
                    raise _Unresolved(
                        f"alias {alias.alias!r} names {reference.reference!r}, which is not loaded"
                    )
                out.setdefault(alias.alias, {})[key] = name
        return out

    def _fail(self, item: SigmaCorrelationRule, reason: str, report_only: bool = False) -> None:
        key = correlation_key(item)
        if not report_only:
            if key in self.done:  # already reported (a cycle is found from inside)
                return
            self.done[key] = None
        where = location_of(item.source)
        self.result.errors.append(RuleError(reason, where, item.title or key))


class _Unresolved(Exception):
    pass


def correlation_key(item: SigmaCorrelationRule) -> str:
    """Its id, else its name, else where it is (file:line) for one that has neither."""
    return rule_key(_id(item), item.name) or str(location_of(item.source))


def _id(item: SigmaCorrelationRule) -> str:
    return str(item.id) if item.id is not None else ""


def build(
    item: SigmaCorrelationRule,
    key: str,
    inputs: tuple[str, ...],
    aliases: dict[str, dict[str, str]],
) -> Correlation:
    kind = str(item.type.name).lower()
    condition = item.condition
    if kind not in MEASURES or not isinstance(condition, SigmaCorrelationCondition):
        raise _Unresolved(f"correlation type {kind} with this condition is not supported")
    fields = _fields(condition.fieldref)
    if kind in VALUED and not fields:
        raise _Unresolved(f"{kind} needs `field` in its condition")
    if kind == "value_percentile" and condition.percentile is None:
        raise _Unresolved("value_percentile needs `percentile` in its condition (0-100)")
    percentile = float(condition.percentile) if condition.percentile is not None else 50.0
    if not 0 <= percentile <= 100:
        raise _Unresolved(f"percentile {condition.percentile} is not within 0-100")
    return Correlation(
        key=key,
        id=_id(item),
        name=item.name,
        title=item.title or key,
        level=str(item.level) if item.level is not None else None,
        description=item.description or "",
        references=tuple(item.references),
        tags=tuple(str(tag) for tag in item.tags),
        source=location_of(item.source),
        type=kind,
        inputs=inputs,
        timespan_ms=item.timespan.seconds * MS,
        group_by=tuple(item.group_by or ()),
        aliases=aliases,
        condition=Condition.from_sigma(condition),
        fields=fields,
        spec=Spec(inputs, percentile),
        generate=item.generate,
        sigma=item,
    )


def _fields(fieldref: str | list[str] | None) -> tuple[str, ...]:
    if fieldref is None:
        return ()
    return (fieldref,) if isinstance(fieldref, str) else tuple(fieldref)
