"""A correlation rule resolved against the loaded rules, ready to run.

Built from pySigma's `SigmaCorrelationRule` by `resolve.py`: the rules it references are keys
(a rule's id, or its name when it has none), the timespan is in milliseconds and the condition
is a `Condition`. `field_for(rule, name)` applies the correlation's aliases.
"""

from __future__ import annotations

from dataclasses import dataclass

from sigma.correlations import SigmaCorrelationRule

from detect.core.errors import Location
from detect.sigma.correlation.condition import Condition
from detect.sigma.correlation.measure import COUNTING, Spec


@dataclass(eq=False)
class Correlation:
    key: str
    id: str
    name: str | None
    title: str
    level: str | None
    description: str
    references: tuple[str, ...]
    tags: tuple[str, ...]
    source: Location
    type: str
    inputs: tuple[str, ...]  # keys of the referenced rules, in the rule's order
    timespan_ms: int
    group_by: tuple[str, ...]
    aliases: dict[str, dict[str, str]]  # alias -> input key -> field of that input's view
    condition: Condition
    fields: tuple[str, ...]  # the measured field(s) of value_* types
    spec: Spec
    generate: bool
    sigma: SigmaCorrelationRule

    @property
    def rising(self) -> bool:
        """Fires as soon as its condition holds (else when the window closes)."""
        return self.condition.rising and self.type in COUNTING

    def field_for(self, rule: str, name: str) -> str:
        """The field of `rule`'s view that group-by name (or alias) `name` reads."""
        return self.aliases.get(name, {}).get(rule, name)

    def __repr__(self) -> str:
        return f"Correlation({self.type} {self.key} {self.title!r})"
