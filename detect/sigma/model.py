"""What the engine gets from the Sigma side: loaded, compiled rules and the errors of the rest."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaRuleLocation
from sigma.rule import SigmaRule

from detect.core.errors import DetectError, Location
from detect.sigma.condition import Node, Predicate, View, predicate


@dataclass(frozen=True, slots=True)
class LogSource:
    product: str | None = None
    category: str | None = None
    service: str | None = None


@dataclass(frozen=True, eq=True)
class RuleError(DetectError):
    """A rule (or rule file) that was reported and skipped; compares by value."""

    reason: str
    location: Location = Location()  # noqa: RUF009 - frozen, shared safely
    rule: str = ""  # the rule's title (or id) when it is known

    def __str__(self) -> str:
        where = f"{self.location}: {self.rule}" if self.rule else str(self.location)
        return f"{where}: {self.reason}"


class Origin:
    """pySigma's rule of a `Rule`: held, or made on first use by `make` (a rule read back from
    the cache of compiled rules parses its file again only when something asks for it)."""

    __slots__ = ("_make", "_rule")

    def __init__(self, rule: SigmaRule | None, make: Callable[[], SigmaRule] | None = None):
        self._rule = rule
        self._make = make

    def rule(self) -> SigmaRule:
        if self._rule is None:
            assert self._make is not None
            self._rule = self._make()
            self._make = None
        return self._rule


class Condition:
    """A rule's compiled condition tree: held, or built by `build` on first use (a rule from
    the cache of compiled rules builds it from its recipe only if it is ever tested, or its
    index clauses were not stored with it: of 5,000 rules, most never are)."""

    __slots__ = ("_build", "_plan")

    def __init__(self, plan: Node | None, build: Callable[[], Node] | None = None) -> None:
        self._plan = plan
        self._build = build

    @property
    def built(self) -> bool:
        return self._plan is not None

    def plan(self) -> Node:
        if self._plan is None:
            assert self._build is not None
            self._plan = self._build()
            self._build = None
        return self._plan


class Deferred:
    """The `match` of a rule whose condition is not built yet: its first call builds it and
    gives the rule its compiled predicate, which later calls reach directly."""

    __slots__ = ("rule",)

    def __init__(self, rule: Rule) -> None:
        self.rule = rule

    def __call__(self, view: View) -> bool:
        rule = self.rule
        match = rule.match = predicate(rule.plan)
        return match(view)


def unbuilt(view: View) -> bool:
    """The `match` to give a rule whose condition is built on first use: the rule replaces it
    with its `Deferred` (never called)."""
    raise AssertionError("a rule's unbuilt match is replaced as the rule is made")


@dataclass(eq=False, slots=True)
class Rule:
    """A loaded Sigma rule with its compiled matcher.

    `match(view)` is the compiled condition; `plan` is the compiled condition tree it was built
    from (the rule index reads it; `condition` holds it, built on first use for a rule from the
    cache, whose `match` is then `Deferred` until its first call); `fields` the field of each
    detection item, `attributes` the rule's keys that Sigma does not define (`chain:`,
    `process_label:`...), both as the rule's checks and the engine read them; `sigma` is
    pySigma's rule, for correlations, validation, audit rule generation (made on first use for
    a rule from the cache); `hints`, what the engine's indexes need of the plan, as stored
    with a rule from the cache (JSON data the matching side wrote and reads; None: none).
    """

    id: str
    name: str | None
    title: str
    level: str | None
    status: str | None
    description: str
    references: tuple[str, ...]
    tags: tuple[str, ...]
    falsepositives: tuple[str, ...]
    logsource: LogSource
    source: Location
    fields: tuple[str, ...]
    attributes: dict[str, Any]
    origin: Origin
    condition: Condition
    match: Predicate
    hints: Any = None

    def __post_init__(self) -> None:
        match = self.match
        if match is unbuilt or (type(match) is Deferred and match.rule is not self):  # a copy
            self.match = predicate(self.plan) if self.condition.built else Deferred(self)

    @property
    def plan(self) -> Node:
        return self.condition.plan()

    @property
    def sigma(self) -> SigmaRule:
        return self.origin.rule()

    @classmethod
    def from_sigma(
        cls, sigma: SigmaRule, plan: Node, match: Predicate, fields: tuple[str, ...]
    ) -> Rule:
        return cls(
            id=str(sigma.id) if sigma.id is not None else "",
            name=sigma.name,
            title=sigma.title,
            level=str(sigma.level) if sigma.level is not None else None,
            status=str(sigma.status) if sigma.status is not None else None,
            description=sigma.description or "",
            references=tuple(sigma.references),
            tags=tuple(str(tag) for tag in sigma.tags),
            falsepositives=tuple(sigma.falsepositives),
            logsource=LogSource(
                sigma.logsource.product, sigma.logsource.category, sigma.logsource.service
            ),
            source=location_of(sigma.source),
            fields=fields,
            attributes=sigma.custom_attributes,
            origin=Origin(sigma),
            condition=Condition(plan),
            match=match,
        )


@dataclass
class RuleSet:
    """The result of loading: compiled rules, correlation rules as pySigma parsed them (not
    yet resolved against the rules), one error per rule or file that was skipped, and the
    warnings of what was loaded once although given twice (a rule id in two files)."""

    rules: list[Rule] = field(default_factory=list)
    correlations: list[SigmaCorrelationRule] = field(default_factory=list)
    errors: list[RuleError] = field(default_factory=list)
    warnings: list[RuleError] = field(default_factory=list)

    @property
    def skipped(self) -> int:
        """Rules, files and correlations left out: errors, and duplicates of a loaded id."""
        return len(self.errors) + len(self.warnings)


def location_of(source: SigmaRuleLocation | None) -> Location:
    if source is None:
        return Location()
    return Location(str(source.path), source.line or 0)
