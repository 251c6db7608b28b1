"""An incident's score and level from its alerts (docs/triage.md has worked examples).

score = Σ over its rules: WEIGHT[level] × (1 + log2(count) / 2)      repeats count less
      + 1 per distinct technique  + 2 per distinct tactic
      + 3 × (steps of the longest kill-chain progression − 1)         tactics in matrix
                                                                     order, by first seen
      + 5 per distinct correlation rule  + 3 per distinct process-tree chain rule

level = the highest level of its alerts; with at least two distinct rules, raised one step
        when the score reaches RAISE_AT or three distinct rules span at least two tactics,
        and to at least `high` when the score reaches HIGH_AT; never past critical. One rule
        alone, however often it fired, keeps its own level. Informational hits are tags:
        they weigh nothing.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from detect.triage.levels import INFORMATIONAL, raised, rank

WEIGHT: Final = {"informational": 0.0, "low": 1.0, "medium": 4.0, "high": 9.0, "critical": 16.0}
TECHNIQUE_POINTS: Final = 1.0
TACTIC_POINTS: Final = 2.0
PROGRESSION_POINTS: Final = 3.0
CORRELATION_POINTS: Final = 5.0
CHAIN_POINTS: Final = 3.0
RAISE_AT: Final = 25.0
HIGH_AT: Final = 40.0


@dataclass(frozen=True, slots=True)
class RuleHits:
    """One rule's alerts in an incident, as scoring sees them."""

    level: str
    count: int
    kind: str  # rule, chain, correlation
    techniques: tuple[str, ...]
    tactics: tuple[str, ...]
    first_ms: int


class Hits(Protocol):
    """What scoring reads of one rule's alerts (`RuleHits`, or an incident's entry)."""

    @property
    def level(self) -> str: ...
    @property
    def count(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def techniques(self) -> tuple[str, ...]: ...
    @property
    def tactics(self) -> tuple[str, ...]: ...
    @property
    def first_ms(self) -> int: ...


def rule_points(hits: Hits) -> float:
    return WEIGHT.get(hits.level, WEIGHT["medium"]) * (1 + math.log2(max(hits.count, 1)) / 2)


def progression(tactics_in_order: Sequence[int]) -> int:
    """The length of the longest strictly increasing run (not necessarily contiguous) of
    tactic positions: how far along the kill chain the incident went, in the order seen."""
    best: list[int] = []  # best[i]: the smallest last position of an increasing run of i + 1
    for position in tactics_in_order:
        low, high = 0, len(best)
        while low < high:
            middle = (low + high) // 2
            if best[middle] < position:
                low = middle + 1
            else:
                high = middle
        if low == len(best):
            best.append(position)
        else:
            best[low] = position
    return len(best)


def score(rules: Iterable[Hits], tactic_order: dict[str, int]) -> float:
    return RulesShape([hits for hits in rules], tactic_order).score()


def level_of(rules: Sequence[Hits], points: float) -> str:
    return RulesShape(rules, {}).level(points)


class RulesShape:
    """What an incident's score and level take from its set of rules alone, not from their
    counts: their technique and tactic points, progression, correlation and chain rules, top
    level. An incident's rules only ever join (each with its level, kind, tags and first time
    fixed), so `IncidentScore` makes this again only when one joins, and each alert costs the
    repeat points alone. The terms are added in the order `score` always added them: the same
    float, the same rounding."""

    __slots__ = ("counted", "size", "tactics", "terms", "top")

    def __init__(self, rules: Sequence[Hits], tactic_order: dict[str, int]) -> None:
        self.size = len(rules)
        counted = [hits for hits in rules if hits.level != INFORMATIONAL]
        self.counted = counted
        techniques = {t for hits in counted for t in hits.techniques}
        tactics = {t for hits in counted for t in hits.tactics}
        self.tactics = len(tactics)
        seen: list[int] = []
        for hits in sorted(counted, key=lambda h: h.first_ms):
            seen.extend(tactic_order[t] for t in hits.tactics if t in tactic_order)
        self.terms = (
            TECHNIQUE_POINTS * len(techniques) + TACTIC_POINTS * len(tactics),
            PROGRESSION_POINTS * max(progression(seen) - 1, 0),
            CORRELATION_POINTS * sum(hits.kind == "correlation" for hits in counted),
            CHAIN_POINTS * sum(hits.kind == "chain" for hits in counted),
        )
        self.top = max((hits.level for hits in counted), key=rank) if counted else None

    def score(self) -> float:
        """The score with the rules' counts as they are now."""
        total = sum(rule_points(hits) for hits in self.counted)
        for term in self.terms:
            total += term
        return round(total, 1)

    def level(self, points: float) -> str:
        level = self.top
        if level is None:
            return INFORMATIONAL
        if len(self.counted) < 2:
            return level
        if points >= RAISE_AT or (len(self.counted) >= 3 and self.tactics >= 2):
            level = raised(level, 1)
        if points >= HIGH_AT and rank(level) < rank("high"):
            level = "high"
        return level


class IncidentScore:
    """An incident's score and level as its alerts come (`update` after each): the rules'
    shape made again only when a rule joined; the same figures as `score` and `level_of`."""

    __slots__ = ("_shape",)

    def __init__(self) -> None:
        self._shape: RulesShape | None = None

    def __reduce__(self) -> tuple[type[IncidentScore], tuple[()]]:
        """Pickled empty: the shape is a cache of the incident's rules, made again at the next
        `update` (a compiled `RulesShape` does not unpickle: its type is made by calling it)."""
        return IncidentScore, ()

    def update(self, rules: Sequence[Hits], tactic_order: dict[str, int]) -> tuple[float, str]:
        shape = self._shape
        if shape is None or shape.size != len(rules):
            shape = self._shape = RulesShape(rules, tactic_order)
        points = shape.score()
        return points, shape.level(points)
