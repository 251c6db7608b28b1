"""A correlation's condition: `gt`/`gte`/`lt`/`lte`/`eq`/`neq` against a number.

pySigma parses exactly one operator per condition; a range is two chained correlations.
Conditions that can only become true as more hits arrive (`gt`, `gte` on a count that never
decreases) are *rising*: a window fires as soon as they hold. The others are decided when the
window closes.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass

from sigma.correlations import SigmaCorrelationCondition

OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
    "eq": operator.eq,
    "neq": operator.ne,
}
RISING = frozenset(("gt", "gte"))


@dataclass(frozen=True)
class Condition:
    op: str
    threshold: float

    @classmethod
    def from_sigma(cls, condition: SigmaCorrelationCondition) -> Condition:
        return cls(condition.op.name.lower(), condition.count)

    def holds(self, value: float | None) -> bool:
        return value is not None and OPERATORS[self.op](value, self.threshold)

    @property
    def rising(self) -> bool:
        return self.op in RISING

    def to_dict(self) -> dict[str, float]:
        return {self.op: self.threshold}
